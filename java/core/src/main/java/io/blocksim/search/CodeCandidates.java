package io.blocksim.search;

import java.util.Arrays;

/**
 * One worker's state in the compressed scan's first pass, per query: a top-k of the rows' lower
 * bounds (its k-th is the bar any row must be able to reach) and every row whose upper bound
 * reached the bar when it was seen (the survivors, pruned now and then against the risen bar).
 * Keys are "larger is better" floats, packed with the row as {@link TopK} does.
 *
 * <p>Why nothing is lost: the bar only rises, and it never exceeds the global k-th best lower bound
 * T over all rows (this worker's rows are a subset). There are k rows whose canonical score is at
 * least their lower bound, all >= T, so the canonical k-th best score is >= T, and every row of the
 * canonical top-k has an upper bound >= its score >= T >= every bar: it is kept here, and
 * {@link CodeScan} keeps it again when it cuts at T. Rows tied with the k-th score are kept alike.
 */
final class CodeCandidates {
    private final TopK[] lows;
    /** Per query: the bar (the heap's k-th lower bound), NaN while the heap is not full. */
    final float[] bar;
    private final long[][] kept;
    private final int[] size;
    private final int[] limit;
    /** Scratch for {@link CodeBounds}: lower and upper key. */
    final float[] interval = new float[2];
    /** Scratch for the kernels: one row's sums for a group of up to 8 queries, then (L2) its sum of squared codes. */
    final float[] sums = new float[CodeScan.GROUP + 1];
    /** Scratch for the kernels: one vector's lanes (16 at most). */
    final float[] lanes = new float[64];

    /** Scratch for the native kernel ({@link NativeCodes}): a block's sums, row by row; null without it. */
    final int[] dots;
    /** Scratch for the native kernel: a block's sums of squared codes (L2); null without it. */
    final int[] squares;

    /** Scratch for the native kernel: the rows of a block it left, with their query masks; null without it. */
    final int[] hits;

    CodeCandidates(int queries, int k, boolean nativeKernel) {
        dots = nativeKernel ? new int[CodeScan.BLOCK_ROWS * CodeScan.GROUP] : null;
        squares = nativeKernel ? new int[CodeScan.BLOCK_ROWS] : null;
        hits = nativeKernel ? new int[CodeScan.BLOCK_ROWS] : null;
        lows = new TopK[queries];
        bar = new float[queries];
        kept = new long[queries][];
        size = new int[queries];
        limit = new int[queries];
        for (int q = 0; q < queries; q++) {
            lows[q] = new TopK(k);
            bar[q] = Float.NaN;
            kept[q] = new long[16];
            limit[q] = Math.max(256, 4 * Math.min(k, 1 << 16));
        }
    }

    /** Row {@code row} has keys in [{@code lo}, {@code hi}] for query {@code q}. */
    void offer(int q, int row, float lo, float hi) {
        if (hi < bar[q]) {  // false while the bar is NaN
            return;
        }
        TopK h = lows[q];
        h.offer(TopK.pack(lo, row));
        bar[q] = h.threshold();
        if (!(hi < bar[q])) {
            keep(q, TopK.pack(hi, row));
        }
    }

    private void keep(int q, long p) {
        long[] a = kept[q];
        int n = size[q];
        if (n == limit[q]) {
            float t = bar[q];
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (!(TopK.keyOf(a[i]) < t)) {
                    a[m++] = a[i];
                }
            }
            n = m;
            limit[q] = Math.max(limit[q], 2 * m);
        }
        if (n == a.length) {
            a = kept[q] = Arrays.copyOf(a, Math.max(16, 2 * n));
        }
        a[n++] = p;
        size[q] = n;
    }

    /** Appends query {@code q}'s lower-bound heap (packed lower keys) to {@code out} at {@code at}. */
    int collectLows(int q, long[] out, int at) {
        return lows[q].drainTo(out, at);
    }

    int lowCount(int q) {
        return lows[q].size();
    }

    /** Appends the rows of query {@code q} whose upper key is not below {@code t} (NaN t: all) to {@code out}. */
    int collectKept(int q, float t, int[] out, int at) {
        long[] a = kept[q];
        for (int i = 0; i < size[q]; i++) {
            if (!(TopK.keyOf(a[i]) < t)) {
                out[at++] = TopK.rowOf(a[i]);
            }
        }
        return at;
    }

    int keptCount(int q) {
        return size[q];
    }
}
