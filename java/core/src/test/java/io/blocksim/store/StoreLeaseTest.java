package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.spi.MemoryGuard;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Store.close waits for the leases searches hold; quick (well under a second when the code is right). */
class StoreLeaseTest {
    @TempDir
    Path tmp;

    /** Waits until {@code t} blocks in Object.wait (or has ended); fails after five seconds. */
    private static Thread.State awaitWaiting(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TERMINATED) {
                return s;
            }
            Thread.sleep(2);
        }
        return t.getState();
    }

    private static Thread daemon(Runnable r) {
        Thread t = new Thread(r, "store-closer");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void closeWaitsForTheLastLeaseAndThenUnmaps() throws InterruptedException {
        Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")));
        MemorySegment v = store.vectors("block_output", 0, 3).shards().get(0).vectors();
        float first = v.getAtIndex(Npy.FLOAT32, 0);
        MemoryGuard.Lease a = store.lease();
        MemoryGuard.Lease b = store.lease();
        Thread closer = daemon(store::close);
        assertEquals(Thread.State.WAITING, awaitWaiting(closer), "close must wait while leases are held");
        assertFalse(store.isOpen(), "closing refuses new work at once");
        assertThrows(ClosedException.class, store::lease);
        a.close();
        a.close();  // a lease closed twice counts once
        Thread.sleep(20);
        assertTrue(closer.isAlive(), "one lease is still held");
        assertEquals(first, v.getAtIndex(Npy.FLOAT32, 0), "still mapped while a lease is held");
        b.close();
        closer.join(5_000);
        assertFalse(closer.isAlive(), "close must end when the last lease is closed");
        assertThrows(IllegalStateException.class, () -> v.getAtIndex(Npy.FLOAT32, 0));
    }

    /** An interrupt does not make close unmap under a reader; it is passed on when close returns. */
    @Test
    void anInterruptedCloseKeepsWaitingAndKeepsTheInterrupt() throws InterruptedException {
        Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")));
        MemoryGuard.Lease lease = store.lease();
        AtomicBoolean interruptedAfter = new AtomicBoolean();
        Thread closer = daemon(() -> {
            store.close();
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        assertEquals(Thread.State.WAITING, awaitWaiting(closer));
        closer.interrupt();
        Thread.sleep(20);
        assertEquals(Thread.State.WAITING, awaitWaiting(closer), "an interrupt must not end the wait");
        lease.close();
        closer.join(5_000);
        assertFalse(closer.isAlive());
        assertTrue(interruptedAfter.get(), "close must restore the interrupt it swallowed");
    }
}
