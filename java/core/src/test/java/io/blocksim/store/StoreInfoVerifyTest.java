package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What info and verify count: every file's bytes, exact lines for each kind of store, every file once. */
class StoreInfoVerifyTest {
    @TempDir
    Path tmp;

    private Path imported() throws IOException {
        Path v = tmp.resolve("v.npy");
        Npy.writeFloats(v, new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Path l = tmp.resolve("l.txt");
        Files.writeString(l, "x\ny\nz\n");
        Path dir = tmp.resolve("imported");
        StoreImporter.importVectors(v, l, dir, "rows", 2);
        return dir;
    }

    /** The sizes of the files a store is made of (all but the writer's lock), by name inside the store. */
    private static Map<String, Long> sizes(Path dir, boolean withManifest) throws IOException {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                String name = dir.relativize(p).toString();
                if (!name.equals(StoreWriter.LOCK_FILE) && (withManifest || !name.equals(Manifest.FILE))) {
                    out.put(name, Files.size(p));
                }
            }
        }
        return out;
    }

    private static long sum(Map<String, Long> sizes) {
        return sizes.values().stream().mapToLong(Long::longValue).sum();
    }

    @Test
    void infoCountsTheBytesOfEveryFileOfEitherKind() throws IOException {
        Path model = Fixtures.modelStore(tmp.resolve("s"));
        StoreInfo info = StoreInfo.of(model);
        assertEquals(sum(sizes(model, true)), info.bytes());
        long entryBytes = 0;
        for (Path p : Fixtures.files(model.resolve("embedding-b0-t0"))) {
            entryBytes += Files.size(p);
        }
        assertEquals(entryBytes, info.entries().get(3).bytes());

        Path imported = imported();
        assertEquals(sum(sizes(imported, true)), StoreInfo.of(imported).bytes());
    }

    @Test
    void infoLinesOfAModelStore() {
        Path dir = Fixtures.incompleteModelStore(tmp.resolve("s"), 1);
        List<String> lines = StoreInfo.of(dir).lines();
        assertEquals(List.of(
                "store     " + dir,
                "format    blocksim-store v1 (model extraction)",
                "model     sha256 " + "a".repeat(64),
                "          n_layer 2, n_embed 8, n_head 2, vocab 5 tokens",
                "dataset   sha256 " + "d".repeat(64),
                "strings   N = 11 of length L = 4",
                "shards    1 of 3 (4 strings each), INCOMPLETE: run the same extract command to resume"),
                lines.subList(0, 7));
        assertTrue(lines.get(8).startsWith("codes     every shard, "), lines.get(8));
        assertEquals("entries   4", lines.get(9));
    }

    @Test
    void infoLinesOfAnImportedStore() throws IOException {
        Path dir = imported();
        StoreInfo info = StoreInfo.of(dir);
        List<String> lines = info.lines();
        assertEquals(List.of(
                "store     " + dir,
                "format    blocksim-store v1 (imported vectors)",
                "rows      3 (labels from labels.txt)",
                "shards    2 of 2 (2 rows each), complete",
                "size      " + FileOps.bytes(info.bytes()),
                String.format(java.util.Locale.ROOT, "codes     every shard, %s (%.1f%% of the vectors)",
                        FileOps.bytes(info.codeBytes()), 100.0 * info.codeBytes() / info.vectorBytes()),
                "entries   1"),
                lines.subList(0, 7));
        assertEquals(2, info.shardsWithCodes());
        assertEquals(8, lines.size());
        assertTrue(lines.get(7).startsWith("  rows  block  0  position  0  rows           3  dim     2  shards    2"), lines.get(7));
    }

    /** Verify reads every file the manifest names once, reports each to progress with its size, and counts all their bytes. */
    @Test
    void verifyCountsEveryFileAndByteOfAnImportedStore() throws IOException {
        Path dir = imported();
        Map<String, Long> seen = new LinkedHashMap<>();
        StoreVerifier.Result r = StoreVerifier.verify(dir, seen::put);
        assertTrue(r.ok(), r.problems().toString());
        Map<String, Long> files = sizes(dir, false);
        assertEquals(files, new java.util.TreeMap<>(seen));
        assertEquals(1 + 2 * 4, r.filesChecked());  // labels; 2 shards x (vectors, norms, codes, code scales)
        assertEquals(sum(files), r.bytesChecked());
        assertEquals(dir, r.dir());
    }

    @Test
    void verifyCountsEveryByteOfAModelStore() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        StoreVerifier.Result r = StoreVerifier.verify(dir);
        assertTrue(r.ok(), r.problems().toString());
        assertEquals(sum(sizes(dir, false)), r.bytesChecked());
    }

    /** A file that shrinks between its size being read and its bytes being read is named with both sizes. */
    @Test
    void aFileThatShrinksWhileVerifiedIsNamedWithBothSizes() throws IOException {
        Path dir = imported();
        Path labels = dir.resolve(Manifest.LABELS_FILE);
        long size = Files.size(labels);
        List<String> seen = new ArrayList<>();
        StoreVerifier.Result r = StoreVerifier.verify(dir, (name, bytes) -> {
            seen.add(name);
            if (name.equals(Manifest.LABELS_FILE)) {
                try (RandomAccessFile f = new RandomAccessFile(labels.toFile(), "rw")) {
                    f.setLength(2);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        assertEquals(1, r.problems().size(), r.problems().toString());
        assertEquals(new StoreVerifier.Problem(Manifest.LABELS_FILE, "shrank to 2 bytes while it was verified (" + size
                + " before): something is writing to the store; verify it again when it is done"), r.problems().get(0));
        assertEquals(9, seen.size());
    }
}
