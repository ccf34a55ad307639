package io.blocksim.search;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A search answer ready to show: for each query its label and its hits, best first, plus which
 * backend ran it and how long it took.
 */
public record LabeledResult(String backend, Metric metric, int k, List<QueryHits> queries, double elapsedMs) {

    /** One query: its prompt (null for a query given as a vector), its index, and its hits. */
    public record QueryHits(String prompt, int index, List<Hit> results) {
    }

    /** {@code prompts} names each query's prompt, or is null when the queries were given as vectors. */
    public static LabeledResult of(String backend, SearchResult r, List<String> prompts,
            IntFunction<String> rowLabel, double elapsedMs) {
        List<QueryHits> qs = new ArrayList<>(r.queries());
        for (int q = 0; q < r.queries(); q++) {
            List<Hit> hits = new ArrayList<>(r.rows()[q].length);
            for (int i = 0; i < r.rows()[q].length; i++) {
                int row = r.rows()[q][i];
                hits.add(new Hit(row, rowLabel.apply(row), r.scores()[q][i]));
            }
            qs.add(new QueryHits(prompts == null ? null : prompts.get(q), q, List.copyOf(hits)));
        }
        return new LabeledResult(backend, r.metric(), r.k(), List.copyOf(qs), elapsedMs);
    }
}
