package io.blocksim.search;

import io.blocksim.spi.Segments;

import java.lang.foreign.MemorySegment;

/** Helpers for spreading work over threads. */
final class Parallel {
    private Parallel() {
    }

    /** True when threads other than the caller may read {@code s} ({@link Segments#shareable}). */
    static boolean shareable(MemorySegment s) {
        return Segments.shareable(s);
    }
}
