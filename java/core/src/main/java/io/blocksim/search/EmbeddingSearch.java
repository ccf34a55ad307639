package io.blocksim.search;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.InvalidArgumentException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.PriorityQueue;

/**
 * The seed's embeddings search: each string's vector is the concatenation over its L positions of
 * {@code tok_emb[s_t] + pos_emb[t]}, compared with a query string's. Nothing is stored: with the
 * table {@code e[t][token]} (L x V vectors) every dot product and norm is a sum over positions of
 * per-position table entries, so the scores are exact (double) from V x V tables per position.
 * L2 sums per-position squared distances {@code |e[t][a] - e[t][b]|^2}, each computed from the
 * difference (never {@code |x|^2 + |q|^2 - 2 x.q}, which cancels to noise for strings that differ
 * little against large norms), so every term is non-negative and a string equal to the query at
 * every position is at exactly 0. Thread safe once built (read-only tables).
 */
public final class EmbeddingSearch {
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private final int length;
    private final int vocab;
    private final double[][][] dots; // [t][a][b] = e[t][a] . e[t][b]
    private final double[][][] d2;   // [t][a][b] = |e[t][a] - e[t][b]|^2, from the differences

    /** {@code table[t][token]} is the embedding (token + position) at position t. */
    public EmbeddingSearch(float[][][] table) {
        this.length = table.length;
        this.vocab = table[0].length;
        this.dots = new double[length][vocab][vocab];
        this.d2 = new double[length][vocab][vocab];
        for (int t = 0; t < length; t++) {
            for (int a = 0; a < vocab; a++) {
                for (int b = a; b < vocab; b++) {
                    double s = 0;
                    double d = 0;
                    for (int i = 0; i < table[t][a].length; i++) {
                        s += (double) table[t][a][i] * table[t][b][i];
                        double diff = (double) table[t][a][i] - table[t][b][i];
                        d += diff * diff;
                    }
                    dots[t][a][b] = s;
                    dots[t][b][a] = s;
                    d2[t][a][b] = d;
                    d2[t][b][a] = d;
                }
            }
        }
    }

    /**
     * Top-k of {@code rows} strings (uint8 token ids, [rows, L] in {@code strings}) for each query
     * (token ids of length L), best first, ties to the lower row.
     *
     * @throws InvalidArgumentException for k outside 1..rows, or a query of another length than L
     */
    public SearchResult search(MemorySegment strings, int rows, byte[][] queries, int k, Metric metric) {
        if (k < 1 || k > rows) {
            throw new InvalidArgumentException("k = " + k + " is outside 1.." + rows);
        }
        int[][] ids = new int[queries.length][];
        float[][] scores = new float[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            byte[] qt = queries[q];
            if (qt.length != length) {
                throw new InvalidArgumentException("embeddings search compares whole strings: the prompt must have " + length
                        + " characters, not " + qt.length);
            }
            double qq = 0;  // |q|^2, for cosine (L2 sums per-position differences instead)
            for (int t = 0; metric == Metric.COSINE && t < length; t++) {
                qq += dots[t][qt[t] & 0xff][qt[t] & 0xff];
            }
            final double qNorm = Math.sqrt(qq);
            // worst of the kept k on top; a candidate enters when it is better than that
            PriorityQueue<double[]> heap = new PriorityQueue<>(k + 1, (x, y) ->
                    x[0] != y[0] ? (metric.largerIsBetter() ? Double.compare(x[0], y[0]) : Double.compare(y[0], x[0]))
                            : Double.compare(y[1], x[1]));
            long base = 0;
            for (int r = 0; r < rows; r++, base += length) {
                double score;
                if (metric == Metric.COSINE) {  // clamped like every cosine (CanonicalScores)
                    double xq = 0;
                    double xx = 0;
                    for (int t = 0; t < length; t++) {
                        int a = strings.get(U8, base + t) & 0xff;
                        xq += dots[t][a][qt[t] & 0xff];
                        xx += dots[t][a][a];
                    }
                    score = Math.clamp(xq / (Math.max(Math.sqrt(xx), Metric.NORM_EPS) * Math.max(qNorm, Metric.NORM_EPS)),
                            -1.0, 1.0);
                } else {
                    double dd = 0;
                    for (int t = 0; t < length; t++) {
                        dd += d2[t][strings.get(U8, base + t) & 0xff][qt[t] & 0xff];
                    }
                    score = Math.sqrt(dd);
                }
                score = (float) score;
                if (heap.size() < k) {
                    heap.add(new double[] {score, r});
                } else {
                    double[] worst = heap.peek();
                    boolean better = metric.largerIsBetter() ? score > worst[0] : score < worst[0];
                    if (better) {
                        heap.poll();
                        heap.add(new double[] {score, r});
                    }
                }
            }
            ids[q] = new int[k];
            scores[q] = new float[k];
            for (int i = k - 1; i >= 0; i--) {
                double[] e = heap.poll();
                ids[q][i] = (int) e[1];
                scores[q][i] = (float) e[0];
            }
        }
        return new SearchResult(metric, k, ids, scores);
    }
}
