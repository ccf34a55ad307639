package io.blocksim.search;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;

/** A plain float64 top-k, the yardstick the backends are checked against. */
final class Reference {
    final int[][] rows;
    final double[][] scores;

    private Reference(int[][] rows, double[][] scores) {
        this.rows = rows;
        this.scores = scores;
    }

    /** The best {@code n} rows per query (ties to the lower row). */
    static Reference search(float[][] data, float[][] queries, int n, Metric metric) {
        int[][] rows = new int[queries.length][];
        double[][] scores = new double[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            float[] query = queries[q];
            double qn = Math.max(norm(query), Metric.NORM_EPS);
            double[] s = new double[data.length];
            for (int r = 0; r < data.length; r++) {
                float[] x = data[r];
                double acc = 0;
                if (metric == Metric.COSINE) {
                    for (int d = 0; d < x.length; d++) {
                        acc += (double) x[d] * query[d];
                    }
                    s[r] = acc / (Math.max(norm(x), Metric.NORM_EPS) * qn);
                } else {
                    for (int d = 0; d < x.length; d++) {
                        double e = (double) x[d] - query[d];
                        acc += e * e;
                    }
                    s[r] = Math.sqrt(acc);
                }
            }
            Comparator<Integer> order = metric.largerIsBetter()
                    ? Comparator.<Integer>comparingDouble(r -> -s[r]).thenComparingInt(r -> r)
                    : Comparator.<Integer>comparingDouble(r -> s[r]).thenComparingInt(r -> r);
            Integer[] idx = new Integer[data.length];
            for (int r = 0; r < idx.length; r++) {
                idx[r] = r;
            }
            Arrays.sort(idx, order);
            rows[q] = new int[n];
            scores[q] = new double[n];
            for (int i = 0; i < n; i++) {
                rows[q][i] = idx[i];
                scores[q][i] = s[idx[i]];
            }
        }
        return new Reference(rows, scores);
    }

    static double norm(float[] v) {
        double ss = 0;
        for (float f : v) {
            ss += (double) f * f;
        }
        return Math.sqrt(ss);
    }

    /**
     * Checks a backend's answer against this reference (which should hold k+1 entries when there are
     * more than k rows, so the last place is checked too): every score within 1e-5 (cosine absolute,
     * L2 relative); rows equal wherever the reference's scores are further apart than a float32
     * tolerance; exact ties in the reference (duplicated rows) in the same order (lower row first);
     * a group of near-ties that lies wholly inside the top k as the same set.
     */
    void assertMatches(SearchResult got, int k, Metric metric, String what) {
        assertEquals(metric, got.metric(), what);
        assertEquals(rows.length, got.queries(), what + ": queries");
        double tol = 1e-5;
        for (int q = 0; q < rows.length; q++) {
            String at = what + ", query " + q;
            int[] gr = got.rows()[q];
            float[] gs = got.scores()[q];
            assertEquals(k, gr.length, at + ": rows returned");
            assertEquals(k, gs.length, at + ": scores returned");
            double[] rs = scores[q];
            for (int i = 0; i < k; i++) {
                double allowed = metric == Metric.COSINE ? 1e-5 : 1e-5 * rs[i] + 1e-7;
                if (!(Math.abs(gs[i] - rs[i]) <= allowed)) {
                    fail(at + ", place " + i + ": score " + gs[i] + " vs reference " + rs[i] + " (row " + gr[i]
                            + " vs " + rows[q][i] + ")");
                }
                if (i > 0) {
                    boolean inOrder = metric.largerIsBetter() ? gs[i - 1] >= gs[i] : gs[i - 1] <= gs[i];
                    assertTrue(inOrder, at + ": scores out of order at place " + i);
                    if (gs[i - 1] == gs[i]) {
                        assertTrue(gr[i - 1] < gr[i], at + ": equal scores must list the lower row first, place " + i);
                    }
                }
            }
            // Groups of reference places whose consecutive scores are within the tolerance.
            int n = rs.length;
            int start = 0;
            while (start < n) {
                int end = start + 1;
                while (end < n && Math.abs(rs[end] - rs[end - 1]) <= tol * scale(rs[end], metric)) {
                    end++;
                }
                if (end <= k) {
                    boolean exact = true;
                    for (int i = start + 1; i < end; i++) {
                        exact &= rs[i] == rs[start];
                    }
                    if (exact) {
                        for (int i = start; i < end; i++) {
                            assertEquals(rows[q][i], gr[i], at + ": row at place " + i);
                        }
                    } else {
                        Set<Integer> want = new HashSet<>();
                        Set<Integer> have = new HashSet<>();
                        for (int i = start; i < end; i++) {
                            want.add(rows[q][i]);
                            have.add(gr[i]);
                        }
                        assertEquals(want, have, at + ": rows of near-tied places " + start + ".." + (end - 1));
                    }
                }
                start = end;
            }
        }
    }

    private static double scale(double v, Metric metric) {
        return metric == Metric.COSINE ? 1 : Math.max(Math.abs(v), 1e-3);
    }
}
