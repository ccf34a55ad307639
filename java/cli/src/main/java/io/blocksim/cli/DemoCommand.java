package io.blocksim.cli;

import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.StoreException;
import io.blocksim.demo.Demo;
import io.blocksim.demo.DemoResults;
import io.blocksim.demo.NormChart;
import io.blocksim.demo.ReportWriter;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.Target;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.Searcher;
import io.blocksim.api.Timings;
import io.blocksim.model.OnnxModelProvider;
import io.blocksim.model.TransformerModel;
import io.blocksim.search.Backends;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import io.blocksim.text.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Reproduce the research notebook on the shipped model (the main job).", "",
            "Prints the norm tables, then the cosine searches for 'my most gr' and 'is dreams,' (proj_output"
            + " and ffwd_output, blocks 0 and 5, position 8, embeddings) and the L2 comparison. Builds the store"
            + " it needs on first run (about 5 minutes on 2 cores) and reuses it after. Then writes a report"
            + " folder: report.md (the tables), norms.png (the norm chart) and results.json (every table's data)."})
final class DemoCommand implements Callable<Integer> {
    static final int QUICK_STRINGS = 100_000;
    /** The report's folder inside the store folder unless --report says otherwise. */
    static final String REPORT_FOLDER = "report";

    @Option(names = "--store", paramLabel = "DIR", description = "Store folder (default: a per-user data folder).")
    Path store;

    @Option(names = "--dataset", paramLabel = "PATH", description = "Corpus (default: $BLOCKSIM_DATASET or the downloaded TinyShakespeare).")
    Path dataset;

    @Option(names = "--quick", description = "Use only the first 100,000 strings and the prompts (a fast look; said in every heading).")
    boolean quick;

    @Option(names = {"-k", "--k"}, defaultValue = "10", description = "Results per prompt (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda", description = "Search backend (default: ${DEFAULT-VALUE}).")
    String device;

    @ArgGroup(exclusive = true)
    ReportChoice report;

    static final class ReportChoice {
        @Option(names = "--report", paramLabel = "DIR", description = "Report folder (default: report/ in the store folder);"
                + " replaced if it holds only an earlier report.")
        Path dir;

        @Option(names = "--no-report", description = "Print the tables only; write no report.")
        boolean none;
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        if (writeReport()) {
            // overlaps AWT's start-up with the model's; the chart is drawn after the tables
            NormChart.warmUpInBackground();
        }
        DemoResults results;
        Path dir;
        Timings.Mark opening = Timings.phase("open model");
        try (TransformerModel tm = TransformerModel.openDefault()) {
            opening.close();
            int l = 10;
            dir = store != null ? store : defaultStore(tm.spec().modelSha256(), quick);
            if (writeReport()) {
                try {
                    ReportWriter.checkReplaceable(reportDir(dir)); // before minutes of work, not after
                } catch (BlocksimException e) {
                    throw reportError(e);
                }
            }
            double extractSeconds;
            try (Timings.Mark t = Timings.phase("check or build the store")) {
                extractSeconds = ensureStore(tm, dir, l);
            }
            try (BlocksimStore s = BlocksimStore.open(dir);
                    Searcher searcher = Devices.searcher(s, device, OnnxModelProvider.encoder(tm))) {
                results = new Demo(tm.path().getFileName().toString(), s, searcher, Demo.PROMPTS, k).run(quick,
                        searcher.backendReason(), extractSeconds > 0 ? extractSeconds : null, t0, System.out::print);
            }
        }
        if (writeReport()) {
            // after the tables: the chart's AWT start-up never delays what the user reads first
            long r0 = System.nanoTime();
            Path out;
            try (Timings.Mark t = Timings.phase("report (chart, Markdown, JSON)")) {
                out = ReportWriter.write(results, reportDir(dir));
            } catch (BlocksimException e) {
                throw reportError(e);
            }
            System.out.printf(Locale.ROOT, "report: %s (%s, %s, %s; %.1f s)%n", out.resolve(ReportWriter.MARKDOWN),
                    ReportWriter.MARKDOWN, ReportWriter.CHART, ReportWriter.JSON, (System.nanoTime() - r0) / 1e9);
        }
        return 0;
    }

