package io.blocksim.search;

import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The one routine that computes every score a search reports, and the order of the final top-k.
 * Whatever kernel, batch, thread count or backend found the candidates, a (row, query) pair gets
 * the score defined here, so it never depends on what else was in the batch.
 *
 * <p>The definition (one fixed summation order, in double, rounded once to float):
 * <ul>
 * <li>{@code |v| = sqrt(sum_{d = 0..dim-1} (double) v[d] * v[d])}, summed in index order;
 * <li>cosine: {@code dot = sum_{d = 0..dim-1} (double) x[d] * q[d]} in index order, then
 *     {@code dot / (max(|x|, 1e-8) * max(|q|, 1e-8))} in double, clamped to [-1, 1] and rounded to
 *     float. The query is the caller's raw query (not a normalized float copy), the row norm is
 *     computed here from the row's values (not read from a norms file);
 * <li>L2: {@code sqrt(sum_{d = 0..dim-1} ((double) x[d] - q[d])^2)} in index order, rounded to float.
 * </ul>
 * Every product of two float32 values is exact in double and no float32 input can overflow a
 * double sum of up to 2^20 such terms (at most 2^20 * (2 * 3.4e38)^2, about 5e83), so no
 * intermediate sum overflows. A reported L2 distance above float32's range (3.4e38) cannot be
 * represented: the search then fails with an {@link InvalidDataException} that says so, never
 * printing Infinity. A float32 self match scores exactly 1.0 (the dot and both norms come from
 * the same double sum; the clamp holds it to 1 in any case).
 *
 * <p>Ranking: by this score (larger cosine, smaller distance first), equal scores to the lower
 * row, NaN last. The kernels only propose candidates, with a slack ({@link Slack}) that keeps
 * every row that could be in this top-k.
 *
 * <p>Thread safety: stateless.
 */
public final class CanonicalScores {
    private CanonicalScores() {
    }

    /** {@code |q|} in double, summed in index order (before the {@code 1e-8} floor). */
    public static double norm(float[] q) {
        double ss = 0;
        for (float f : q) {
            ss += (double) f * f;
        }
        return Math.sqrt(ss);
    }

    /**
     * The canonical cosine of the {@code dim} little-endian floats at byte {@code offset} of
     * {@code v} and the query {@code q}, whose norm {@link #norm} is {@code qNorm}.
     */
    public static float cosine(MemorySegment v, long offset, float[] q, double qNorm) {
        double dot = 0;
        double xx = 0;
        for (int d = 0; d < q.length; d++) {
            double x = v.get(Norms.LE_FLOAT, offset + (long) d * Float.BYTES);
            dot += x * q[d];
            xx += x * x;
        }
        double c = dot / (Math.max(Math.sqrt(xx), Metric.NORM_EPS) * Math.max(qNorm, Metric.NORM_EPS));
        return (float) Math.clamp(c, -1.0, 1.0);  // clamp passes NaN through
    }

    /** The canonical L2 distance (may be infinite when it exceeds float32's range). */
    public static float l2(MemorySegment v, long offset, float[] q) {
        double ss = 0;
        for (int d = 0; d < q.length; d++) {
            double e = (double) v.get(Norms.LE_FLOAT, offset + (long) d * Float.BYTES) - q[d];
            ss += e * e;
        }
        return (float) Math.sqrt(ss);
    }

    /**
     * The canonical score of global row {@code row} of {@code data} against {@code query} (whose
     * {@link #norm} is {@code qNorm}; unused for L2).
     */
    public static float score(VectorSet data, int row, float[] query, double qNorm, Metric metric) {
        VectorShard s = shardOf(data, row);
        long off = (long) (row - s.firstRow()) * data.dim() * Float.BYTES;
        return metric == Metric.COSINE ? cosine(s.vectors(), off, query, qNorm) : l2(s.vectors(), off, query);
    }

    /**
     * The canonical top-k of one query among {@code candidates} (global rows, in any order,
     * duplicates allowed; at least k distinct): rows into {@code outRows}, scores into
     * {@code outScores}. The caller guarantees that every row of the canonical top-k over the
     * whole set is among the candidates.
     *
     * @param queryIndex the query's place in its request, for the error message
     * @throws InvalidDataException when a chosen L2 distance exceeds float32's range
     */
    public static void topK(VectorSet data, float[] query, int queryIndex, Metric metric, int k, int[] candidates,
            int[] outRows, float[] outScores) {
        int[] rows = candidates.clone();
        Arrays.sort(rows);
        int n = 0;
        for (int i = 0; i < rows.length; i++) {
            if (n == 0 || rows[i] != rows[n - 1]) {
                rows[n++] = rows[i];
            }
        }
        if (n < k) {
            throw new IllegalStateException("only " + n + " candidates for k = " + k);
        }
        double qNorm = metric == Metric.COSINE ? norm(query) : 0;
        boolean larger = metric.largerIsBetter();
        long[] keyed = new long[n];
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            float s = score(data, rows[i], query, qNorm, metric);
            scores[i] = s;
            keyed[i] = TopK.pack(larger ? s : -s, i);  // best first, then lower row (rows are sorted)
        }
        Arrays.sort(keyed);
        for (int j = 0; j < k; j++) {
            int i = TopK.rowOf(keyed[j]);
            outRows[j] = rows[i];
            outScores[j] = scores[i] + 0.0f;  // -0.0 reported as 0.0
            if (metric == Metric.L2 && Float.isInfinite(scores[i])) {
                throw new InvalidDataException("the L2 distance from query " + queryIndex + " to row " + rows[i]
                        + " exceeds the float32 range (3.4e38) and cannot be reported; scale the vectors and"
                        + " the query down (every distance scales with them)");
            }
        }
    }

    /**
     * The lowest kernel key a row can have and still belong to the canonical top-k of a query,
     * given the k-th best kernel key over all rows of the set. A kernel key is what a float32
     * kernel ranks rows by, larger is better: for cosine the score {@code x . q' / |x|} with
     * {@code q'} the query normalized and rounded to float and {@code |x|} the stored float norm;
     * for L2 {@code -(squared distance)}, not the distance. The float sums may run in any order
     * (any accumulator split, fma or not): {@link Slack} proves the bound for every such kernel
     * against the canonical scores of this class, so every row of the canonical top-k has a kernel
     * key of at least the returned value. D = 384 cosine: about {@code kthKernelKey - 9.5e-5}.
     *
     * <p>A NaN k-th key gives NaN (no bound); the result is {@code -infinity} when no finite bound
     * holds (an L2 k-th key whose relaxed value overflows, or a dimension too large for the proof).
     * Stateless: any thread.
     *
     * @param dim the vectors' dimension (the length of each float sum)
     * @throws IllegalArgumentException when {@code dim < 1}
     */
    public static float lowestKeyInTopK(Metric metric, int dim, float kthKernelKey) {
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be at least 1, got " + dim);
        }
        return Slack.of(java.util.Objects.requireNonNull(metric, "metric"), dim).relax(kthKernelKey);
    }

    private static VectorShard shardOf(VectorSet data, int row) {
        var shards = data.shards();
        int lo = 0;
        int hi = shards.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (shards.get(mid).firstRow() <= row) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        VectorShard s = shards.get(lo);
        if (row < s.firstRow() || row >= s.firstRow() + s.rows()) {
            throw new IndexOutOfBoundsException("row " + row + " is not in the set");
        }
        return s;
    }
}
