package io.blocksim.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.Metric;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.TargetExistsException;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.Hit;
import io.blocksim.api.SimilarResults;
import io.blocksim.api.SimilarStrings;
import io.blocksim.text.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code blocksim similars}. Public and open only so that the Spark module's {@code blocksim spark similars}
 * inherits its options and output and overrides where the work runs ({@link #searchBackend}).
 * Not thread-safe: picocli makes one per run.
 */
@Command(name = "similars", mixinStandardHelpOptions = true, subcommands = SimilarsCommand.Show.class,
        description = {"The seed's batch similar-strings job: for a seeded sample of strings, the k closest stored strings"
                + " at every chosen site, block and position, written to a resumable results folder of .npy files.",
            "",
            "Each sampled string's query at (site, block) is its own last-position vector (the model runs for any the"
                + " store lacks); candidates at (site, block, position) are the stored rows: all strings at the last"
                + " position, unique prefixes at earlier ones. 'embedding' is the concatenated all-position embedding."
                + " A killed run resumes where it stopped when run again with the same options.",
            "",
            "Example: blocksim similars --store S --out R --samples 1000 --seed 42 --blocks 0-5 --k 10",
            "         blocksim similars show R 'my most gr'"})
public class SimilarsCommand implements Callable<Integer> {
    @Option(names = "--store", paramLabel = "STORE", description = "The store folder (required).")
    Path store;

    @Option(names = "--out", paramLabel = "RESULTS", description = "The results folder (required; created or resumed).")
    Path out;

    @ArgGroup(exclusive = true)
    Sampling sampling;

    static final class Sampling {
        @Option(names = "--samples", paramLabel = "N", description = "N distinct strings from a seeded shuffle.")
        Integer samples;

        @Option(names = "--all", description = "Every string, in order.")
        boolean all;

        @Option(names = "--string", paramLabel = "TEXT", description = "A string of the store to sample (repeatable): your own sample.")
        List<String> strings;
    }

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the sample's shuffle (SplitMix64; default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sites", defaultValue = "proj_output,ffwd_output,embedding", paramLabel = "SITE,...",
            description = "Candidate sites (default: ${DEFAULT-VALUE}).")
    String sites;

    @Option(names = "--blocks", paramLabel = "B", description = "Blocks: 0-5, 0,2,4 (default: every block of the model).")
    String blocks;

    @Option(names = "--positions", defaultValue = "-1", paramLabel = "T,...",
            description = "Candidate positions 0..L-1, negative from the end (default: ${DEFAULT-VALUE}, the last).")
    String positions;

    @Option(names = {"-k", "--k"}, defaultValue = "10", description = "Neighbours per string (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--metric", defaultValue = "l2", paramLabel = "l2|cosine",
            description = "l2 distance (the seed's default) or cosine (default: ${DEFAULT-VALUE}).")
    String metric;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda", description = "Search backend (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--model", paramLabel = "MODEL.onnx", description = "Model for queries the store lacks and the embedding.")
    Path model;

    @Option(names = "--query-batch", defaultValue = "512", paramLabel = "Q",
            description = "Sampled strings per backend call (default: ${DEFAULT-VALUE}).")
    int queryBatch;

    @Option(names = "--force", description = "Delete earlier results in RESULTS made with other options, and start over.")
    boolean force;

    @Option(names = "--json", description = "Print a JSON summary.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (store == null || out == null) {
            throw CliError.usage("similars needs --store STORE and --out RESULTS (or: similars show RESULTS STRING)");
        }
        if (sampling == null) {
            throw CliError.usage("give --samples N (a seeded sample), --all (every string) or --string TEXT (your own)");
        }
        Metric m = Metric.parse(metric);
        try (BlocksimStore s = BlocksimStore.open(store)) {
            var choice = searchBackend(s);
            try (var backend = choice.backend()) {
                backendReason = choice.reason();
                run(s, m, backend);
            }
        }
        return 0;
    }

    private String backendReason;

    /**
     * The backend that searches the candidates: {@code --device}'s here; another command (the
     * Spark module's) searches them on other machines. Closed after the job.
     */
    protected io.blocksim.search.Backends.Choice searchBackend(BlocksimStore s) {
        return Devices.searchBackend(device);
    }

    /** {@code --device} as given. */
    protected final String device() {
        return device;
    }

    private void run(BlocksimStore s, Metric m, io.blocksim.spi.SearchBackend backend) throws Exception {
        {
            SimilarStrings.Builder b = SimilarStrings.builder(s).sites(splitList(sites, "--sites")).k(k).metric(m)
                    .positions(ints(positions, "--positions")).queryBatch(queryBatch).backend(backend).model(model);
            if (blocks != null) {
                b.blocks(ranges(blocks));
            }
            if (sampling.all) {
                b.allStrings();
            } else if (sampling.strings != null) {
                int[] own = new int[sampling.strings.size()];
                for (int i = 0; i < own.length; i++) {
                    own[i] = s.indexOf(sampling.strings.get(i));
                    if (own[i] < 0) {
                        throw CliError.usage("--string '" + sampling.strings.get(i) + "' is not a string of store " + store);
                    }
                }
                b.sample(own);
            } else {
                b.sample(sampling.samples, seed);
            }
            try (SimilarStrings job = b.build()) {
                SimilarStrings.Summary sum;
                ProgressBar[] bar = new ProgressBar[1];
                try {
                    sum = job.writeTo(out, force, (done, total) -> {
                        if (bar[0] == null) {
                            bar[0] = Progress.count("similars", total, " queries");
                        }
                        bar[0].stepTo(done);
                    });
                } catch (TargetExistsException e) {
                    throw CliError.withHint(e, "--force starts over");
                } catch (StoreIncompatibleException e) {
                    throw CliError.withHint(e, "--model gives the model");
                } finally {
                    if (bar[0] != null) {
                        bar[0].close();
                    }
                }
                print(job, sum);
            }
        }
    }

    private void print(SimilarStrings job, SimilarStrings.Summary sum) throws Exception {
        String reason = sum.queriesRun() == 0 ? "nothing to run (already complete)" : backendReason;
        if (json) {
            ObjectNode o = ResultFormat.JSON.createObjectNode();
            o.put("results", sum.results().toString());
            o.put("store", store.toString());
            o.put("entries", sum.entries());
            o.put("sample", job.sample().length);
            o.put("k", job.k());
            o.put("metric", job.metric().cliName());
            o.put("queries", sum.queries());
            o.put("queries_run", sum.queriesRun());
            o.put("seconds", sum.seconds());
            o.put("queries_per_second", sum.seconds() > 0 ? sum.queriesRun() / sum.seconds() : 0);
            o.put("backend", reason);
            ArrayNode es = o.putArray("entry_list");
            for (SimilarStrings.Entry e : job.entries()) {
                es.addObject().put("site", e.site()).put("block", e.block()).put("position", e.position());
            }
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        } else {
            System.out.printf(Locale.ROOT, "similars: %d entries x %,d strings (k=%d, %s) in %s: %,d queries run in %.1f s"
                    + " on %s%n", sum.entries(), job.sample().length, job.k(), job.metric().cliName(), sum.results(),
                    sum.queriesRun(), sum.seconds(), reason);
        }
    }

    static List<String> splitList(String text, String option) {
        List<String> out = new ArrayList<>();
        for (String p : text.split(",")) {
            if (!p.isBlank()) {
                out.add(p.trim());
            }
        }
        if (out.isEmpty()) {
            throw CliError.usage(option + " '" + text + "': name at least one");
        }
        return out;
    }

    static int[] ints(String text, String option) {
        try {
            return splitList(text, option).stream().mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw CliError.usage(option + " '" + text + "': give whole numbers separated by commas, e.g. -1,8");
        }
    }

    /** "0-5", "0,2,4", "1-3,5" as block numbers in order, each once. */
    static int[] ranges(String text) {
        Set<Integer> out = new LinkedHashSet<>();
        for (String p : splitList(text, "--blocks")) {
            try {
                int dash = p.indexOf('-', 1);
                int a = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).trim());
                int b = dash < 0 ? a : Integer.parseInt(p.substring(dash + 1).trim());
                if (b < a) {
                    throw CliError.usage("--blocks '" + text + "': the range " + p + " runs backwards");
                }
                for (int i = a; i <= b; i++) {
                    out.add(i);
                }
            } catch (NumberFormatException e) {
                throw CliError.usage("--blocks '" + text + "': give blocks as 0-5 or 0,2,4");
            }
        }
        return out.stream().mapToInt(x -> x).toArray();
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = {"One sampled string's neighbours at every stored site and block (the notebook's layout),"
                    + " then per (site, block) the k best across the positions merged into one list (the seed's"
                    + " aggregate_over_t_is: by score, ties to the earlier position, then the lower row)."})
    static final class Show implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "RESULTS", description = "A results folder of 'blocksim similars'.")
        Path results;

        @Parameters(index = "1", paramLabel = "STRING", description = "A sampled string, e.g. 'my most gr'.")
        String string;

        @Option(names = "--store", paramLabel = "STORE", description = "The store (default: the one the results record).")
        Path store;

        @Option(names = "--positions", paramLabel = "T,...", description = "Only these positions (default: all in the results).")
        String positions;

        @Option(names = "--json", description = "Print one JSON object.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Path storeDir = store != null ? store : SimilarResults.storeDir(results);
            try (BlocksimStore s = BlocksimStore.open(storeDir);
                    SimilarResults r = SimilarResults.open(results, s)) {
                int index = s.indexOf(string);
                if (index < 0) {
                    throw CliError.data("'" + string + "' is not a string of store " + storeDir);
                }
                Set<Integer> ps = null;
                if (positions != null) {
                    ps = new LinkedHashSet<>();
                    for (int p : ints(positions, "--positions")) {
                        int t = p < 0 ? s.stringLength() + p : p;
                        if (t < 0 || t >= s.stringLength()) {
                            throw CliError.usage("--positions: " + p + " is outside 0.." + (s.stringLength() - 1)
                                    + " or -" + s.stringLength() + "..-1");
                        }
                        ps.add(t);
                    }
                }
                List<SimilarResults.Neighbours> ns = r.neighbours(index, ps);
                List<SimilarResults.Merged> merged = r.aggregateOverPositions(index, ps);
                if (json) {
                    System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
                            json(r, index, ns, merged)));
                } else {
                    System.out.print(table(r, ns, merged));
                }
                if (!r.complete()) {
                    System.err.println("blocksim: the results are incomplete: only complete entries are shown (run the"
                            + " same similars command again to finish them)");
                }
            }
            return 0;
        }

        private String table(SimilarResults r, List<SimilarResults.Neighbours> ns, List<SimilarResults.Merged> merged) {
            StringBuilder b = new StringBuilder();
            String metric = r.metric().cliName();
            for (SimilarResults.Neighbours n : ns) {
                SimilarStrings.Entry e = n.entry();
                b.append("## ").append(e.position() == null ? "embedding (all positions)"
                        : e.site() + " block " + e.block() + " position " + e.position()).append(" (").append(metric)
                        .append(")\n").append("Closest to ").append(Tokenizer.quote(string)).append(":\n");
                for (Hit h : n.hits()) {
                    b.append('\t').append(String.format(Locale.ROOT, "%14s (%.3f)", Tokenizer.quote(h.label()), h.score()))
                            .append('\n');
                }
                b.append('\n');
            }
            for (SimilarResults.Merged m : merged) {
                if (m.positions().size() < 2) {
                    continue;  // one position: the merge is that position's table above
                }
                b.append("## ").append(m.site()).append(" block ").append(m.block()).append(", aggregated over positions ")
                        .append(m.positions()).append(" (").append(metric).append(")\n");
                for (SimilarResults.PositionHit h : m.hits()) {
                    b.append('\t').append(String.format(Locale.ROOT, "%14s (%.3f) t=%d", Tokenizer.quote(h.hit().label()),
                            h.hit().score(), h.position())).append('\n');
                }
                b.append('\n');
            }
            return b.toString();
        }

        private ObjectNode json(SimilarResults r, int index, List<SimilarResults.Neighbours> ns,
                List<SimilarResults.Merged> merged) {
            ObjectNode o = ResultFormat.JSON.createObjectNode();
            o.put("string", string);
            o.put("string_index", index);
            o.put("k", r.k());
            o.put("metric", r.metric().cliName());
            ArrayNode es = o.putArray("entries");
            for (SimilarResults.Neighbours n : ns) {
                ObjectNode en = es.addObject().put("site", n.entry().site()).put("block", n.entry().block())
                        .put("position", n.entry().position());
                ArrayNode hits = en.putArray("results");
                for (Hit h : n.hits()) {
                    hits.addObject().put("row", h.row()).put("string", h.label()).put("score", h.score());
                }
            }
            ArrayNode ag = o.putArray("aggregated");
            for (SimilarResults.Merged m : merged) {
                ObjectNode mn = ag.addObject().put("site", m.site()).put("block", m.block());
                ArrayNode ps = mn.putArray("positions");
                m.positions().forEach(ps::add);
                ArrayNode hits = mn.putArray("results");
                for (SimilarResults.PositionHit h : m.hits()) {
                    hits.addObject().put("position", h.position()).put("row", h.hit().row())
                            .put("string", h.hit().label()).put("score", h.hit().score());
                }
            }
            return o;
        }
    }
}
