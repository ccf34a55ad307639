package io.blocksim.search;

import io.blocksim.api.ApiTestAccess;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.Metric;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Store;
import io.blocksim.store.TestStores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a store or a backend while other threads search: every search ends normally or with a
 * {@link ClosedException}, none hangs, nothing reads unmapped memory (the JVM would die), and
 * whatever comes later is refused with a {@link ClosedException}. Each race is run for many
 * rounds with random delays, and the test checks that closes really hit running searches.
 */
class CloseDuringSearchTest {
    static final int ROUNDS = 50;
    static final int THREADS = 4;
    static final int DIM = 64;
    /** 120,000 strings in shards of 40,000: 30 MB per entry, a few ms per search on 2 cores. */
    static final List<EntrySpec> ENTRIES = List.of(
            new EntrySpec("block_output", 0, 7, DIM),
            new EntrySpec("ffwd_output", 1, 7, DIM));
    static final List<EntryKey> KEYS = ENTRIES.stream().map(EntrySpec::key).toList();

    @TempDir
    static Path dir;
    static Path storeDir;

    @BeforeAll
    static void build() {
        storeDir = TestStores.build(dir.resolve("store"), 8, 120_000, 40_000, ENTRIES, 5);
    }

    record Request(EntryKey key, float[][] queries, int k, Metric metric) {
        SearchResponse run(Store s, SearchBackend b) {
            return ApiTestAccess.search(s, b, key, queries, k, metric);
        }
    }

    static final List<Request> REQUESTS = requests(24, 3);

