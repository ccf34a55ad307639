package io.blocksim.cli;

import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.Site;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.TransformerModel;
import io.blocksim.search.Backends;
import io.blocksim.search.EmbeddingSearch;
import io.blocksim.search.LabeledResult;
import io.blocksim.search.Metric;
import io.blocksim.search.NormStats;
import io.blocksim.search.SearchResult;
import io.blocksim.search.StoreSearch;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import io.blocksim.text.Corpus;
import io.blocksim.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Reproduce the research notebook on the shipped model: the norm tables, then the cosine",
            "searches for 'my most gr' and 'is dreams,' (proj_output and ffwd_output, blocks 0 and 5, position 8,",
            "embeddings) and the L2 comparison. Builds the store it needs on first run (about 5 minutes on 2 cores)",
            "and reuses it after."})
final class DemoCommand implements Callable<Integer> {
    static final List<String> PROMPTS = List.of("my most gr", "is dreams,");
    static final int QUICK_STRINGS = 100_000;

    @Option(names = "--store", paramLabel = "DIR", description = "Store folder (default: a per-user data folder).")
    Path store;

    @Option(names = "--dataset", paramLabel = "PATH", description = "Corpus (default: $BLOCKSIM_DATASET or the downloaded TinyShakespeare).")
    Path dataset;

    @Option(names = "--quick", description = "Use only the first 100,000 strings (a fast look; said in every heading).")
    boolean quick;

