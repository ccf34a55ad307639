package io.blocksim.search;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;

/**
 * Runs the parts of one search: part 0 on the calling thread, parts 1.. on a pool as helpers.
 *
 * <p>The parts must share their work through a queue they claim from (as {@code Scan} claims
 * chunks from a counter), so that part 0 alone can do all of it: when part 0 runs out of work, a
 * helper the pool has not started yet (its threads busy with other searches, or the pool shut
 * down by {@code close}) is withdrawn and never runs, and only the helpers already running are
 * waited for. So a search never waits in a pool's queue, never deadlocks on a pool whose threads
 * all wait themselves, and still finishes after the pool refuses new tasks.
 *
 * <p>The wait is not interruptible (the helpers still running hold a bounded amount of work): an
 * interrupt of the calling thread is kept set and left for the caller to act on.
 *
 * <p>Every part's writes happen-before {@link #run} returns. A part that throws makes {@link #run}
 * throw the same exception, unwrapped, once every started part has ended: the calling thread's
 * own failure first, else the lowest failed helper's; the others are added as suppressed.
 */
final class Workers {
    private static final int QUEUED = 0;
    private static final int STARTED = 1;
    private static final int WITHDRAWN = 2;

    private Workers() {
    }

    /**
     * Runs {@code part.accept(i)} for i in 0..parts-1 as described above.
     *
     * @param pool where helpers run; null runs part 0 alone
     */
    static void run(Executor pool, int parts, IntConsumer part) {
        if (parts <= 1 || pool == null) {
            part.accept(0);
            return;
        }
        int helpers = parts - 1;
        AtomicIntegerArray state = new AtomicIntegerArray(helpers);
        Throwable[] failed = new Throwable[parts];
        CountDownLatch ended = new CountDownLatch(helpers);  // each helper counts down exactly once
        for (int h = 0; h < helpers; h++) {
            int i = h;
            Runnable task = () -> {
                if (!state.compareAndSet(i, QUEUED, STARTED)) {
                    return;  // withdrawn: the caller has counted it down
                }
                try {
                    part.accept(i + 1);
                } catch (Throwable t) {
                    failed[i + 1] = t;  // published by countDown / await
                } finally {
                    ended.countDown();
                }
            };
            try {
                pool.execute(task);
            } catch (RejectedExecutionException e) {
                withdraw(state, i, ended);  // the pool is shut down: part 0 does this share
            }
        }
        try {
            part.accept(0);
        } catch (Throwable t) {
            failed[0] = t;
        } finally {
            for (int h = 0; h < helpers; h++) {
                withdraw(state, h, ended);
            }
            awaitUninterruptibly(ended);
        }
        rethrowFirst(failed);
    }

    private static void withdraw(AtomicIntegerArray state, int helper, CountDownLatch ended) {
        if (state.compareAndSet(helper, QUEUED, WITHDRAWN)) {
            ended.countDown();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void rethrowFirst(Throwable[] failed) {
        Throwable first = null;
        for (Throwable t : failed) {
            if (t == null) {
                continue;
            }
            if (first == null) {
                first = t;
            } else if (t != first) {
                first.addSuppressed(t);
            }
        }
        switch (first) {
            case null -> { }
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(first);  // parts are IntConsumers: cannot happen
        }
    }
}
