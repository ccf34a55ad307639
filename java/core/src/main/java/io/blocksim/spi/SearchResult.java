package io.blocksim.spi;

import io.blocksim.Metric;

/**
 * Top-k answers for Q queries: {@code rows[q][i]} and {@code scores[q][i]} are the i-th best row
 * for query q and its score (cosine similarity or L2 distance), best first, ties to the lower row.
 * {@code backend} names the backend that ran the search (null until a caller that knows sets it
 * with {@link #ranOn}); {@code note} says, in one line, when a request was handed from the chosen
 * backend to another (null otherwise). The arrays are not copied: treat them as read-only.
 */
public record SearchResult(Metric metric, int k, int[][] rows, float[][] scores, String backend, String note) {
    /** A result whose backend is not yet named. */
    public SearchResult(Metric metric, int k, int[][] rows, float[][] scores) {
        this(metric, k, rows, scores, null, null);
    }

    public int queries() {
        return rows.length;
    }

    /** This result, saying it ran on {@code backend} (and why there, when {@code note} is not null). */
    public SearchResult ranOn(String backend, String note) {
        return new SearchResult(metric, k, rows, scores, backend, note);
    }
}
