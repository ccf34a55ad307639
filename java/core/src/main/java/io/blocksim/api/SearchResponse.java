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
 */
public record SearchResponse(String backend, String note, Metric metric, int k, int candidates,
        List<QueryHits> queries, double elapsedMs) {
    public SearchResponse {
        queries = List.copyOf(queries);
    }

    /** One query: its prompt (null for a query given as a vector), its index in the request, and its hits. */
    public record QueryHits(String prompt, int index, List<Hit> hits) {
        public QueryHits {
            hits = List.copyOf(hits);
        }
    }
}