    /** A report the library cannot write: the flags that pick another folder or none. */
    private static CliError reportError(BlocksimException e) {
        return CliError.withHint(e, "--report DIR writes it elsewhere, --no-report writes none");
    }

    private boolean writeReport() {
        return report == null || !report.none;
    }

    private Path reportDir(Path storeDir) {
        return report != null && report.dir != null ? report.dir : storeDir.resolve(REPORT_FOLDER);
    }

    private double ensureStore(TransformerModel tm, Path dir, int l) {
        List<Target> targets = StoreExtraction.demoTargets(tm.spec().nLayer(), l);
        boolean rebuild = false;
        if (Files.isRegularFile(dir.resolve(Manifest.FILE))) {
            try (Store s = Store.open(dir)) {
                List<String> missing = missing(s, targets);
                if (missing.isEmpty()) {
                    return 0; // complete, readable and holding every table's entries
                }
                // a store from an earlier version (before block_output was stored): the writer cannot add
                // entries to a finished store, so the demo's own store is made again; a store the user
                // named is theirs and is not deleted
                String what = dir + " lacks " + String.join(", ", missing);
                if (store != null) {
                    throw CliError.usage("the demo's tables need " + String.join(", ", missing) + ", which "
                            + dir + " does not hold: give another --store (the demo builds it there) or none");
                }
                System.err.println("blocksim: the demo's store " + what + " (made by an earlier version); rebuilding it");
                rebuild = true;
            } catch (StoreException | FileAccessException e) {
                // incomplete, damaged or of another version: extracting resumes or says why it cannot
                System.err.println("blocksim: " + e.getMessage() + " — extracting");
            }
        }
        Corpus corpus = Datasets.corpus(dataset);
        System.err.println("blocksim: building the demo's store in " + dir + " (once; reused after)");
        try (ProgressBar bar = Progress.count("extract", quick ? QUICK_STRINGS : 858_923, " strings")) {
            // the quick store also holds the prompts, so its tables can show each prompt finding itself
            List<String> include = quick ? Demo.PROMPTS.stream().filter(p -> p.length() == l
                    && corpus.text().contains(p)).toList() : List.of();
            StoreExtraction.Summary sum = StoreExtraction.run(tm, corpus, l, quick ? QUICK_STRINGS : 0, include,
                    targets, 131_072, PrefixExtractor.Options.defaults(), dir, rebuild, bar::stepBy,
                    line -> System.err.println("blocksim: " + line));
            return sum.seconds();
        }
    }

    /** The demo's entries {@code s} does not hold, in words ("block_output blocks 0,1,2,3,4,5 at position 9"). */
    static List<String> missing(Store s, List<Target> targets) {
        java.util.Map<String, List<Integer>> bySite = new java.util.LinkedHashMap<>();
        for (Target t : targets) {
            boolean held = s.entries().stream().anyMatch(e -> e.site().equals(t.site().cliName()) && e.block() == t.block()
                    && e.position() == t.position());
            if (!held) {
                bySite.computeIfAbsent(t.site().cliName() + " at position " + t.position(), k -> new ArrayList<>())
                        .add(t.block());
            }
        }
        List<String> out = new ArrayList<>();
        bySite.forEach((k, blocks) -> out.add(k.replace(" at position ", (blocks.size() > 1 ? " blocks " : " block ")
                + blocks.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")) + " at position ")));
        return out;
    }

    static Path defaultStore(String modelSha, boolean quick) {
        String env = System.getenv("BLOCKSIM_DATA");
        Path base = env != null && !env.isBlank() ? Path.of(env) : dataHome();
        return base.resolve("store-" + modelSha.substring(0, 12) + "-slen10" + (quick ? "-quick" : ""));
    }

    private static Path dataHome() {
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("blocksim");
    }
}
