package io.blocksim.demo;

import io.blocksim.Metric;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.NormRow;
import io.blocksim.api.SearchRequest;
import io.blocksim.api.SearchResponse;
import io.blocksim.api.Searcher;
import io.blocksim.api.Timings;
import io.blocksim.model.Site;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The research notebook's tables on a store: the norm tables of block_output, proj_output and ffwd_output,
 * the cosine searches for the prompts, the embeddings search and the L2 comparison. Prints each
 * table as soon as it is computed and returns them all as {@link DemoResults}.
 */
public final class Demo {
    public static final List<String> PROMPTS = List.of("my most gr", "is dreams,");
    /** The notebook's norm tables cover its first batch: the first 10,000 strings. */
    public static final int NORM_ROWS = 10_000;
    /**
     * The norm tables in the notebook's order: its first loads {@code _block_output_filename}, the
     * residual stream (block_output), its second ffwd_output. proj_output, which the notebook has
     * no table of, comes between them.
     */
    public static final List<String> NORM_SITES = List.of("block_output", "proj_output", "ffwd_output");
    /** The sites the notebook has a norm table of. */
    static final List<String> NOTEBOOK_NORM_SITES = List.of("block_output", "ffwd_output");

    /**
     * One search table of the notebook: candidates are {@code site} of {@code block} at
     * {@code position} (t_i; -1 is the last), queries the prompts' {@code querySite} of
     * {@code queryBlock} at their last position.
     */
    public record TableSpec(String title, String site, int block, int position, String querySite, int queryBlock,
            Metric metric) {
    }

    /** The notebook's search tables in its order; the embeddings table comes before the L2 one. */
    public static final List<TableSpec> NOTEBOOK_TABLES = List.of(
            new TableSpec("proj_output block 0 (cosine)", "proj_output", 0, -1, "proj_output", 0, Metric.COSINE),
            new TableSpec("ffwd_output block 0, proj_output queries (cosine)", "ffwd_output", 0, -1, "proj_output", 0,
                    Metric.COSINE),
            new TableSpec("proj_output block 5 (cosine)", "proj_output", 5, -1, "proj_output", 5, Metric.COSINE),
            new TableSpec("ffwd_output block 5, proj_output queries (cosine)", "ffwd_output", 5, -1, "proj_output", 5,
                    Metric.COSINE),
            new TableSpec("ffwd_output block 5 at t_i = 8, proj_output queries (cosine)", "ffwd_output", 5, 8,
                    "proj_output", 5, Metric.COSINE));
    public static final String EMBEDDINGS_TITLE = "embeddings, all positions concatenated (cosine)";
    public static final TableSpec L2_TABLE = new TableSpec("proj_output block 0 (L2 distance, the notebook's starting point)",
            "proj_output", 0, -1, "proj_output", 0, Metric.L2);

    private final String modelName;
    private final BlocksimStore store;
    private final Searcher searcher;
    private final List<String> prompts;
    private final int k;

    /**
     * The demo over {@code store}, searching with {@code searcher} (whose model makes the prompts'
     * queries), {@code modelName} as the report names the model.
     */
    public Demo(String modelName, BlocksimStore store, Searcher searcher, List<String> prompts, int k) {
        this.modelName = modelName;
        this.store = store;
        this.searcher = searcher;
        this.prompts = List.copyOf(prompts);
        this.k = k;
    }

    /**
     * Runs every table, handing each one's text to {@code out} as soon as it is ready (header
     * first, footer last).
     *
     * @param extractSeconds how long building the store took, or null when it was reused
     * @param startNanos     {@link System#nanoTime()} when the demo started, for its total
     */
    public DemoResults run(boolean quick, String backendReason, Double extractSeconds, long startNanos,
            Consumer<String> out) {
        List<DemoResults.Prompt> ps = new ArrayList<>();
        for (String p : prompts) {
            ps.add(new DemoResults.Prompt(p, rowOf(p)));
        }
        DemoResults head = new DemoResults(store.dir().toString(), store.stringCount(), store.stringLength(), modelName,
                quick, ps, k, List.of(), backendReason, extractSeconds, 0);
        String scope = head.scope();
        out.accept(NotebookFormat.header(head));
        List<DemoResults.Section> sections = new ArrayList<>();
        Consumer<DemoResults.Section> add = s -> {
            sections.add(s);
            out.accept(NotebookFormat.section(s, scope));
        };
        for (String site : NORM_SITES) {
            add.accept(norms(site));
        }
        for (TableSpec t : NOTEBOOK_TABLES) {
            add.accept(search(t));
        }
        add.accept(embeddings(Metric.COSINE));
        add.accept(search(L2_TABLE));
        DemoResults r = new DemoResults(head.store(), head.strings(), head.stringLength(), modelName, quick, ps, k,
                sections, backendReason, extractSeconds, (System.nanoTime() - startNanos) / 1e9);
        out.accept(NotebookFormat.footer(r) + "\n");
        return r;
    }

