package io.blocksim.api;

import io.blocksim.Metric;
import java.util.List;

/**
 * The answer to one {@link SearchRequest}: per query its hits, best first (ties to the lower row).
 *
 * @param backend the backend that ran the search ("cpu", "cuda")
 * @param note one line when the request was handed from the chosen backend to another (null otherwise)
 * @param candidates the rows searched (strings, or prefixes at an earlier position)
 * @param elapsedMs the search's wall time in milliseconds (not counting prompt encoding)
 * @param scan what the search read: "float32" (every row's floats) or "codes" (the compressed scan:
 *     every row's codes, then the floats of the rows it could not exclude)
 * @param rescored per query, the rows the compressed scan re-scored from the floats (empty for a
 *     float32 scan)
 */
public record SearchResponse(String backend, String note, Metric metric, int k, int candidates,
        List<QueryHits> queries, double elapsedMs, String scan, List<Integer> rescored) {
    public SearchResponse {
        queries = List.copyOf(queries);
        scan = scan == null ? "float32" : scan;
        rescored = rescored == null ? List.of() : List.copyOf(rescored);
    }

    /** A response of a float32 scan. */
    public SearchResponse(String backend, String note, Metric metric, int k, int candidates, List<QueryHits> queries,
            double elapsedMs) {
        this(backend, note, metric, k, candidates, queries, elapsedMs, "float32", List.of());
    }

    /** Rows re-scored from the floats over all queries (0 for a float32 scan). */
    public long rescoredTotal() {
        long n = 0;
        for (int r : rescored) {
            n += r;
        }
        return n;
    }

    /** One query: its prompt (null for a query given as a vector), its index in the request, and its hits. */
    public record QueryHits(String prompt, int index, List<Hit> hits) {
        public QueryHits {
            hits = List.copyOf(hits);
        }
    }
}
