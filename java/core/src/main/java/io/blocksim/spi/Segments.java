package io.blocksim.spi;

import java.lang.foreign.MemorySegment;

/** Segments as the search's Vector API loops should see them. */
public final class Segments {
    /** Without the Vector API no kernel profiles the loads: reinterpret would only cause a native-access warning. */
    private static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** A thread that never runs: a stand-in for "some other thread" in access checks. */
    private static final Thread OTHER = Thread.ofPlatform().unstarted(() -> { });

    private Segments() {
    }

    /**
     * True when threads other than the caller may read {@code s} (false for a confined arena's
     * segment, which only its owner thread may read): a backend spreads a search over threads only
     * when every segment it reads is shareable. Null counts as shareable.
     */
    public static boolean shareable(MemorySegment s) {
        return s == null || s.isAccessibleBy(OTHER);
    }

    /**
     * The same memory as a plain native segment when {@code s} is off-heap: a memory-mapped shard
     * becomes a native view of the same address, size, lifetime and read-only flag (closing the
     * store still makes it inaccessible); heap segments are returned as they are.
     *
     * <p>Why: the JIT profiles the segment class inside the JDK's load methods, shared by every
     * caller. When mapped shards and native buffers (the 8-query kernel's queries, synthetic data)
     * both flow through them, C2 compiles each vector load with class checks, and the 8-query search
     * over a real store ran 2.2x the memory floor instead of 1.1x. One class keeps every load
     * monomorphic. Where native access is denied (reinterpret is a restricted method) the segment
     * is used as it is: the same results, only slower. In a JVM without {@code jdk.incubator.vector}
     * (the search runs scalar code) it is used as it is too, so no restricted method is called.
     */
    public static MemorySegment plain(MemorySegment s) {
        if (s == null || !s.isNative() || !VECTOR_API) {
            return s;
        }
        try {
            return s.reinterpret(s.byteSize());
        } catch (IllegalCallerException e) {
            return s;
        }
    }
}