    @Option(names = {"-k", "--k"}, defaultValue = "10", description = "Results per prompt (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda", description = "Search backend (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        try (TransformerModel tm = TransformerModel.openDefault()) {
            int l = 10;
            Path dir = store != null ? store : defaultStore(tm.spec().modelSha256(), quick);
            double extractSeconds = ensureStore(tm, dir, l);
            String scope = quick ? " [quick: first " + String.format(Locale.ROOT, "%,d", QUICK_STRINGS) + " strings]" : "";
            Backends.Choice choice = Backends.open(device);
            try (Store s = Store.open(dir); var backend = choice.backend()) {
                System.out.println("# blocksim demo: cosine similarity of block intermediates" + scope);
                System.out.println("store " + dir + " (" + String.format(Locale.ROOT, "%,d", s.stringCount())
                        + " strings of length " + s.stringLength() + "), model " + tm.path().getFileName());
                System.out.println();
                for (String site : List.of("proj_output", "ffwd_output")) {
                    List<NormStats.Row> rows = NormStats.table(s, site, 10_000);
                    System.out.println("## Norms of " + site + " (last position, first 10,000 strings)" + scope);
                    System.out.print(NormsCommand.format(rows));
                    System.out.println(conclusion(site, rows));
                    System.out.println();
                }
                float[][] proj0 = tm.lastPositionVectors(PROMPTS, Site.PROJ_OUTPUT, 0);
                float[][] proj5 = tm.lastPositionVectors(PROMPTS, Site.PROJ_OUTPUT, 5);
                table(s, backend, "proj_output block 0 (cosine)", "proj_output", 0, -1, proj0, Metric.COSINE, scope);
                table(s, backend, "ffwd_output block 0, proj_output queries (cosine)", "ffwd_output", 0, -1, proj0, Metric.COSINE, scope);
                table(s, backend, "proj_output block 5 (cosine)", "proj_output", 5, -1, proj5, Metric.COSINE, scope);
                table(s, backend, "ffwd_output block 5, proj_output queries (cosine)", "ffwd_output", 5, -1, proj5, Metric.COSINE, scope);
                table(s, backend, "ffwd_output block 5 at t_i = 8, proj_output queries (cosine)", "ffwd_output", 5, 8, proj5,
                        Metric.COSINE, scope);
                embeddings(tm, s, scope);
                table(s, backend, "proj_output block 0 (L2 distance, the notebook's starting point)", "proj_output", 0, -1, proj0,
                        Metric.L2, scope);
            }
            System.out.printf(Locale.ROOT, "searches ran on %s; extraction %s; demo total %.1f s%n", choice.reason(),
                    extractSeconds > 0 ? String.format(Locale.ROOT, "took %.1f s", extractSeconds) : "reused the store",
                    (System.nanoTime() - t0) / 1e9);
        }
        return 0;
    }

    private double ensureStore(TransformerModel tm, Path dir, int l) {
        if (Files.isRegularFile(dir.resolve(Manifest.FILE))) {
            try (Store s = Store.open(dir)) {
                return 0; // complete and readable
            } catch (io.blocksim.UserError e) {
                System.err.println("blocksim: " + e.getMessage() + " — extracting");
            }
        }
        Corpus corpus = Corpus.resolve(dataset);
        System.err.println("blocksim: building the demo's store in " + dir + " (once; reused after)");
        try (ProgressBar bar = Progress.count("extract", quick ? QUICK_STRINGS : 858_923, " strings")) {
            StoreExtraction.Summary sum = StoreExtraction.run(tm, corpus, l, quick ? QUICK_STRINGS : 0,
                    StoreExtraction.demoTargets(tm.spec().nLayer(), l), 131_072, PrefixExtractor.Options.defaults(), dir,
                    false, bar::stepBy, line -> System.err.println("blocksim: " + line));
            return sum.seconds();
        }
    }

    private void table(Store s, io.blocksim.search.SearchBackend backend, String title, String site, int block, int position,
            float[][] queries, Metric metric, String scope) {
        LabeledResult r = StoreSearch.search(s, backend, site, block, position, queries, PROMPTS, k, metric);
        System.out.printf(Locale.ROOT, "## %s%s — %s, %.1f ms%n", title, scope, r.backend(), r.elapsedMs());
        System.out.print(ResultFormat.table(r));
    }

    private void embeddings(TransformerModel tm, Store s, String scope) {
        int l = s.stringLength();
        String vocab = tm.spec().vocab();
        long[][] tokens = new long[vocab.length()][l];
        for (int a = 0; a < vocab.length(); a++) {
            java.util.Arrays.fill(tokens[a], a);
        }
        // the model's embedding of a repeated character gives tok_emb[a] + pos_emb[t] at every t
        var out = tm.run(tokens, Set.of(Site.EMBEDDING.outputName(0)));
        float[][][] table = new float[l][vocab.length()][];
        for (int t = 0; t < l; t++) {
            for (int a = 0; a < vocab.length(); a++) {
                table[t][a] = out.vector(Site.EMBEDDING.outputName(0), a, t);
            }
        }
        long t0 = System.nanoTime();
        Tokenizer tok = new Tokenizer(vocab);
        byte[][] q = PROMPTS.stream().map(tok::encode).toArray(byte[][]::new);
        SearchResult r = new EmbeddingSearch(table).search(s.strings(), s.stringCount(), q, k, Metric.COSINE);
        double ms = (System.nanoTime() - t0) / 1e6;
        LabeledResult lr = LabeledResult.of("cpu", r, PROMPTS, s::string, ms);
        System.out.printf(Locale.ROOT, "## embeddings, all positions concatenated (cosine)%s — cpu, %.1f ms%n", scope, ms);
        System.out.print(ResultFormat.table(lr));
    }

    /** The notebook's conclusion when it holds for this model, otherwise what holds instead. */
    static String conclusion(String site, List<NormStats.Row> rows) {
        boolean meanGrows = true;
        boolean stdGrows = true;
        for (int i = 1; i < rows.size(); i++) {
            meanGrows &= rows.get(i).mean() > rows.get(i - 1).mean();
            stdGrows &= rows.get(i).std() > rows.get(i - 1).std();
        }
        if (meanGrows && stdGrows) {
            return "Norm and std dev of " + site + " go up in the later layers, as in the notebook: "
                    + "cosine similarity is probably a better measure than Euclidean distance.";
        }
        NormStats.Row first = rows.get(0);
        NormStats.Row last = rows.get(rows.size() - 1);
        double cvMin = rows.stream().mapToDouble(r -> r.std() / r.mean()).min().orElse(0);
        double cvMax = rows.stream().mapToDouble(r -> r.std() / r.mean()).max().orElse(0);
        return String.format(Locale.ROOT, "Unlike the notebook, the norms of %s do not grow steadily with depth (mean %.1f at"
                + " layer 0, %.1f at layer %d); the spread is large relative to the mean (std/mean %.2f to %.2f), so"
                + " cosine similarity still looks the better measure.", site, first.mean(), last.mean(), last.block(),
                cvMin, cvMax);
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
