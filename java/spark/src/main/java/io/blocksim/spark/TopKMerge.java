package io.blocksim.spark;

import io.blocksim.Metric;
import java.io.Serializable;

/**
 * Per-query top-k lists of disjoint row ranges, merged exactly: the order of every search (larger
 * cosine or smaller L2 first, equal scores to the lower row, NaN last; -0.0 equals 0.0). Each list
 * is a range's exact top-k (or all its rows when it has fewer) with scores that do not depend on
 * the range (canonical scores), so the merge is the top-k of the union: FAISS's
 * {@code IndexShards}, here for Spark partitions.
 *
 * <p>Immutable, and small enough to send between JVMs: Q x k rows and scores.
 */
record TopKMerge(int[][] rows, float[][] scores) implements Serializable {

    /** The k best of {@code a} and {@code b} for each query, by {@code metric}'s order. */
    static TopKMerge merge(TopKMerge a, TopKMerge b, int k, Metric metric) {
        int q = a.rows.length;
        if (b.rows.length != q) {
            throw new IllegalArgumentException("merging results of " + q + " and " + b.rows.length + " queries");
        }
        int[][] rows = new int[q][];
        float[][] scores = new float[q][];
        boolean larger = metric.largerIsBetter();
        for (int j = 0; j < q; j++) {
            int[] ra = a.rows[j];
            int[] rb = b.rows[j];
            float[] sa = a.scores[j];
            float[] sb = b.scores[j];
            int n = Math.min(k, ra.length + rb.length);
            int[] r = new int[n];
            float[] s = new float[n];
            int x = 0;
            int y = 0;
            for (int i = 0; i < n; i++) {
                boolean takeA = y >= rb.length || (x < ra.length && before(sa[x], ra[x], sb[y], rb[y], larger));
                if (takeA) {
                    r[i] = ra[x];
                    s[i] = sa[x++];
                } else {
                    r[i] = rb[y];
                    s[i] = sb[y++];
                }
            }
            rows[j] = r;
            scores[j] = s;
        }
        return new TopKMerge(rows, scores);
    }

    /** Whether (score s, row r) ranks before (t, u): by score, NaN last, then the lower row. */
    static boolean before(float s, int r, float t, int u, boolean largerIsBetter) {
        boolean sn = Float.isNaN(s);
        boolean tn = Float.isNaN(t);
        if (sn || tn) {
            return sn != tn ? tn : r < u;
        }
        int c = Float.compare(s + 0.0f, t + 0.0f);
        if (c != 0) {
            return largerIsBetter ? c > 0 : c < 0;
        }
        return r < u;
    }
}
