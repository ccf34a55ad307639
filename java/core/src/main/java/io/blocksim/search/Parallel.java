package io.blocksim.search;

import java.lang.foreign.MemorySegment;

/** Helpers for spreading work over threads. */
final class Parallel {
    /** A thread that never runs: a stand-in for "some other thread" in access checks. */
    private static final Thread OTHER = Thread.ofPlatform().unstarted(() -> { });

    private Parallel() {
    }

    /** True when threads other than the caller may read {@code s} (false for a confined arena's segment). */
    static boolean shareable(MemorySegment s) {
        return s == null || s.isAccessibleBy(OTHER);
    }
}
