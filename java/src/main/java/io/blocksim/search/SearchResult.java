package io.blocksim.search;

/**
 * Top-k answers for Q queries: {@code rows[q][i]} and {@code scores[q][i]} are the i-th best row
 * for query q and its score (cosine similarity or L2 distance), best first, ties to the lower row.
 */
public record SearchResult(Metric metric, int k, int[][] rows, float[][] scores) {
    public int queries() {
        return rows.length;
    }
}
