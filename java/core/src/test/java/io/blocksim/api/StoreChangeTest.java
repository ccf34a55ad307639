package io.blocksim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blocksim.Metric;
import io.blocksim.StoreChangedException;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Store;
import io.blocksim.store.TestStores;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store whose files change after it was opened (issue 14, kind 3): truncated, rewritten in place
 * or replaced, before a search or while one runs. Every case ends in a {@link StoreChangedException}
 * that names the file, never a value from the changed file and never an {@link InternalError}; the
 * JVM survives a real fault (SIGBUS) of a search reading pages past a truncated file's new end.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StoreChangeTest {
    static final int DIM = 64;
    static final EntryKey KEY = new EntryKey("block_output", 0, 7);
    static final String SHARD = "block_output-b0-t7/vectors-00000.npy";

    @TempDir
    Path tmp;

    private Path store(String name, int rows, int shardRows) {
        return TestStores.build(tmp.resolve(name), 8, rows, shardRows, List.of(new EntrySpec(KEY.site(), KEY.block(),
                KEY.position(), DIM)), 3);
    }

    private static SearchRequest request(int queries) {
        Random rnd = new Random(5);
        float[][] q = new float[queries][DIM];
        for (float[] row : q) {
            for (int c = 0; c < DIM; c++) {
                row[c] = rnd.nextFloat() * 2 - 1;
            }
        }
        return SearchRequest.builder(KEY.site(), KEY.block()).position(KEY.position()).vectors(q).k(5)
                .metric(Metric.COSINE).build();
    }

    private static void assertChanged(StoreChangedException e, String file, String how) {
        assertTrue(e.getMessage().contains(file) && e.getMessage().contains(how), e.getMessage());
        assertTrue(e.getMessage().contains("verify"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    /** Changes {@code file} in place, keeping its size, and makes sure its mtime moved (coarse clocks). */
    private static void rewriteInPlace(Path file) throws IOException {
        FileTime before = Files.getLastModifiedTime(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(f.length() - 4);
            f.write(new byte[] {0, 0, (byte) 0x80, 0x7f});  // +Infinity: an impossible value
        }
        if (Files.getLastModifiedTime(file).equals(before)) {
            Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 2000));
        }
    }

    @Test
    void aFileTruncatedAfterOpenIsReportedBeforeTheSearchReadsIt() throws IOException {
        Path dir = store("s", 400, 200);
        try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            searcher.search(request(2));
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(SHARD).toFile(), "rw")) {
                f.setLength(4096);
            }
            StoreChangedException e = assertThrows(StoreChangedException.class, () -> searcher.search(request(2)));
            assertChanged(e, SHARD, "truncated to 4096 bytes");
        }
    }

    @Test
    void aFileRewrittenInPlaceIsReportedAndNoValueOfItIsReturned() throws IOException {
        Path dir = store("s", 400, 200);
        try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            rewriteInPlace(dir.resolve(SHARD));
            assertChanged(assertThrows(StoreChangedException.class, () -> searcher.search(request(2))), SHARD, "rewritten");
            // the norms too, and the strings a label comes from
            assertThrows(StoreChangedException.class, () -> s.norms(KEY.site(), 100));
        }
        try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            rewriteInPlace(dir.resolve("strings.npy"));
            assertChanged(assertThrows(StoreChangedException.class, () -> searcher.search(request(2))), "strings.npy",
                    "rewritten");
        }
    }

    @Test
    void aFileReplacedByRenameIsReported() throws IOException {
        Path dir = store("s", 400, 200);
        String norms = "block_output-b0-t7/norms-00001.npy";
        try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            Path copy = dir.resolve("replacement.tmp");
            Files.copy(dir.resolve(norms), copy);
            Files.move(copy, dir.resolve(norms), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertChanged(assertThrows(StoreChangedException.class, () -> searcher.search(request(2))), norms, "replaced");
        }
        // opened again, the same files are fine
        try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            assertEquals(2, searcher.search(request(2)).queries().size());
        }
    }

    /**
     * The case: a shard truncated to 4096 bytes while a long search reads it. The search's
     * reads of the pages past the new end fault (SIGBUS); the JVM reports them as an
     * {@link InternalError} in whichever thread read them, and the search must end with one
     * {@link StoreChangedException} that names the shard. Repeated until a truncation lands
     * while the search runs (the first try almost always does).
     */
    @Test
    void aFileTruncatedWhileASearchRunsEndsItWithStoreChanged() throws Exception {
        boolean during = false;
        for (int attempt = 0; attempt < 6 && !during; attempt++) {
            Path dir = store("t" + attempt, 48_000, 24_000);  // 12 MB of vectors, the first shard 6 MB
            try (BlocksimStore s = BlocksimStore.open(dir); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
                SearchRequest r = request(600);
                searcher.search(r);  // warm-up (the JIT)
                long w0 = System.nanoTime();
                searcher.search(r);  // how long one search takes here
                long searchNanos = System.nanoTime() - w0;
                long t0 = System.nanoTime();
                long[] returnedAt = {Long.MAX_VALUE};
                CompletableFuture<SearchResponse> f = CompletableFuture.supplyAsync(() -> {
                    SearchResponse resp = searcher.search(r);
                    returnedAt[0] = System.nanoTime();
                    return resp;
                });
                TimeUnit.NANOSECONDS.sleep(searchNanos / (4 + 2 * attempt));
                long truncatedAt = System.nanoTime();
                try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(SHARD).toFile(), "rw")) {
                    raf.setLength(4096);
                }
                Throwable t;
                try {
                    f.get(100, TimeUnit.SECONDS);
                    if (returnedAt[0] > truncatedAt) {
                        fail("a search of a store truncated under it returned an answer");
                    }
                    continue;  // it ended before the truncation: try again, earlier
                } catch (java.util.concurrent.ExecutionException e) {
                    t = e.getCause();
                }
                StoreChangedException e = assertInstanceOf(StoreChangedException.class, t);
                assertChanged(e, SHARD, "truncated to 4096 bytes");
                during = Store.isMappedFault(e.getCause());
                System.out.printf("truncation %d: %s after %.0f ms%n", attempt, during ? "a fault during the search"
                        : "caught after the search", (System.nanoTime() - t0) / 1e6);
                // the store stays refused, and the JVM is alive
                assertThrows(StoreChangedException.class, () -> searcher.search(request(1)));
            }
        }
        assertTrue(during, "no truncation landed while a search read the shard");
    }
}
