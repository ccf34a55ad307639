package io.blocksim.cli;

import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.model.ModelDevice;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.Site;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.Target;
import io.blocksim.model.TransformerModel;
import io.blocksim.text.Corpus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code blocksim extract}. Public and open only so that the Spark module's {@code blocksim spark extract}
 * inherits its options and output and overrides where the work runs ({@link #shardRunner}).
 * Not thread-safe: picocli makes one per run.
 */
@Command(name = "extract", mixinStandardHelpOptions = true,
        description = {"Run the model over every unique substring of the corpus and store the chosen intermediates.",
            "",
            "With no --sites/--blocks/--positions it stores what the demo needs: block_output, proj_output and"
                + " ffwd_output of every block at the last position, and ffwd_output of the last block at position L-2. At an earlier position"
                + " only the unique prefixes are stored (the model is causal). Kill it at any moment and run the same"
                + " command again: it continues from the last complete shard."})
public class ExtractCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "STORE", description = "The store folder (created or resumed).")
    Path out;

    @Option(names = "--slen", defaultValue = "10", description = "String length L (default: ${DEFAULT-VALUE}).")
    int slen;

    @Option(names = "--sites", split = ",", paramLabel = "SITE",
            description = "Sites to store: embedding, heads_output, proj_output, ffwd_output, block_output.")
    List<String> sites;

    @Option(names = "--blocks", paramLabel = "RANGE", description = "Blocks, e.g. 0-5 or 0,5 (default: all).")
    String blocks;

    @Option(names = "--positions", paramLabel = "last|all|LIST",
            description = "Positions: last, all, or a list like 8,9 (negative counts from the end; default: last).")
    String positions;

    @Option(names = "--batch", defaultValue = "1024", description = "Rows per model run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--shard-rows", defaultValue = "131072",
            description = "Strings per shard, the unit of resuming (default: ${DEFAULT-VALUE}).")
    int shardRows;

    @Option(names = "--threads", description = "Threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda",
            description = "ONNX Runtime execution provider (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N", description = "Only the first N strings (0: all).")
    int limit;

    @Option(names = "--force", description = "Start over if STORE holds another model's, corpus's or length's store.")
    boolean force;

    @Option(names = "--dataset", paramLabel = "PATH", description = "Corpus text (default: $BLOCKSIM_DATASET or the downloaded TinyShakespeare).")
    Path dataset;

    @Option(names = "--model", paramLabel = "MODEL.onnx", description = "Model (default: the shipped model).")
    Path model;

    /** {@code --device} as given. */
    protected final String device() {
        return device;
    }

    /** {@code --threads} as given; null for the default. */
    protected final Integer threads() {
        return threads;
    }

    @Override
    public Integer call() {
        ModelDevice dev = ModelDevice.parse(device);
        Corpus corpus = Datasets.corpus(dataset);
        PrefixExtractor.Options options = PrefixExtractor.Options.defaults().withBatchRows(batch);
        if (threads != null) {
            options = options.withThreads(threads);
        }
        Path file = model != null ? model : TransformerModel.defaultModelPath();
        try (TransformerModel tm = openModel(file, options.threads(), dev)) {
            if (slen < 1 || slen > tm.spec().blockSize()) {
                throw CliError.usage("--slen " + slen + " is outside 1.." + tm.spec().blockSize() + " (the model's context)");
            }
            if (dev != ModelDevice.CPU) {
                System.err.println("blocksim: extraction runs on " + tm.deviceChoice().reason());
            }
            List<Target> targets = targets(tm.spec().nLayer(), slen);
            StoreExtraction.Summary s = run(tm, corpus, targets, options);
            System.err.printf(Locale.ROOT, "blocksim: extracted %,d strings x %d sites into %s in %.1f s (%s%s)%n",
                    s.strings(), targets.size(), s.store(), s.seconds(), s.engine(),
                    s.shardsResumed() > 0 ? "; resumed at shard " + s.shardsResumed() + " of " + s.shards() : "");
        }
        return 0;
    }

    /** The model on {@code dev}; CUDA asked for and not usable is refused naming {@code --device cpu}. */
    private static TransformerModel openModel(Path file, int threads, ModelDevice dev) {
        try {
            return TransformerModel.open(file, threads, dev);
        } catch (DeviceException | InvalidArgumentException e) {
            // threads >= 1 holds (the extractor options checked it): this is --device cuda refused
            throw CliError.withHint(e, "--device cpu");
        }
    }

    /**
     * Who computes the shards: this process ({@link StoreExtraction#local}); another command (the
     * Spark module's) hands them to other machines. Called once, after the options are checked.
     */
    protected StoreExtraction.ShardRunner shardRunner(TransformerModel tm, PrefixExtractor.Options options) {
        return StoreExtraction.local(tm, options);
    }

    private StoreExtraction.Summary run(TransformerModel tm, Corpus corpus, List<Target> targets,
            PrefixExtractor.Options options) {
        long expected = limit > 0 ? limit : 0;
        StoreExtraction.ShardRunner runner = shardRunner(tm, options);
        try (ProgressBar bar = Progress.count("extract", expected > 0 ? expected : -1, " strings")) {
            return StoreExtraction.run(tm, corpus, slen, limit, List.of(), targets, shardRows, out, force,
                    n -> bar.stepBy(n), line -> System.err.println("blocksim: " + line), runner);
        } catch (StoreIncompatibleException | StoreDamagedException | StoreNotFoundException e) {
            // a store at --out that cannot be resumed: the library says why, --force starts it over
            throw CliError.withHint(e, "--force");
        }
    }

    List<Target> targets(int nLayer, int l) {
        if (sites == null && blocks == null && positions == null) {
            return StoreExtraction.demoTargets(nLayer, l);
        }
        List<Site> siteList = new ArrayList<>();
        for (String s : sites != null ? sites : List.of("proj_output", "ffwd_output")) {
            Site site = Site.parse(s);
            if (site == Site.BLOCK_INPUT) {
                throw CliError.usage("block_input is not stored: it is embedding (block 0) or block_output of the block before");
            }
            siteList.add(site);
        }
        TreeSet<Integer> blockSet = parseList(blocks == null ? "0-" + (nLayer - 1) : blocks, "--blocks", nLayer);
        TreeSet<Integer> posSet = new TreeSet<>();
        String p = positions == null ? "last" : positions.trim().toLowerCase(Locale.ROOT);
        if (p.equals("last")) {
            posSet.add(l - 1);
        } else if (p.equals("all")) {
            for (int t = 0; t < l; t++) {
                posSet.add(t);
            }
        } else {
            for (String part : p.split(",")) {
                int t = parseInt(part.trim(), "--positions");
                int r = t < 0 ? l + t : t;
                if (r < 0 || r >= l) {
                    throw CliError.usage("--positions " + t + " is outside 0.." + (l - 1) + " for --slen " + l);
                }
                posSet.add(r);
            }
        }
        List<Target> out = new ArrayList<>();
        for (Site s : siteList) {
            if (s == Site.EMBEDDING) {
                posSet.forEach(t -> out.add(new Target(s, 0, t)));
                continue;
            }
            for (int b : blockSet) {
                posSet.forEach(t -> out.add(new Target(s, b, t)));
            }
        }
        return out;
    }

    static TreeSet<Integer> parseList(String spec, String option, int n) {
        TreeSet<Integer> out = new TreeSet<>();
        for (String part : spec.split(",")) {
            String[] range = part.trim().split("-", 2);
            int a = parseInt(range[0].trim(), option);
            int b = range.length == 2 ? parseInt(range[1].trim(), option) : a;
            if (a < 0 || b >= n || a > b) {
                throw CliError.usage(option + " " + part.trim() + " is outside 0.." + (n - 1));
            }
            for (int i = a; i <= b; i++) {
                out.add(i);
            }
        }
        return out;
    }

    static int parseInt(String s, String option) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw CliError.usage(option + ": '" + s + "' is not a number");
        }
    }
}
