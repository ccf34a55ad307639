package io.blocksim.search;

import java.util.Arrays;

/**
 * The best {@code k} candidates seen so far for one query. A candidate is packed into one long so
 * that a plain {@code long} comparison orders it: a smaller long is a better candidate (larger key
 * first, then lower row, NaN keys last). Keys are "larger is better" for every metric (the kernels
 * negate L2 distances), so one heap serves both. The heap keeps the worst candidate at its root so
 * the reject test is one comparison; it grows on demand because k may be as large as the row count.
 */
final class TopK {
    private final int k;
    private long[] heap;
    private int size;

    TopK(int k) {
        this.k = k;
        this.heap = new long[Math.min(k, 64)];
    }

    /** Packs a key (larger is better) and a row so that ascending longs are best first. */
    static long pack(float key, int row) {
        int hi;
        if (Float.isNaN(key)) {
            hi = Integer.MAX_VALUE;  // worst; no other key maps here
        } else {
            int bits = Float.floatToRawIntBits(key + 0.0f);  // -0.0 and 0.0 are the same score
            int ordered = bits ^ ((bits >> 31) & 0x7fffffff);  // signed-int order == float order
            hi = ~ordered;  // reverse: larger key -> smaller long
        }
        return ((long) hi << 32) | (row & 0xffffffffL);
    }

    static float keyOf(long packed) {
        int hi = (int) (packed >>> 32);
        if (hi == Integer.MAX_VALUE) {
            return Float.NaN;
        }
        int ordered = ~hi;
        return Float.intBitsToFloat(ordered ^ ((ordered >> 31) & 0x7fffffff));
    }

    static int rowOf(long packed) {
        return (int) packed;
    }

    int size() {
        return size;
    }

    /**
     * The key a new candidate must beat (strictly: a later row with an equal key loses the tie),
     * or NaN while fewer than k are held, which lets every candidate through the kernels' test.
     */
    float threshold() {
        return size < k ? Float.NaN : keyOf(heap[0]);
    }

    /** Returned by {@link #offerReturningOut} when nothing left: no real candidate packs to it (row -1, NaN key). */
    static final long NONE = (long) Integer.MAX_VALUE << 32 | 0xffffffffL;

    /**
     * Offers {@code packed} and returns the candidate that is not held afterwards: the evicted
     * worst, {@code packed} itself when it did not get in, or {@link #NONE} while fewer than k are held.
     */
    long offerReturningOut(long packed) {
        if (size < k) {
            offer(packed);
            return NONE;
        }
        if (packed < heap[0]) {
            long out = heap[0];
            siftDown(packed);
            return out;
        }
        return packed;
    }

    void offer(long packed) {
        if (size < k) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, (int) Math.min(k, 2L * heap.length));
            }
            siftUp(size++, packed);
        } else if (packed < heap[0]) {
            siftDown(packed);
        }
    }

    /** Appends the held candidates (unordered) to {@code out} at {@code at}; returns the new end. */
    int drainTo(long[] out, int at) {
        System.arraycopy(heap, 0, out, at, size);
        return at + size;
    }

    private void siftUp(int i, long v) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            long p = heap[parent];
            if (p >= v) {
                break;
            }
            heap[i] = p;
            i = parent;
        }
        heap[i] = v;
    }

    private void siftDown(long v) {
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            long c = heap[child];
            int right = child + 1;
            if (right < size && heap[right] > c) {
                child = right;
                c = heap[right];
            }
            if (v >= c) {
                break;
            }
            heap[i] = c;
            i = child;
        }
        heap[i] = v;
    }
}
