package io.blocksim.search;

import io.blocksim.api.ApiTestAccess;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blocksim.Metric;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import io.blocksim.store.TestStores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One open store and one CPU backend shared by many threads: every concurrent answer equals the
 * one the same request got alone, row for row and bit for bit, labels included.
 */
class ConcurrencyTest {
    static final int THREADS = 8;
    static final int PER_THREAD = 200;
    static final int DIM = 32;

    /** 5,000 strings of length 7 in shards of 1,700 (rows a multiple of no chunk): entries at the last position and two earlier ones; dim 32 keeps it quick. */
    static final List<EntrySpec> ENTRIES = List.of(
            new EntrySpec("block_output", 0, 6, DIM),
            new EntrySpec("block_output", 1, 6, DIM),
            new EntrySpec("ffwd_output", 1, 6, DIM),
            new EntrySpec("ffwd_output", 2, 5, DIM),   // ~4,300 unique prefixes of length 6
            new EntrySpec("proj_output", 0, 3, DIM));  // ~600 unique prefixes of length 4

    @TempDir
    static Path dir;
    static Store store;
    /** Four threads and 509-row chunks: three workers per search on 5,000 rows, all sharing one pool. */
    static CpuSearchBackend backend;

    @BeforeAll
    static void open() {
        TestStores.build(dir.resolve("store"), 7, 5_000, 1_700, ENTRIES, 42);
        store = Store.open(dir.resolve("store"));
        backend = new CpuSearchBackend(4, 509);
    }

    @AfterAll
    static void close() {
        backend.close();
        store.close();
    }

    record Request(int id, EntryKey key, float[][] queries, int k, Metric metric) {
        SearchResponse run(Store s, CpuSearchBackend b) {
            return ApiTestAccess.search(s, b, key, queries, k, metric);
        }
    }

    /** Random metric, Q uniform in 1..100, random entry, k in 1..min(rows, 100); queries near stored rows or not. */
    static List<Request> requests(Store s, int n, long seed) {
        Random rnd = new Random(seed);
        List<Manifest.Entry> entries = s.entries();
        List<Request> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Manifest.Entry e = entries.get(rnd.nextInt(entries.size()));
            int nq = 1 + rnd.nextInt(100);
            float[][] q = new float[nq][DIM];
            for (float[] v : q) {
                for (int d = 0; d < DIM; d++) {
                    v[d] = (float) rnd.nextGaussian();
                }
            }
            int k = 1 + rnd.nextInt(Math.min(e.rows(), 100));
            Metric m = rnd.nextBoolean() ? Metric.COSINE : Metric.L2;
            out.add(new Request(i, e.key(), q, k, m));
        }
        return out;
    }

    static void assertSame(SearchResponse want, SearchResponse got, String what) {
        assertEquals(want.queries().size(), got.queries().size(), what);
        for (int q = 0; q < want.queries().size(); q++) {
            List<Hit> w = want.queries().get(q).hits();
            List<Hit> g = got.queries().get(q).hits();
            assertEquals(w.size(), g.size(), what + " query " + q);
            for (int i = 0; i < w.size(); i++) {
                Hit a = w.get(i);
                Hit b = g.get(i);
                if (a.row() != b.row() || Float.floatToRawIntBits(a.score()) != Float.floatToRawIntBits(b.score())
                        || !a.label().equals(b.label())) {
                    fail(what + " query " + q + " hit " + i + ": alone " + a + ", concurrently " + b);
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void everyConcurrentAnswerEqualsTheSerialOne() throws InterruptedException {
        List<Request> all = requests(store, THREADS * PER_THREAD, 7);
        assertTrue(all.stream().map(Request::key).distinct().count() == ENTRIES.size(), "every entry is searched");
        SearchResponse[] serial = new SearchResponse[all.size()];
        for (Request r : all) {
            serial[r.id()] = r.run(store, backend);
        }

        SearchResponse[] concurrent = new SearchResponse[all.size()];
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch ready = new CountDownLatch(THREADS);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            // thread t takes requests t, t + 8, ...: every thread mixes metrics, sizes and entries
            int first = t;
            threads.add(Thread.ofPlatform().name("searcher-" + t).start(() -> {
                ready.countDown();
                try {
                    go.await();
                    for (int i = first; i < all.size(); i += THREADS) {
                        concurrent[i] = all.get(i).run(store, backend);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        assertTrue(ready.await(10, TimeUnit.SECONDS));
        go.countDown();
        for (Thread th : threads) {
            th.join(TimeUnit.SECONDS.toMillis(50));
            assertTrue(!th.isAlive(), th.getName() + " still runs");
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError(failures.size() + " searches failed");
            failures.forEach(e::addSuppressed);
            throw e;
        }
        for (Request r : all) {
            assertSame(serial[r.id()], concurrent[r.id()], "request " + r.id() + " (" + r.key() + ", Q="
                    + r.queries().length + ", k=" + r.k() + ", " + r.metric() + ")");
        }
    }
}
