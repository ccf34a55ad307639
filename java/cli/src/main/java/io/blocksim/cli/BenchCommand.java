package io.blocksim.cli;

import io.blocksim.bench.ExtractBench;
import io.blocksim.bench.SearchBench;
import io.blocksim.bench.SimilarsBench;
import io.blocksim.model.ExtractionPlan;
import io.blocksim.model.ModelDevice;
import io.blocksim.search.Backends;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
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
        description = "Measure search, extraction or similar-strings speed (medians over repeats, next to a baseline in the same run).",
        subcommands = {BenchCommand.Search.class, BenchCommand.Extract.class, BenchCommand.Similars.class})
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

        @Option(names = "--scan", split = ",", defaultValue = "auto", paramLabel = "auto|codes|float32",
                description = "What the searches read, one row each, side by side: auto, codes (the compressed scan, on a"
                    + " store with codes), float32; e.g. --scan codes,float32. A row shows the scan that ran (auto's"
                    + " choice), and for the codes the rows re-scored per query (median/max); the first lines say"
                    + " which kernels the compressed scan runs (default: ${DEFAULT-VALUE}).")
        List<String> scans;

        @Override
        public Integer call() throws Exception {
            List<ScanMode> scanModes = new ArrayList<>();
            scans.forEach(x -> scanModes.add(ScanMode.parse(x)));
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
                if (backend instanceof io.blocksim.search.CpuSearchBackend cpu) {
                    System.err.println("blocksim: compressed scan kernels: " + cpu.codesKernel());
                }
                if (store != null) {
                    try (Store s = Store.open(store)) {
                        o = o.withData(s.vectors(site, block, position), store + " " + site + " block " + block).withK(k);
                        print(SearchBench.run(o, List.of(backend), scanModes, System.err));
                    }
                } else {
                    o = o.withSynthetic(rows, dim, seed).withK(k);
                    print(SearchBench.run(o, List.of(backend), scanModes, System.err));
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

    @Command(name = "similars", mixinStandardHelpOptions = true,
            description = {"Time the similar-strings job (the library call SimilarStrings.run, cpu backend, in its query"
                + " batches) per entry and over all entries, as GFLOP/s (2 x queries x candidates x dim) and as a share of"
                + " this machine's float32 GEMM rate (the CPU kernels' tile with its operands in cache, measured before and"
                + " after the job). --peers also runs two torch baselines on the same store and the same sampled strings"
                + " (tools/bench/similars_peers.py, Debian's python3-torch): the seed's way (candidate batches of 10,000"
                + " rows, cdist / cosine_similarity, topk per batch merged across batches) and topk(Q @ X.T) per tile of"
                + " candidate rows; they run on the first --peer-samples strings (the seed's cosine on"
                + " --seed-cosine-samples) and are compared per query and entry.",
                "",
                "Example: blocksim bench similars --store STORE --samples 20000 --metric both --peers --json similars.json"})
    static final class Similars implements Callable<Integer> {
        @Option(names = "--store", paramLabel = "STORE", description = "The store (required).")
        Path store;

        @Option(names = "--samples", defaultValue = "20000", paramLabel = "N",
                description = "Sampled strings for the job (default: ${DEFAULT-VALUE}).")
        int samples;

        @Option(names = "--seed", defaultValue = "42", description = "Seed of the sample (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--sites", defaultValue = "proj_output,ffwd_output", paramLabel = "SITE,...",
                description = "Candidate sites, 'embedding' included if wanted (default: ${DEFAULT-VALUE}).")
        String sites;

        @Option(names = "--blocks", defaultValue = "0-5", paramLabel = "B",
                description = "Blocks: 0-5, 0,2,4 (default: ${DEFAULT-VALUE}).")
        String blocks;

        @Option(names = {"-k", "--k"}, defaultValue = "10", description = "Neighbours per string (default: ${DEFAULT-VALUE}).")
        int k;

        @Option(names = "--metric", defaultValue = "both", paramLabel = "l2|cosine|both",
                description = "Metric (default: ${DEFAULT-VALUE}).")
        String metric;

        @Option(names = "--repeats", defaultValue = "1",
                description = "Timed runs of the whole job per metric; entries report medians (default: ${DEFAULT-VALUE}).")
        int repeats;

        @Option(names = "--warmups", defaultValue = "1",
                description = "Untimed query batches on the first entry before each metric (default: ${DEFAULT-VALUE}).")
        int warmups;

        @Option(names = "--query-batch", defaultValue = "512", paramLabel = "Q",
                description = "The job's sampled strings per backend call (default: ${DEFAULT-VALUE}).")
        int queryBatch;

        @Option(names = "--threads", paramLabel = "N", description = "Threads (default: all cores).")
        Integer threads;

        @Option(names = "--peers", description = "Also run the torch baselines (tools/bench/similars_peers.py).")
        boolean peers;

        @Option(names = "--peer-samples", defaultValue = "512", paramLabel = "N",
                description = "Strings for the torch tile baseline and the seed's L2 (default: ${DEFAULT-VALUE}).")
        int peerSamples;

        @Option(names = "--seed-cosine-samples", defaultValue = "16", paramLabel = "N",
                description = "Strings for the seed's cosine, the slowest by far (default: ${DEFAULT-VALUE}).")
        int seedCosineSamples;

        @Option(names = "--gemm-seconds", defaultValue = "1", paramLabel = "S",
                description = "Length of each GEMM-rate round; three rounds before and three after (default: ${DEFAULT-VALUE}).")
        double gemmSeconds;

        @Option(names = "--json", paramLabel = "out.json", description = "Also write the records as JSON lines to this file.")
        Path json;

        @Override
        public Integer call() throws Exception {
            if (store == null) {
                throw CliError.usage("bench similars needs --store STORE");
            }
            List<Metric> ms = switch (metric.toLowerCase(java.util.Locale.ROOT)) {
                case "both" -> List.of(Metric.L2, Metric.COSINE);
                default -> List.of(Metric.parse(metric));
            };
            if (gemmSeconds <= 0) {
                throw CliError.usage("--gemm-seconds must be above 0");
            }
            SimilarsBench.Options d = SimilarsBench.Options.defaults(store);
            SimilarsBench.Options o = new SimilarsBench.Options(store, samples, seed,
                    SimilarsCommand.splitList(sites, "--sites"), SimilarsCommand.ranges(blocks), k, ms, repeats, warmups,
                    queryBatch, threads != null ? threads : d.threads(), peers, peerSamples, seedCosineSamples, d.python(),
                    null, Math.max(1, Math.round(gemmSeconds * 1000)));
            SimilarsBench.Report report = SimilarsBench.run(o, System.err);
            System.out.print(report.table());
            if (json != null) {
                Files.writeString(json, report.jsonLines());
                System.err.println("blocksim: wrote " + json);
            }
            return 0;
        }
    }
}
