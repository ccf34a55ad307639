package io.blocksim.cuda;

import io.blocksim.search.CanonicalScores;
import io.blocksim.search.SearchRules;
import io.blocksim.spi.VectorSet;
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
     * The reported scores: the device's k rows of one query rescored on the host by
     * {@link CanonicalScores} (the CPU backend's routine: double, one fixed order, cosine clamped)
     * and ranked by those scores, ties to the lower row, so a pair scores the same on both backends
     * and in any batch. The rows themselves are the device's top-k by its float keys: unlike the
     * CPU backend, which keeps every row within a proven slack of the k-th key, a row whose
     * canonical score ties or beats the k-th within float rounding may still be left out here
     * (fetching k plus a slack from the kernels would close that; not done without a GPU to test).
     *
     * @throws io.blocksim.InvalidDataException when an L2 distance exceeds float32's range
     */
    public static void finish(VectorSet data, float[] query, int queryIndex, Metric metric, int k, int[] rows,
            float[] scores) {
        CanonicalScores.topK(data, query, queryIndex, metric, k, rows, rows, scores);
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
