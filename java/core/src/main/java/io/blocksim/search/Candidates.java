package io.blocksim.search;

import java.util.Arrays;

/**
 * One worker's per-query top-k, fed by the kernels. {@link #threshold} mirrors each heap's worst key
 * so the kernels can reject a score with one compare; only scores that pass reach the heap. A score
 * equal to the threshold passes and the heap settles the tie by row (lower wins), so the kernels
 * may visit rows in any order.
 */
final class Candidates {
    private final TopK[] heaps;
    /** Per padded query slot: the key to beat; NaN while a heap is not full; +inf for padding slots. */
    final float[] threshold;
    /** The same thresholds laid out like the narrow kernels' keys: each repeated over L/groupSize lanes. */
    final float[] spread;
    /** Where the gemm kernels leave a tile's sums for the selection loop. */
    final float[] scratch = new float[Vectorization.GEMM_ROWS * Vectorization.GEMM_VECTORS * Vectorization.LANES];
    private final int groupSize;

    /**
     * @param paddedQueries the query slots of all groups (slots past {@code queries} are padding)
     * @param groupSize queries per group of the narrow kernels (1 to L); any value for gemm
     */
    Candidates(int queries, int paddedQueries, int groupSize, int k) {
        this.groupSize = Math.max(1, Math.min(groupSize, Vectorization.LANES));
        heaps = new TopK[queries];
        for (int q = 0; q < queries; q++) {
            heaps[q] = new TopK(k);
        }
        threshold = new float[paddedQueries];
        spread = new float[(paddedQueries + this.groupSize - 1) / this.groupSize * Vectorization.LANES];
        for (int q = 0; q < paddedQueries; q++) {
            setThreshold(q, q < queries ? Float.NaN : Float.POSITIVE_INFINITY);
        }
    }

    /** The real queries (slots from here on are padding). */
    int queries() {
        return heaps.length;
    }

    TopK heap(int q) {
        return heaps[q];
    }

    /** Lane i of {@code keys} is query {@code qOff + i} (the gemm kernels' layout). */
    void offerLanes(float[] keys, int qOff, int row) {
        for (int i = 0; i < keys.length; i++) {
            if (!(keys[i] < threshold[qOff + i])) {
                offer(qOff + i, keys[i], row);
            }
        }
    }

    /** Query {@code qOff + j} is in lanes {@code j * L/nq ..} of {@code keys} (the narrow kernels' layout). */
    void offerGroups(float[] keys, int qOff, int nq, int row) {
        int per = keys.length / nq;
        for (int j = 0; j < nq; j++) {
            float key = keys[j * per];
            if (!(key < threshold[qOff + j])) {
                offer(qOff + j, key, row);
            }
        }
    }

    /** One key of query {@code q}, if it beats the threshold (the L2 gemm's exact rescoring). */
    void offerKey(int q, float key, int row) {
        if (!(key < threshold[q])) {
            offer(q, key, row);
        }
    }

    private void offer(int q, float key, int row) {
        if (q >= heaps.length) {
            return;  // a padding slot (only NaN keys get here)
        }
        TopK h = heaps[q];
        h.offer(TopK.pack(key, row));
        setThreshold(q, h.threshold());
    }

    private void setThreshold(int q, float t) {
        threshold[q] = t;
        int per = Vectorization.LANES / groupSize;
        int at = q / groupSize * Vectorization.LANES + q % groupSize * per;
        if (at + per <= spread.length) {
            Arrays.fill(spread, at, at + per, t);
        }
    }
}
