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
     * Per query {@code |q|^2} and {@code |q|} of the raw query, summed in double in index order
     * (what the code scan's L2 bound takes: {@code qstats} in kernels/README.md), {@code [2q]} and
     * {@code [2q + 1]}.
     */
    public static double[] stats(float[][] queries) {
        double[] out = new double[2 * queries.length];
        for (int q = 0; q < queries.length; q++) {
            double ss = 0;
            for (float f : queries[q]) {
                ss += (double) f * f;
            }
            out[2 * q] = ss;
            out[2 * q + 1] = Math.sqrt(ss);
        }
        return out;
    }

    /**
     * The reported top-k of one query: the device's m candidate rows rescored on the host by
     * {@link CanonicalScores} (the CPU backend's routine: double, one fixed order, cosine clamped)
     * and ranked by those scores, ties to the lower row, so a pair scores the same on both backends
     * and in any batch.
     *
     * <p>The protocol that makes the rows exact. The kernels rank by float32 keys (cosine score,
     * or {@code -(squared L2 distance)}) that differ from the canonical scores by rounding, so a
     * row just below the device's k-th key may still tie or beat the canonical k-th. The backend
     * therefore asks for {@code m = min(k + max(16, k), 1024, rows)} rows by key
     * ({@link BoundaryCheck#candidates}) and uses them only when {@link BoundaryCheck#certain}:
     * every row was returned, or the m-th key is strictly below
     * {@link CanonicalScores#lowestKeyInTopK} of the k-th key T. Why that suffices: T is the k-th
     * best key over all rows (the device's m best contain its k best), so by {@code Slack}'s
     * argument, which holds for any float summation order, every row of the canonical top-k has a
     * key at least that bound; the rows not returned have keys at most the m-th (an equal key goes
     * to the lower row first), so with the m-th strictly below the bound every such row is among
     * the m. Otherwise (many rows tied near the k-th: a zero query, exact duplicates) the query is
     * answered by the CPU backend instead.
     *
     * @param candidates the m rows the device returned (any order; at least k distinct)
     * @param outRows receives the k rows, best first
     * @param outScores receives their canonical scores
     * @throws io.blocksim.InvalidDataException when an L2 distance exceeds float32's range
     */
    public static void finish(VectorSet data, float[] query, int queryIndex, Metric metric, int k, int[] candidates,
            int[] outRows, float[] outScores) {
        CanonicalScores.topK(data, query, queryIndex, metric, k, candidates, outRows, outScores);
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