    /** The norm table of {@code site} over the first {@link #NORM_ROWS} strings. */
    public DemoResults.NormTable norms(String site) {
        List<NormRow> rows;
        try (Timings.Mark t = Timings.phase("norms of " + site)) {
            rows = store.norms(site, NORM_ROWS);
        }
        return new DemoResults.NormTable(site, rows, conclusion(site, rows));
    }

    /** One search table: the prompts' vectors at the query site against the stored candidates. */
    public DemoResults.SearchTable search(TableSpec t) {
        SearchResponse r = searcher.search(SearchRequest.builder(t.site(), t.block()).position(t.position())
                .prompts(prompts).querySite(t.querySite(), t.queryBlock()).k(k).metric(t.metric()).build());
        int l = store.stringLength();
        return new DemoResults.SearchTable(t.title(), t.site(), t.block(), t.position() < 0 ? l + t.position() : t.position(),
                t.position(), t.querySite(), t.queryBlock(), r);
    }

    /**
     * The notebook's embeddings search: every string's embedding at all L positions concatenated,
     * against each prompt's. Computed from the model's token and position embeddings, nothing stored.
     */
    public DemoResults.SearchTable embeddings(Metric metric) {
        SearchResponse lr = searcher.search(SearchRequest.builder(Site.EMBEDDING.cliName(), 0).allPositions()
                .prompts(prompts).k(k).metric(metric).build());
        String title = metric == Metric.COSINE ? EMBEDDINGS_TITLE
                : "embeddings, all positions concatenated (" + metric.cliName() + ")";
        return new DemoResults.SearchTable(title, Site.EMBEDDING.cliName(), 0, null, null, Site.EMBEDDING.cliName(), 0, lr);
    }

    /** The row of {@code prompt} among the store's strings, or -1 (also for prompts of another length). */
    int rowOf(String prompt) {
        return store.indexOf(prompt);
    }

    /**
     * What this model shows for {@code site}: for the notebook's sites (block_output, ffwd_output)
     * whether its conclusion (norm and std grow with depth) holds; for proj_output, which the
     * notebook has no table of, what holds here.
     */
    public static String conclusion(String site, List<NormRow> rows) {
        boolean meanGrows = true;
        boolean stdGrows = true;
        for (int i = 1; i < rows.size(); i++) {
            meanGrows &= rows.get(i).mean() > rows.get(i - 1).mean();
            stdGrows &= rows.get(i).std() > rows.get(i - 1).std();
        }
        NormRow first = rows.get(0);
        NormRow last = rows.get(rows.size() - 1);
        double cvMin = rows.stream().mapToDouble(r -> r.std() / r.mean()).min().orElse(0);
        double cvMax = rows.stream().mapToDouble(r -> r.std() / r.mean()).max().orElse(0);
        boolean inNotebook = NOTEBOOK_NORM_SITES.contains(site);
        String growth = String.format(Locale.ROOT, "mean %.1f at layer 0, %.1f at layer %d; std %.1f to %.1f",
                first.mean(), last.mean(), last.block(), first.std(), last.std());
        if (meanGrows && stdGrows) {
            return (inNotebook ? "As in the notebook, norm and std dev of " + site + " go up in every later layer ("
                    : "The notebook has no table of " + site + "; here its norm and std dev go up in every later layer (")
                    + growth + "): cosine similarity is probably a better measure than Euclidean distance.";
        }
        String what = meanGrows ? "the norms grow with depth but the std dev does not grow in every layer"
                : stdGrows ? "the std dev grows with depth but the norms do not grow in every layer"
                : "neither the norms nor the std dev grow steadily with depth";
        return String.format(Locale.ROOT, "%s %s (%s); the spread is large relative to the mean (std/mean %.2f to %.2f), so"
                + " cosine similarity still looks the better measure.",
                inNotebook ? "Unlike the notebook, for " + site : "The notebook has no table of " + site + "; here",
                what, growth, cvMin, cvMax);
    }
}
