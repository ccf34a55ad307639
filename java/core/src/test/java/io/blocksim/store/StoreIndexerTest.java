package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.StoreIncompleteException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code blocksim index}: codes for a store made before them, atomic, idempotent, checked by verify. */
class StoreIndexerTest {
    @TempDir
    Path tmp;

    /**
     * Turns {@code dir} into a store as a blocksim without codes wrote it: the manifest's shards
     * lose their "codes" field and the code files are deleted.
     */
    static void dropCodes(Path dir) {
        try {
            ObjectMapper json = new ObjectMapper();
            JsonNode tree = json.readTree(dir.resolve(Manifest.FILE).toFile());
            for (JsonNode e : tree.get("entries")) {
                for (JsonNode s : e.get("shards")) {
                    ((ObjectNode) s).remove("codes");
                }
            }
            Files.write(dir.resolve(Manifest.FILE), json.writerWithDefaultPrettyPrinter().writeValueAsBytes(tree));
            for (Path f : codeFiles(dir)) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> codeFiles(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> p.getFileName().toString().startsWith("code")).sorted().toList();
        }
    }

    @Test
    void indexAddsTheCodesTheWriterWouldHaveWrittenAndVerifyChecksThem() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        List<byte[]> written = new ArrayList<>();
        for (Path f : codeFiles(dir)) {
            written.add(Files.readAllBytes(f));
        }
        assertEquals(4 * 3 * 2, written.size());
        Manifest withCodes = Manifest.read(dir);
        dropCodes(dir);
        Manifest old = Manifest.read(dir);
        assertFalse(old.hasCodes());
        assertNull(old.entries().get(0).shards().get(0).codes());
        assertEquals(27, StoreVerifier.verify(dir).filesChecked());

        List<String> seen = new ArrayList<>();
        StoreIndexer.Result r = StoreIndexer.index(dir, (key, shards, bytes) -> seen.add(key + " " + shards));
        assertEquals(12, r.shardsIndexed());
        assertEquals(0, r.shardsAlready());
        assertEquals(4, seen.size());
        assertTrue(r.codeBytes() > 0 && r.vectorBytes() > 0);
        Manifest now = Manifest.read(dir);
        assertTrue(now.hasCodes());
        assertEquals(withCodes.entries(), now.entries());  // same names and checksums as the writer's
        List<Path> files = codeFiles(dir);
        for (int i = 0; i < files.size(); i++) {
            assertArrayEquals(written.get(i), Files.readAllBytes(files.get(i)), files.get(i).toString());
        }
        StoreVerifier.Result v = StoreVerifier.verify(dir);
        assertTrue(v.ok(), v.problems().toString());
        assertEquals(27 + 24, v.filesChecked());

        // idempotent: nothing left to do, nothing rewritten
        long modified = Files.getLastModifiedTime(dir.resolve(Manifest.FILE)).toMillis();
        StoreIndexer.Result again = StoreIndexer.index(dir, (key, shards, bytes) -> seen.add("again"));
        assertEquals(0, again.shardsIndexed());
        assertEquals(12, again.shardsAlready());
        assertEquals(4, seen.size());
        assertEquals(modified, Files.getLastModifiedTime(dir.resolve(Manifest.FILE)).toMillis());
    }

    @Test
    void verifyNamesADamagedOrMissingCodeFile() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path codes = dir.resolve("block_output-b0-t3/codes-00001.npy");
        try (RandomAccessFile f = new RandomAccessFile(codes.toFile(), "rw")) {
            f.seek(f.length() - 1);
            int b = f.read();
            f.seek(f.length() - 1);
            f.write(b ^ 1);
        }
        Files.delete(dir.resolve("embedding-b0-t0/codescales-00002.npy"));
        StoreVerifier.Result r = StoreVerifier.verify(dir);
        assertEquals(2, r.problems().size(), r.problems().toString());
        assertEquals("block_output-b0-t3/codes-00001.npy", r.problems().get(r.problems().get(0).file().startsWith("block")
                ? 0 : 1).file());
        assertTrue(r.problems().toString().contains("checksum mismatch"), r.problems().toString());
        assertTrue(r.problems().toString().contains("embedding-b0-t0/codescales-00002.npy: is missing"),
                r.problems().toString());
    }

    @Test
    void aPartlyIndexedStoreIsFinishedAndAKilledRunsLeftoversAreOverwritten() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Manifest full = Manifest.read(dir);
        dropCodes(dir);
        // a killed run: one entry committed, the code files of another written but not named
        StoreIndexer.index(dir, (key, shards, bytes) -> { });
        Manifest m = Manifest.read(dir);
        List<Manifest.Entry> entries = new ArrayList<>(m.entries());
        Manifest.Entry e1 = entries.get(1);
        List<Manifest.Shard> bare = e1.shards().stream().map(s -> new Manifest.Shard(s.file(), s.rows(), s.crc32c(),
                s.norms(), s.normsCrc32c())).toList();
        entries.set(1, new Manifest.Entry(e1.site(), e1.block(), e1.position(), e1.dim(), e1.rows(), e1.prefixIndex(), bare));
        Path leftover = dir.resolve(e1.shards().get(0).codes().file());
        Files.write(leftover, new byte[] {1, 2, 3});
        new Manifest(m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(), m.stringLength(),
                m.stringCount(), m.shardStrings(), m.shardsTotal(), m.shardsDone(), m.strings(), m.labels(),
                m.prefixIndexes(), entries).write(dir);
        assertFalse(Manifest.read(dir).hasCodes());
        try (Store s = Store.open(dir)) {
            assertTrue(s.vectors(entries.get(0).key()).hasCodes());
            assertFalse(s.vectors(e1.key()).hasCodes());
        }

        StoreIndexer.Result r = StoreIndexer.index(dir, (key, shards, bytes) -> assertEquals(e1.key(), key));
        assertEquals(3, r.shardsIndexed());
        assertEquals(9, r.shardsAlready());
        assertEquals(full.entries(), Manifest.read(dir).entries());
        assertTrue(StoreVerifier.verify(dir).ok());
    }

    @Test
    void anIncompleteStoreIsRefused() {
        Path dir = Fixtures.incompleteModelStore(tmp.resolve("s"), 1);
        StoreIncompleteException e = assertThrows(StoreIncompleteException.class,
                () -> StoreIndexer.index(dir, (key, shards, bytes) -> { }));
        assertTrue(e.getMessage().contains("run the same extraction again"), e.getMessage());
    }

    @Test
    void anImportedStoreHasCodesAndIndexLeavesIt() throws IOException {
        Path npy = tmp.resolve("v.npy");
        float[] v = new float[50 * 6];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 0.7) * (i % 6 == 0 ? 100 : 1);
        }
        Npy.writeFloats(npy, v, 50, 6);
        Path labels = tmp.resolve("l.txt");
        Files.writeString(labels, String.join("\n", java.util.Collections.nCopies(50, "x")) + "\n");
        Path dir = tmp.resolve("imp");
        StoreImporter.importVectors(npy, labels, dir, "vec", 16);
        Manifest m = Manifest.read(dir);
        assertTrue(m.hasCodes());
        assertEquals(4, m.entries().get(0).shards().size());
        try (Store s = Store.open(dir)) {
            for (var sh : s.vectors(m.entries().get(0).key()).shards()) {
                RowCodesTest.checkShard(sh.vectors(), sh.codes().codes(), sh.codes().scales(), sh.rows(), 6);
            }
        }
        assertEquals(0, StoreIndexer.index(dir, (key, shards, bytes) -> { }).shardsIndexed());
        assertTrue(StoreVerifier.verify(dir).ok());
    }
}