    /** Q from 1 to 24 (both kernels), k from 1 to 20, both metrics, both entries. */
    static List<Request> requests(int n, long seed) {
        Random rnd = new Random(seed);
        List<Request> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[][] q = new float[1 + rnd.nextInt(24)][DIM];
            for (float[] v : q) {
                for (int d = 0; d < DIM; d++) {
                    v[d] = (float) rnd.nextGaussian();
                }
            }
            out.add(new Request(KEYS.get(i % KEYS.size()), q, 1 + rnd.nextInt(20), i % 3 == 0 ? Metric.L2 : Metric.COSINE));
        }
        return out;
    }

    /** Starts {@code n} threads running {@code body(i)} and waits until all are running. */
    static List<Thread> start(int n, java.util.function.IntConsumer body) throws InterruptedException {
        CountDownLatch running = new CountDownLatch(n);
        List<Thread> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = i;
            out.add(Thread.ofPlatform().name("searcher-" + t).start(() -> {
                running.countDown();
                body.accept(t);
            }));
        }
        assertTrue(running.await(10, TimeUnit.SECONDS));
        return out;
    }

    static void joinAll(List<Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(20));
            assertFalse(t.isAlive(), t.getName() + " hangs after the close");
        }
    }

    static void sleepRandomly(Random rnd, int maxMicros) {
        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(rnd.nextInt(maxMicros)));
    }

    static void throwIfAny(ConcurrentLinkedQueue<Throwable> unexpected) {
        if (!unexpected.isEmpty()) {
            AssertionError e = new AssertionError(unexpected.size() + " searches ended in an unexpected way: "
                    + unexpected.peek());
            unexpected.forEach(e::addSuppressed);
            throw e;
        }
    }

    /**
     * Half the threads search through the API ({@link io.blocksim.api.Searcher}), half call the backend directly with a
     * {@link VectorSet} taken before the close; all loop until the store's close stops them. The close
     * waits for the searches in flight (each holds a lease on the store's memory), so none reads an
     * unmapped page; every later search is refused with a ClosedException.
     */
    @Test
    @Timeout(60)
    void closingTheStoreEndsEverySearchWithClosedException() throws InterruptedException {
        Random rnd = new Random(11);
        int midSearch = 0;      // rounds where a search was running when the close came (the close waited for it)
        int inScan = 0;         // rounds where that search was a direct backend call
        int afterSearches = 0;  // rounds where every thread had finished a search before the close
        try (CpuSearchBackend backend = new CpuSearchBackend(3, 2040)) {
            for (int round = 0; round < ROUNDS; round++) {
                Store store = Store.open(storeDir);
                List<VectorSet> sets = KEYS.stream().map(store::vectors).toList();
                ClosedException[] ended = new ClosedException[THREADS];
                java.util.concurrent.atomic.AtomicIntegerArray inFlight = new java.util.concurrent.atomic.AtomicIntegerArray(THREADS);
                AtomicInteger finished = new AtomicInteger();
                ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
                List<Thread> threads = start(THREADS, t -> {
                    Random r = new Random(t * 31L + 7);
                    boolean counted = false;
                    try {
                        while (true) {
                            Request q = REQUESTS.get(r.nextInt(REQUESTS.size()));
                            inFlight.set(t, 1);
                            if (t % 2 == 0) {
                                q.run(store, backend);
                            } else {
                                backend.search(sets.get(KEYS.indexOf(q.key())), q.queries(), q.k(), q.metric());
                            }
                            inFlight.set(t, 0);
                            if (!counted) {
                                finished.incrementAndGet();
                                counted = true;
                            }
                        }
                    } catch (ClosedException e) {
                        ended[t] = e;
                    } catch (Throwable e) {
                        unexpected.add(e);
                    }
                });
                sleepRandomly(rnd, 30_000);
                boolean hit = false;
                boolean scanHit = false;
                for (int t = 0; t < THREADS; t++) {
                    hit |= inFlight.get(t) == 1;
                    scanHit |= t % 2 == 1 && inFlight.get(t) == 1;
                }
                store.close();
                int before = finished.get();
                joinAll(threads);
                throwIfAny(unexpected);
                for (int t = 0; t < THREADS; t++) {
                    ClosedException e = ended[t];
                    assertTrue(e.getMessage().contains("closed"), e.getMessage());
                }
                midSearch += hit ? 1 : 0;
                inScan += scanHit ? 1 : 0;
                afterSearches += before == THREADS ? 1 : 0;

                assertFalse(store.isOpen());
                assertThrows(ClosedException.class, () -> store.entry(KEYS.get(0)));
                assertThrows(ClosedException.class, () -> store.vectors(KEYS.get(0)));
                assertThrows(ClosedException.class, () -> store.label(KEYS.get(0), 0));
                assertThrows(ClosedException.class, () -> REQUESTS.get(0).run(store, backend));
                ClosedException direct = assertThrows(ClosedException.class,
                        () -> backend.search(sets.get(0), REQUESTS.get(0).queries(), 1, Metric.COSINE));
                assertTrue(direct.getMessage().contains("is closed"), direct.getMessage());
                assertDoesNotThrow(store::close);  // idempotent
            }
            // the backend is unharmed: a search of an open store still gives the right answer
            try (Store store = Store.open(storeDir); CpuSearchBackend fresh = new CpuSearchBackend(1)) {
                Request q = REQUESTS.get(1);
                assertEquals(q.run(store, fresh).queries(), q.run(store, backend).queries());
            }
        }
        System.out.printf("store closed during searches: in %d of %d rounds a search was running when the close came"
                + " (in %d a direct backend scan); in %d every thread had finished a search first%n", midSearch, ROUNDS, inScan,
                afterSearches);
        assertTrue(midSearch >= ROUNDS / 5, "only " + midSearch + " of " + ROUNDS + " closes hit a running search");
        assertTrue(inScan >= ROUNDS / 10, "only " + inScan + " of " + ROUNDS + " closes hit a running scan");
    }

    /**
     * Searches running when the backend closes finish with the right answer; every search that
     * starts after the close throws a {@link ClosedException}; nothing hangs.
     */
    @Test
    @Timeout(60)
    void closingTheBackendFinishesRunningSearchesAndRefusesNewOnes() throws InterruptedException {
        Random rnd = new Random(13);
        int overlapped = 0;  // rounds where a search running at the close finished after it
        AtomicLong searches = new AtomicLong();
        AtomicLong searchNanos = new AtomicLong();
        try (Store store = Store.open(storeDir)) {
            List<SearchResponse> expected = new ArrayList<>();
            try (CpuSearchBackend alone = new CpuSearchBackend(1)) {
                for (Request q : REQUESTS) {
                    expected.add(q.run(store, alone));
                }
            }
            for (int round = 0; round < ROUNDS; round++) {
                CpuSearchBackend backend = new CpuSearchBackend(3, 2040);
                AtomicLong closeStart = new AtomicLong(Long.MAX_VALUE);
                AtomicLong closeEnd = new AtomicLong(Long.MAX_VALUE);
                AtomicInteger finishedAcross = new AtomicInteger();
                ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
                List<Thread> threads = start(THREADS, t -> {
                    Random r = new Random(t * 17L + 3);
                    while (true) {
                        int i = r.nextInt(REQUESTS.size());
                        long t0 = System.nanoTime();
                        try {
                            SearchResponse got = REQUESTS.get(i).run(store, backend);
                            searches.incrementAndGet();
                            searchNanos.addAndGet(System.nanoTime() - t0);
                            if (!got.queries().equals(expected.get(i).queries())) {
                                unexpected.add(new AssertionError("request " + i + " answered differently"));
                            }
                            if (t0 > closeEnd.get()) {
                                unexpected.add(new AssertionError("a search called after close() returned ran"));
                            } else if (t0 < closeStart.get() && System.nanoTime() > closeEnd.get()) {
                                finishedAcross.incrementAndGet();  // it was running during the whole close
                            }
                        } catch (ClosedException e) {
                            // only a search that checks after close() began may throw (no t0 test: the
                            // close may come between t0 and that check)
                            if (!e.getMessage().equals("the cpu search backend is closed")) {
                                unexpected.add(e);
                            }
                            return;
                        } catch (Throwable e) {
                            unexpected.add(e);
                            return;
                        }
                    }
                });
                sleepRandomly(rnd, 30_000);
                closeStart.set(System.nanoTime());
                backend.close();
                closeEnd.set(System.nanoTime());
                joinAll(threads);
                throwIfAny(unexpected);
                overlapped += finishedAcross.get() > 0 ? 1 : 0;

                ClosedException e = assertThrows(ClosedException.class, () -> REQUESTS.get(0).run(store, backend));
                assertEquals("the cpu search backend is closed", e.getMessage());
                assertDoesNotThrow(backend::close);  // idempotent
            }
        }
        System.out.printf("backend closed during searches: in %d of %d rounds a running search finished after the "
                + "close (%d searches, %.1f ms each on average with %d threads)%n", overlapped, ROUNDS, searches.get(),
                searchNanos.get() / 1e6 / Math.max(1, searches.get()), THREADS);
        assertTrue(overlapped >= ROUNDS / 5, "only " + overlapped + " of " + ROUNDS + " closes overlapped a search");
    }

    /**
     * A routed backend hands what its primary does not support to a CPU backend of its own: after
     * close, that path is refused too (it used to make a new CPU backend nobody would close).
     */
    @Test
    @Timeout(30)
    void aClosedRoutedBackendRefusesTheCpuPathToo() throws InterruptedException {
        SearchBackend primary = new SearchBackend() {
            @Override
            public String name() {
                return "fake";
            }

            @Override
            public boolean supports(int dim, int k, Metric metric) {
                return false;
            }

            @Override
            public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
                throw new AssertionError("every request goes to the cpu");
            }
        };
        try (Store store = Store.open(storeDir)) {
            SearchBackend routed = Backends.routed(primary);
            Request q = REQUESTS.get(2);
            AtomicInteger refused = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            List<Thread> threads = start(THREADS, t -> {
                try {
                    while (true) {
                        q.run(store, routed);
                    }
                } catch (ClosedException e) {
                    refused.incrementAndGet();
                } catch (Throwable e) {
                    unexpected.add(e);
                }
            });
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            routed.close();
            joinAll(threads);
            throwIfAny(unexpected);
            assertEquals(THREADS, refused.get());
            ClosedException e = assertThrows(ClosedException.class, () -> q.run(store, routed));
            assertEquals("the fake search backend is closed", e.getMessage());
        }
    }
}
