package io.blocksim.search;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * One worker's per-query top-k, fed by the kernels. {@link #threshold} mirrors each heap's worst key
 * so the kernels can reject a score with one compare; only scores that pass reach the heap. A
 * worker sees its rows in increasing order, so a score equal to the threshold is rejected (the held
 * row is lower and wins the tie).
 */
final class Candidates {
    private final TopK[] heaps;
    /** Per padded query slot: the key to beat; NaN while a heap is not full; +inf for padding slots. */
    final float[] threshold;

    Candidates(int queries, int paddedQueries, int k) {
        heaps = new TopK[queries];
        for (int q = 0; q < queries; q++) {
            heaps[q] = new TopK(k);
        }
        threshold = new float[paddedQueries];
        Arrays.fill(threshold, 0, queries, Float.NaN);
        Arrays.fill(threshold, queries, paddedQueries, Float.POSITIVE_INFINITY);
    }

    TopK heap(int q) {
        return heaps[q];
    }

    /** Offers one query's key for a row. Written so NaN keys and NaN thresholds go to the slow path. */
    void check(float key, int q, int row) {
        if (!(key <= threshold[q])) {
            offer(q, key, row);
        }
    }

    /** Offers the keys of one row for the {@code L} query slots starting at {@code qOff}. */
    void check(FloatVector keys, int qOff, int row) {
        VectorMask<Float> pass = keys.compare(VectorOperators.LE,
                FloatVector.fromArray(CpuKernels.S, threshold, qOff)).not();
        if (pass.anyTrue()) {
            offer(keys.toArray(), pass.toLong(), qOff, row);
        }
    }

    private void offer(float[] keys, long lanes, int qOff, int row) {
        while (lanes != 0) {
            int lane = Long.numberOfTrailingZeros(lanes);
            lanes &= lanes - 1;
            offer(qOff + lane, keys[lane], row);
        }
    }

    private void offer(int q, float key, int row) {
        if (q >= heaps.length) {
            return;  // a padding slot (only NaN keys get here)
        }
        TopK h = heaps[q];
        h.offer(TopK.pack(key, row));
        threshold[q] = h.threshold();
    }
}
