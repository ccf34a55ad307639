package io.blocksim.search;

import java.util.Arrays;

/**
 * One worker's per-query candidates, fed by the kernels: a top-k by kernel key and, with a
 * {@link Slack}, every other row whose key is within the slack of that top-k's worst key (the
 * "near" rows), so that no row of the canonical top-k ({@link CanonicalScores}) is lost to the
 * kernels' float rounding. {@link #threshold} mirrors each heap's worst key, relaxed by the slack,
 * so the kernels can reject a score with one compare; only scores that pass reach here. A score
 * equal to the threshold passes and the heap settles the tie by row (lower wins), so the kernels
 * may visit rows in any order.
 */
final class Candidates {
    private final TopK[] heaps;
    private final Slack slack;
    /** Per query: packed candidates that passed the relaxed threshold but are not in the heap. */
    private final long[][] near;
    private final int[] nearSize;
    /** Per query: prune {@link #near} when it grows past this. */
    private final int[] nearLimit;
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
        this(queries, paddedQueries, groupSize, k, Slack.NONE);
    }

    /** With {@code slack}: also keeps the near rows ({@link #collect}). */
    Candidates(int queries, int paddedQueries, int groupSize, int k, Slack slack) {
        this.slack = slack;
        near = new long[queries][];
        nearSize = new int[queries];
        nearLimit = new int[queries];
        for (int q = 0; q < queries; q++) {
            near[q] = new long[16];
            nearLimit[q] = Math.max(64, 2 * Math.min(k, 1 << 16));
        }
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
        long p = TopK.pack(key, row);
        if (slack == Slack.NONE) {
            h.offer(p);
            setThreshold(q, h.threshold());
            return;
        }
        long out = h.offerReturningOut(p);  // the candidate that left the heap or was not let in
        float t = slack.relax(h.threshold());
        if (out != TopK.NONE) {
            addNear(q, out, t);
        }
        setThreshold(q, t);
    }

    /** Keeps {@code p} while its key is not below the relaxed threshold {@code t}; prunes now and then. */
    private void addNear(int q, long p, float t) {
        if (TopK.keyOf(p) < t) {
            return;
        }
        long[] a = near[q];
        int n = nearSize[q];
        if (n == nearLimit[q]) {
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (!(TopK.keyOf(a[i]) < t)) {  // NaN keys are kept: they must be rescored
                    a[m++] = a[i];
                }
            }
            n = m;
            nearLimit[q] = Math.max(nearLimit[q], 2 * m);
        }
        if (n == a.length) {
            a = near[q] = Arrays.copyOf(a, 2 * n);
        }
        a[n++] = p;
        nearSize[q] = n;
    }

    /**
     * Appends query {@code q}'s candidates (heap and near rows, unordered, packed) to {@code out}
     * at {@code at}; returns the new end. {@link #candidateCount} tells how many.
     */
    int collect(int q, long[] out, int at) {
        at = heaps[q].drainTo(out, at);
        System.arraycopy(near[q], 0, out, at, nearSize[q]);
        return at + nearSize[q];
    }

    int candidateCount(int q) {
        return heaps[q].size() + nearSize[q];
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
