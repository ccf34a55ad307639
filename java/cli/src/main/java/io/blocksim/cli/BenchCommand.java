package io.blocksim.cli;

import io.blocksim.bench.ExtractBench;
import io.blocksim.bench.SearchBench;
import io.blocksim.model.ExtractionPlan;
import io.blocksim.model.ModelDevice;
import io.blocksim.search.Backends;
import io.blocksim.Metric;
import io.blocksim.spi.SearchBackend;
import io.blocksim.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure search or extraction speed (medians over repeats, next to a baseline in the same run).",
        subcommands = {BenchCommand.Search.class, BenchCommand.Extract.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "search", mixinStandardHelpOptions = true,
            description = {"Time top-k search per query count and metric against the memory floor (one parallel pass"
                + " reading every byte of the same data). Default data: synthetic 858,923 x 384 float32, one site of the"
                + " real store. --peers also runs torch and faiss (Debian's python3-torch, python3-faiss) on the same shape.",
                "",
                "Example: blocksim bench search --queries 1,8,64 --metric cosine --peers --json search.json"})
    static final class Search implements Callable<Integer> {
        @Option(names = "--store", paramLabel = "STORE", description = "Benchmark a stored site instead of synthetic data.")
        Path store;

        @Option(names = "--site", paramLabel = "SITE", description = "The stored site (with --store).")
        String site;

        @Option(names = "--block", defaultValue = "0", description = "Block of the stored site (default: ${DEFAULT-VALUE}).")
        int block;

        @Option(names = "--position", defaultValue = "-1", description = "Position of the stored site (default: last).")
        int position;

        @Option(names = "--rows", defaultValue = "858923", description = "Synthetic rows (default: ${DEFAULT-VALUE}).")
        int rows;

        @Option(names = "--dim", defaultValue = "384", description = "Synthetic dimension (default: ${DEFAULT-VALUE}).")
        int dim;

        @Option(names = "--seed", defaultValue = "42", description = "Synthetic data seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--queries", split = ",", defaultValue = "1,2,8,64,512", description = "Query counts (default: ${DEFAULT-VALUE}).")
        List<Integer> queries;

        @Option(names = {"-k", "--k"}, defaultValue = "10", description = "k (default: ${DEFAULT-VALUE}).")
        int k;

        @Option(names = "--metric", split = ",", defaultValue = "cosine,l2", description = "Metrics (default: ${DEFAULT-VALUE}).")
        List<String> metrics;

        @Option(names = "--repeats", defaultValue = "5", description = "Timed repeats (default: ${DEFAULT-VALUE}).")
        int repeats;

        @Option(names = "--warmups", defaultValue = "2", description = "Untimed warm-up runs (default: ${DEFAULT-VALUE}).")
        int warmups;

        @Option(names = "--peers", description = "Also time torch and faiss through tools/bench/peers.py.")
        boolean peers;

        @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda|auto",
                description = "Backend: cpu, cuda, or auto (CUDA when usable, else cpu; the choice and why go to stderr) (default: ${DEFAULT-VALUE}).")
        String device;

        @Option(names = "--json", paramLabel = "out.json", description = "Also write the records as JSON lines to this file.")
        Path json;

        @Override
        public Integer call() throws Exception {
            List<Metric> ms = new ArrayList<>();
            metrics.forEach(m -> ms.add(Metric.parse(m)));
            SearchBench.Options o = SearchBench.Options.defaults().withQueries(queries).withMetrics(ms)
                    .withRepeats(repeats, warmups).withPeers(peers, "/usr/bin/python3", null);
            if (store != null && site == null) {
                throw CliError.usage("--store needs --site");
            }
            Backends.Choice choice = Devices.searchBackend(device);
            System.err.println("blocksim: search backend " + choice.reason());
            try (SearchBackend backend = choice.backend()) {
                if (store != null) {
                    try (Store s = Store.open(store)) {
                        o = o.withData(s.vectors(site, block, position), store + " " + site + " block " + block).withK(k);
                        print(SearchBench.run(o, List.of(backend), System.err));
                    }
                } else {
                    o = o.withSynthetic(rows, dim, seed).withK(k);
                    print(SearchBench.run(o, List.of(backend), System.err));
                }
            }
            return 0;
        }

        private void print(SearchBench.Report report) throws java.io.IOException {
            System.out.print(report.table());
            if (json != null) {
                Files.writeString(json, report.jsonLines());
                System.err.println("blocksim: wrote " + json);
            }
        }
    }

    @Command(name = "extract", mixinStandardHelpOptions = true,
            description = {"Time extraction with the demo's sites on the corpus's first strings: the step engine (each"
                + " distinct prefix once, key/value cache) and ONNX Runtime's full model over whole strings, medians over"
                + " repeats; --peers adds PyTorch eager on the same strings (Debian's python3-torch; with random weights when"
                + " the training checkpoint is absent, which takes the same time). Reports strings/s, tokens/s (positions"
                + " computed) and effective GFLOP/s (about 21.2 MFLOP per token).",
                "",
                "Example: blocksim bench extract --strings 50000 --full-strings 10000 --peers --json extract.json"})
    static final class Extract implements Callable<Integer> {
        @Option(names = "--strings", defaultValue = "50000", paramLabel = "N",
                description = "Strings for the step engine, 0 for all 858,923 (default: ${DEFAULT-VALUE}).")
        int strings;

        @Option(names = "--full-strings", defaultValue = "10000", paramLabel = "N",
                description = "Strings for the full model and PyTorch, 0 for all (default: ${DEFAULT-VALUE}).")
        int fullStrings;

        @Option(names = "--engines", split = ",", defaultValue = "step,full", paramLabel = "step,full",
                description = "Engines to time (default: ${DEFAULT-VALUE}).")
        List<String> engines;

        @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda|auto",
                description = "ONNX Runtime execution provider (default: ${DEFAULT-VALUE}; cuda needs a -Pcuda build).")
        String device;

        @Option(names = "--batch", paramLabel = "B", description = "Rows per model run (default: the engine's).")
        Integer batch;

        @Option(names = "--threads", paramLabel = "N", description = "Threads (default: all cores).")
        Integer threads;

        @Option(names = "--repeats", defaultValue = "3", description = "Timed repeats per engine (default: ${DEFAULT-VALUE}).")
        int repeats;

        @Option(names = "--order", defaultValue = "lex", paramLabel = "lex|first",
                description = "Step engine's unit order: lexicographic (most prefix sharing) or first occurrence (as a store"
                    + " is written); default: ${DEFAULT-VALUE}.")
        String order;

        @Option(names = "--peers", description = "Also time PyTorch eager (tools/bench/torch_extract.py) on the same strings.")
        boolean peers;

        @Option(names = "--dataset", paramLabel = "PATH", description = "Corpus (default: $BLOCKSIM_DATASET or the download).")
        Path dataset;

        @Option(names = "--json", paramLabel = "out.json", description = "Also write the records as JSON lines to this file.")
        Path json;

        @Override
        public Integer call() throws Exception {
            ExtractBench.Options d = ExtractBench.Options.defaults();
            var ex = d.extractor();
            if (threads != null) {
                ex = ex.withThreads(threads).withWorkers(Math.min(ex.workers(), threads));
            }
            if (batch != null) {
                ex = ex.withBatchRows(batch);
            }
            ExtractionPlan.Order o = switch (order.toLowerCase(java.util.Locale.ROOT)) {
                case "lex", "lexicographic" -> ExtractionPlan.Order.LEXICOGRAPHIC;
                case "first", "first-occurrence" -> ExtractionPlan.Order.FIRST_OCCURRENCE;
                default -> throw CliError.usage("--order " + order + ": use lex or first");
            };
            if (strings < 0 || fullStrings < 0) {
                throw CliError.usage("--strings and --full-strings must be 0 (all) or more");
            }
            if (repeats < 1) {
                throw CliError.usage("--repeats must be at least 1");
            }
            ExtractBench.Report report = ExtractBench.run(new ExtractBench.Options(strings, fullStrings, engines,
                    ModelDevice.parse(device), ex, d.unit(), o, repeats, dataset, null, peers, d.python(), null), System.err);
            System.out.print(report.table());
            if (json != null) {
                Files.writeString(json, report.jsonLines());
                System.err.println("blocksim: wrote " + json);
            }
            return 0;
        }
    }
}
