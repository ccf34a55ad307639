package io.blocksim.spi;

import io.blocksim.Metric;

/**
 * Top-k answers for Q queries: {@code rows[q][i]} and {@code scores[q][i]} are the i-th best row
 * for query q and its score (cosine similarity or L2 distance), best first, ties to the lower row.
 * {@code backend} names the backend that ran the search (null until a caller that knows sets it
 * with {@link #ranOn}); {@code note} says, in one line, when a request was handed from the chosen
 * backend to another (null otherwise). {@code scan} says what the search read: "float32" (every
 * row's floats) or "codes" (the compressed scan: every row's codes, then the floats of the rows it
 * could not exclude, {@code rescored[q]} of them for query q); null when the backend does not say
 * (it read the floats). {@code rescored} is null for a float32 scan. The arrays are not copied:
 * treat them as read-only.
 */
public record SearchResult(Metric metric, int k, int[][] rows, float[][] scores, String backend, String note,
        String scan, int[] rescored) {
    /** What {@link #scan} says for a search that read every row's floats. */
    public static final String SCAN_FLOAT32 = "float32";
    /** What {@link #scan} says for the compressed scan. */
    public static final String SCAN_CODES = "codes";

    /** A result whose backend is not yet named. */
    public SearchResult(Metric metric, int k, int[][] rows, float[][] scores) {
        this(metric, k, rows, scores, null, null, null, null);
    }

    /** A result of a float32 scan (or one that does not say). */
    public SearchResult(Metric metric, int k, int[][] rows, float[][] scores, String backend, String note) {
        this(metric, k, rows, scores, backend, note, null, null);
    }

    public int queries() {
        return rows.length;
    }

    /** This result, saying it ran on {@code backend} (and why there, when {@code note} is not null). */
    public SearchResult ranOn(String backend, String note) {
        return new SearchResult(metric, k, rows, scores, backend, note, scan, rescored);
    }

    /** {@link #scan}, or "float32" when the backend did not say. */
    public String scanOrFloat32() {
        return scan == null ? SCAN_FLOAT32 : scan;
    }

    /** Rows re-scored from the floats over all queries (0 for a float32 scan). */
    public long rescoredTotal() {
        long n = 0;
        if (rescored != null) {
            for (int r : rescored) {
                n += r;
            }
        }
        return n;
    }
}
