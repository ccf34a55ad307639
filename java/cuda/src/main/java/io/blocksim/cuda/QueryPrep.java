package io.blocksim.cuda;

import io.blocksim.search.SearchRules;
import io.blocksim.Metric;

/** Host-side preparation of queries and finishing of results, as the kernels' contract asks. */
public final class QueryPrep {
    private QueryPrep() {
    }

    /**
     * The queries as the kernels take them, row-major {@code Q x D}: cosine {@code q / max(|q|, 1e-8)}
     * with {@code |q|} and the division in double, rounded once to float; L2 the raw values.
     */
    public static float[] prepare(float[][] queries, Metric metric) {
        int dim = queries[0].length;
        float[] out = new float[Math.multiplyExact(queries.length, dim)];
        for (int q = 0; q < queries.length; q++) {
            float[] v = queries[q];
            if (metric == Metric.L2) {
                System.arraycopy(v, 0, out, q * dim, dim);
                continue;
            }
            double ss = 0;
            for (float f : v) {
                ss += (double) f * f;
            }
            double norm = Math.max(Math.sqrt(ss), Metric.NORM_EPS);
            for (int d = 0; d < dim; d++) {
                out[q * dim + d] = (float) (v[d] / norm);
            }
        }
        return out;
    }

    /**
     * The kernels order L2 results by squared distance; two different squared distances can round
     * to the same reported distance, and then the lower row must still come first (as on the CPU).
     * Runs of equal distances are short: insertion sort.
     */
    public static void lowerRowFirstAmongEqual(int[] rows, float[] scores) {
        SearchRules.lowerRowFirstAmongEqual(rows, scores);
    }
}
