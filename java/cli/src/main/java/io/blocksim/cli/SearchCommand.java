package io.blocksim.cli;

import io.blocksim.InvalidDataException;
import io.blocksim.model.Site;
import io.blocksim.model.TransformerModel;
import io.blocksim.search.Backends;
import io.blocksim.search.EmbeddingSearch;
import io.blocksim.search.LabeledResult;
import io.blocksim.Metric;
import io.blocksim.search.StoreSearch;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyArray;
import io.blocksim.store.NpyDtype;
import io.blocksim.store.Store;
import io.blocksim.text.Tokenizer;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "search", mixinStandardHelpOptions = true,
        description = {"Find the k stored strings whose intermediate is closest to each query.",
            "",
            "Candidates are one stored (site, block, position). At the last position they are all strings; at an"
                + " earlier position t they are the unique prefixes of length t+1 (the model is causal), and the results"
                + " are those prefixes. Queries are prompts run through the model (their vector at the prompt's last"
                + " position, from --query-site/--query-block) or rows of a float32 .npy file.",
            "",
            "Example: blocksim search --store S --site ffwd_output --block 5 --query-site proj_output \\",
            "           --prompt 'my most gr' --prompt 'is dreams,'",
            "         blocksim search --store S --site embedding --position all --prompt 'my most gr'"})
final class SearchCommand implements Callable<Integer> {
    @Option(names = "--store", required = true, paramLabel = "STORE", description = "The store folder.")
    Path store;

    @Option(names = "--site", required = true, paramLabel = "SITE",
            description = "Candidate site, e.g. proj_output, ffwd_output (see 'blocksim info STORE').")
    String site;

    @Option(names = "--block", defaultValue = "0", description = "Candidate block (default: ${DEFAULT-VALUE}).")
    int block;

    @Option(names = "--position", defaultValue = "-1", paramLabel = "T|all",
            description = {"Candidate position 0..L-1, negative counts from the end (default: ${DEFAULT-VALUE}, the last)."
                + " 'all' with --site embedding: the seed's concatenated embedding of all L positions, computed exactly"
                + " from the model's embedding table for every stored string (nothing needs to be extracted)."})
    String position;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Queries queries;

    static final class Queries {
        @Option(names = "--query-npy", paramLabel = "Q.npy", description = "float32 queries, shape [Q, dim] or [dim].")
        Path npy;

        @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt to run through the model (repeatable).")
        List<String> prompts;
    }

    @Option(names = "--query-site", paramLabel = "SITE", description = "Site of the prompts' vectors (default: --site).")
    String querySite;

    @Option(names = "--query-block", paramLabel = "B", description = "Block of the prompts' vectors (default: --block).")
    Integer queryBlock;

