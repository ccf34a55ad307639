package io.blocksim.bench;

import io.blocksim.Metric;

import java.util.Arrays;

/**
 * A developer's runner for {@link SearchBench} (not a test): until the CLI has {@code bench search}.
 * Arguments as key=value: rows, dim, queries=1,2,8, k, metrics=cosine,l2, repeats, warmups, threads,
 * peers=true.
 */
public final class SearchBenchRunner {
    public static void main(String[] args) {
        SearchBench.Options o = SearchBench.Options.defaults();
        int rows = o.rows();
        int dim = o.dim();
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "rows" -> rows = Integer.parseInt(kv[1]);
                case "dim" -> dim = Integer.parseInt(kv[1]);
                case "queries" -> o = o.withQueries(Arrays.stream(kv[1].split(",")).map(Integer::valueOf).toList());
                case "k" -> o = o.withK(Integer.parseInt(kv[1]));
                case "metrics" -> o = o.withMetrics(Arrays.stream(kv[1].split(",")).map(Metric::parse).toList());
                case "repeats" -> o = o.withRepeats(Integer.parseInt(kv[1]), o.warmups());
                case "warmups" -> o = o.withRepeats(o.repeats(), Integer.parseInt(kv[1]));
                case "threads" -> o = o.withThreads(Integer.parseInt(kv[1]));
                case "peers" -> o = o.withPeers(Boolean.parseBoolean(kv[1]), o.python(), null);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        o = o.withSynthetic(rows, dim, o.seed());
        SearchBench.Report r = SearchBench.run(o, System.err);
        System.out.print(r.jsonLines());
        System.out.print(r.table());
    }

    private SearchBenchRunner() {
    }

}
