package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidDataException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The search's worker runner: work sharing, withdrawal of helpers that never started, failures. */
@Timeout(20)
class WorkersTest {
    /** Parts that claim {@code items} from one counter, recording who did each. */
    private static IntConsumer claiming(AtomicInteger next, int items, AtomicIntegerArray doneBy) {
        return part -> {
            for (int i; (i = next.getAndIncrement()) < items; ) {
                doneBy.set(i, part + 1);
                Thread.onSpinWait();
            }
        };
    }

    @Test
    void everyItemIsDoneOnceAcrossCallerAndHelpers() {
        ForkJoinPool pool = new ForkJoinPool(3);
        try {
            for (int round = 0; round < 200; round++) {
                AtomicInteger next = new AtomicInteger();
                AtomicIntegerArray doneBy = new AtomicIntegerArray(10_000);
                Workers.run(pool, 4, claiming(next, 10_000, doneBy));
                for (int i = 0; i < 10_000; i++) {
                    assertTrue(doneBy.get(i) > 0, "item " + i);
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    /** A pool whose only thread is busy: the caller does all the work and does not wait for it. */
    @Test
    void helpersStuckInTheQueueAreWithdrawn() throws InterruptedException {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        CountDownLatch release = new CountDownLatch(1);
        try {
            pool.execute(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicInteger next = new AtomicInteger();
            AtomicIntegerArray doneBy = new AtomicIntegerArray(1000);
            Workers.run(pool, 3, claiming(next, 1000, doneBy));
            for (int i = 0; i < 1000; i++) {
                assertEquals(1, doneBy.get(i), "the caller (part 0) did item " + i);
            }
            AtomicInteger ranLate = new AtomicInteger();
            Workers.run(pool, 2, part -> ranLate.addAndGet(part));  // queued helper 1 is withdrawn too
            release.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
            assertEquals(0, ranLate.get(), "a withdrawn helper never runs");
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void aShutDownPoolLeavesTheWorkToTheCaller() {
        ForkJoinPool pool = new ForkJoinPool(2);
        pool.shutdown();
        AtomicInteger next = new AtomicInteger();
        AtomicIntegerArray doneBy = new AtomicIntegerArray(100);
        Workers.run(pool, 3, claiming(next, 100, doneBy));
        for (int i = 0; i < 100; i++) {
            assertEquals(1, doneBy.get(i));
        }
    }

    /** A helper's BlocksimException reaches the caller as the same object, not wrapped. */
    @Test
    void aHelpersFailureReachesTheCallerUnwrapped() throws InterruptedException {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            InvalidDataException boom = new InvalidDataException("bad rows");
            CountDownLatch helperFailed = new CountDownLatch(1);
            InvalidDataException got = assertThrows(InvalidDataException.class, () -> Workers.run(pool, 2, part -> {
                if (part == 1) {
                    helperFailed.countDown();
                    throw boom;
                }
                try {
                    helperFailed.await();  // part 0 waits until the helper has failed
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }));
            assertSame(boom, got);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void theCallersFailureComesFirstAndTheHelpersIsSuppressed() {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            CountDownLatch helperFailed = new CountDownLatch(1);
            IllegalArgumentException mine = new IllegalArgumentException("caller");
            IllegalArgumentException got = assertThrows(IllegalArgumentException.class, () -> Workers.run(pool, 2, part -> {
                if (part == 1) {
                    helperFailed.countDown();
                    throw new InvalidDataException("helper");
                }
                try {
                    helperFailed.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                throw mine;
            }));
            assertSame(mine, got);
            assertEquals(1, got.getSuppressed().length);
            assertTrue(got.getSuppressed()[0] instanceof InvalidDataException);
        } finally {
            pool.shutdown();
        }
    }

    /** An interrupt does not abandon running helpers nor throw: it is left set for the caller. */
    @Test
    void anInterruptIsKeptNotThrown() {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            CountDownLatch helperStarted = new CountDownLatch(1);
            AtomicInteger helperDone = new AtomicInteger();
            Workers.run(pool, 2, part -> {
                if (part == 1) {
                    helperStarted.countDown();
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
                    while (System.nanoTime() < end) {
                        Thread.onSpinWait();
                    }
                    helperDone.set(1);
                    return;
                }
                try {
                    helperStarted.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                Thread.currentThread().interrupt();
            });
            assertTrue(Thread.interrupted(), "the interrupt is still set");
            assertEquals(1, helperDone.get(), "the running helper was waited for");
        } finally {
            pool.shutdown();
        }
    }
}