    @Option(names = {"-k", "--k"}, defaultValue = "10", description = "How many results per query (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--metric", defaultValue = "cosine", paramLabel = "cosine|l2",
            description = "cosine (larger is closer) or l2 distance (smaller is closer); default: ${DEFAULT-VALUE}.")
    String metric;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda",
            description = "Search backend (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--model", paramLabel = "MODEL.onnx", description = "Model for --prompt (default: the shipped model).")
    Path model;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Metric m = Metric.parse(metric);
        boolean allPositions = position.trim().equalsIgnoreCase("all");
        if (allPositions && !site.equals(Site.EMBEDDING.cliName())) {
            throw CliError.usage("--position all needs --site embedding (the concatenated embedding of all positions);"
                    + " other sites are searched one position at a time");
        }
        try (Store s = Store.open(store)) {
            if (!s.imported()) {
                Site.parse(site); // names the valid sites
            }
            if (allPositions) {
                return embeddings(s, m);
            }
            int position = parsePosition(this.position);
            s.entry(site, block, position); // fail early on a missing entry, before loading a model
            float[][] q;
            List<String> prompts = null;
            if (queries.npy != null) {
                q = readQueries(queries.npy);
            } else {
                prompts = queries.prompts;
                q = promptVectors(s, prompts);
            }
            Backends.Choice choice = Devices.searchBackend(device);
            try (var backend = choice.backend()) {
                LabeledResult r = StoreSearch.search(s, backend, site, block, position, q, prompts, k, m);
                print(r, s.entry(site, block, position).rows(), q.length, m, choice.reason());
            }
        }
        return 0;
    }

    /** {@code --site embedding --position all}: exact, from the model's embedding table, nothing stored. */
    private int embeddings(Store s, Metric m) throws Exception {
        if (s.imported()) {
            throw CliError.usage("store " + store + " holds imported vectors: the embeddings search needs a model's store");
        }
        if (queries.prompts == null) {
            throw CliError.usage("--position all compares whole strings: give queries with --prompt (of "
                    + s.stringLength() + " characters), not --query-npy");
        }
        try (TransformerModel tm = openModel(s)) {
            byte[][] q = new byte[queries.prompts.size()][];
            for (int i = 0; i < q.length; i++) {
                String p = queries.prompts.get(i);
                if (p.length() != s.stringLength()) {
                    throw CliError.usage("prompt '" + p + "' has " + p.length() + " characters: the embeddings search"
                            + " compares whole strings of " + s.stringLength());
                }
                q[i] = new Tokenizer(tm.spec().vocab()).encode(p);
            }
            if (k < 1 || k > s.stringCount()) {
                throw CliError.usage("k = " + k + " is outside 1.." + s.stringCount() + " (the number of strings)");
            }
            EmbeddingSearch es = new EmbeddingSearch(tm.embeddingTable(s.stringLength()));
            LabeledResult r = StoreSearch.embeddings(s, es, q, queries.prompts, k, m);
            print(r, s.stringCount(), q.length, m, "cpu (exact embeddings search, nothing stored)");
        }
        return 0;
    }

    private void print(LabeledResult r, int rows, int nQueries, Metric m, String reason) throws Exception {
        if (json) {
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(ResultFormat.json(r)));
        } else {
            System.out.print(ResultFormat.table(r));
            System.err.printf(Locale.ROOT, "blocksim: %s search of %,d rows, %d queries, k=%d: %.1f ms on %s%n",
                    m.cliName(), rows, nQueries, k, r.elapsedMs(), reason);
        }
    }

    private static int parsePosition(String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw CliError.usage("--position '" + text + "': give a number 0..L-1, a negative one counting from the end,"
                    + " or 'all' with --site embedding");
        }
    }

    private TransformerModel openModel(Store s) {
        TransformerModel tm = model != null ? TransformerModel.open(model) : TransformerModel.openDefault();
        if (s.model() != null && !tm.spec().modelSha256().equals(s.model().sha256())) {
            String msg = "store " + store + " was made by another model (sha256 " + s.model().sha256()
                    + ") than " + tm.path() + " (" + tm.spec().modelSha256() + "): pass that model with --model,"
                    + " or extract a new store";
            tm.close();
            throw CliError.data(msg);
        }
        return tm;
    }

    private float[][] promptVectors(Store s, List<String> prompts) {
        if (s.imported()) {
            throw CliError.usage("store " + store + " holds imported vectors: give queries with --query-npy");
        }
        Site qs = Site.parse(querySite != null ? querySite : site);
        int qb = queryBlock != null ? queryBlock : block;
        try (TransformerModel tm = openModel(s)) {
            for (String p : prompts) {
                if (p.isEmpty() || p.length() > tm.spec().blockSize()) {
                    throw CliError.usage("prompt " + p.length() + " characters long: use 1.." + tm.spec().blockSize());
                }
            }
            return tm.lastPositionVectors(prompts, qs, qb);
        }
    }

    /**
     * The rows of a float32 .npy query file, [Q, dim] or [dim].
     *
     * @throws InvalidDataException for a file that is missing, not an npy file, not float32 of one
     *     or two dimensions, or empty
     */
    static float[][] readQueries(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            NpyArray a = Npy.map(file, arena);
            long[] shape = a.header().shape();
            if (a.header().dtype() != NpyDtype.FLOAT32 || shape.length < 1 || shape.length > 2) {
                throw new InvalidDataException("query file " + file + " must be float32 of shape [Q, dim] or [dim], got "
                        + a.header().dtype() + " " + java.util.Arrays.toString(shape));
            }
            int rows = shape.length == 2 ? Math.toIntExact(shape[0]) : 1;
            int dim = Math.toIntExact(shape[shape.length - 1]);
            if (rows == 0 || dim == 0) {
                throw new InvalidDataException("query file " + file + " is empty (shape " + java.util.Arrays.toString(shape) + ")");
            }
            float[][] q = new float[rows][dim];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < dim; c++) {
                    q[r][c] = a.data().getAtIndex(Npy.FLOAT32, (long) r * dim + c);
                }
            }
            return q;
        }
    }
}
