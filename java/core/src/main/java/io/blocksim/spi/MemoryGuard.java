package io.blocksim.spi;

/**
 * Keeps the memory of a {@link VectorSet} mapped while a search reads it: a backend takes a
 * {@link Lease} for the length of a search, and the owner (an open store) does not unmap while any
 * lease is held. Closing the owner refuses new leases with a {@link io.blocksim.ClosedException} and
 * waits for the held ones.
 *
 * <p>Why: the JDK makes a read of a closed shared arena throw, but a Vector API loop compiled by C2
 * was seen to read a shard after its arena closed under it (a SIGSEGV in the GEMM tile, once in
 * several runs of the close-during-search test). A lease keeps that window shut.
 *
 * <p>Thread safety: leases may be taken and closed from any threads, each lease closed once.
 */
public interface MemoryGuard {
    /** A guard for memory that is never unmapped under a reader (heap or automatic segments). */
    MemoryGuard NONE = () -> () -> { };

    /**
     * A lease on the memory: it stays mapped until the lease is closed.
     *
     * @throws io.blocksim.ClosedException when the owner is closed or closing
     */
    Lease acquire();

    /** Held while reading; close it exactly once. */
    interface Lease extends AutoCloseable {
        @Override
        void close();
    }
}
