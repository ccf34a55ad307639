package io.blocksim.cli;

import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.SearchRequest;
import io.blocksim.api.SearchResponse;
import io.blocksim.api.Timings;
import io.blocksim.api.Searcher;
import io.blocksim.model.Site;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyArray;
import io.blocksim.store.NpyDtype;
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

    @Option(names = "--scan", defaultValue = "auto", paramLabel = "auto|codes|float32",
            description = "What the search reads: codes (the compressed scan: every row's int8 codes, then the floats of the"
                + " rows the codes cannot exclude; needs a store with codes, see 'blocksim index'), float32 (every row's"
                + " floats), or auto: codes when the store has them and there are few queries (up to 32 on the CPU's"
                + " native kernel, 4 on its Java kernels; BLOCKSIM_CPU_NATIVE=0 turns the native one off). The answer is"
                + " the same (default: ${DEFAULT-VALUE}).")
    String scan;

    @Option(names = "--model", paramLabel = "MODEL.onnx", description = "Model for --prompt (default: the shipped model).")
    Path model;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Metric m = Metric.parse(metric);
        ScanMode scanMode;
        try {
            scanMode = ScanMode.parse(scan);
        } catch (InvalidArgumentException e) {
            throw CliError.usage(e.getMessage());
        }
        boolean allPositions = position.trim().equalsIgnoreCase("all");
        if (allPositions && !site.equals(Site.EMBEDDING.cliName())) {
            throw CliError.usage("--position all needs --site embedding (the concatenated embedding of all positions);"
                    + " other sites are searched one position at a time");
        }
        if (allPositions && queries.prompts == null) {
            throw CliError.usage("--position all compares whole strings: give queries with --prompt, not --query-npy");
        }
        if (queries.npy != null && (querySite != null || queryBlock != null)) {
            throw CliError.usage("--query-site and --query-block apply to --prompt; --query-npy vectors are used as given");
        }
        try (BlocksimStore s = BlocksimStore.open(store)) {
            if (!s.imported()) {
                Site.parse(site); // names the valid sites
            }
            SearchRequest.Builder b = SearchRequest.builder(site, block).k(k).metric(m).scan(scanMode);
            if (allPositions) {
                b.allPositions();
            } else {
                b.position(parsePosition(this.position));
            }
            if (queries.npy != null) {
                try (Timings.Mark t = Timings.phase("read queries")) {
                    b.vectors(readQueries(queries.npy));
                }
            } else {
                b.prompts(queries.prompts);
                if (querySite != null || queryBlock != null) {
                    b.querySite(querySite != null ? querySite : site, queryBlock != null ? queryBlock : block);
                }
            }
            SearchRequest request = b.build();
            try (Searcher searcher = searcher(s)) {
                SearchResponse r;
                try {
                    r = searcher.search(request);
                } catch (StoreIncompatibleException e) {
                    throw CliError.withHint(e, "--model gives the model");
                }
                String reason = allPositions ? "cpu (exact embeddings search, nothing stored)" : searcher.backendReason();
                try (Timings.Mark t = Timings.phase("print")) {
                    print(r, request.queryCount(), m, reason);
                }
            }
        }
        return 0;
    }

    private Searcher searcher(BlocksimStore s) {
        try {
            return Searcher.builder(s).backend(device).model(model).build();
        } catch (InvalidArgumentException e) {
            throw CliError.forOption("--device " + device, e);
        }
    }

    private void print(SearchResponse r, int nQueries, Metric m, String reason) throws Exception {
        if (json) {
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(ResultFormat.json(r)));
        } else {
            System.out.print(ResultFormat.table(r));
            System.err.printf(Locale.ROOT, "blocksim: %s search of %,d rows, %d queries, k=%d: %.1f ms on %s; %s%n",
                    m.cliName(), r.candidates(), nQueries, k, r.elapsedMs(), reason, scanLine(r));
        }
        if (r.note() != null) {
            System.err.println("blocksim: " + r.note());
        }
    }

    /** What the search read, in words: "float32 scan" or "codes scan, 123 rows re-scored (per query 40..83)". */
    static String scanLine(SearchResponse r) {
        if (!r.scan().equals("codes")) {
            return r.scan() + " scan";
        }
        int min = r.rescored().stream().mapToInt(Integer::intValue).min().orElse(0);
        int max = r.rescored().stream().mapToInt(Integer::intValue).max().orElse(0);
        return String.format(Locale.ROOT, "codes scan, %,d rows re-scored%s", r.rescoredTotal(),
                r.rescored().size() > 1 ? " (per query " + min + ".." + max + ")" : "");
    }

    private static int parsePosition(String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw CliError.usage("--position '" + text + "': give a number 0..L-1, a negative one counting from the end,"
                    + " or 'all' with --site embedding");
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
            NpyDtype dtype = a.header().dtype();
            if (dtype != NpyDtype.FLOAT32) {
                // numpy's names for what the file holds, never the Java enum's
                throw new InvalidDataException("query file " + file + " holds " + dtype.numpyName() + " ('" + dtype.descr()
                        + "') values of shape " + a.header().shapeString() + ": queries are float32 ('<f4'); convert it"
                        + " with numpy.save(f, a.astype('<f4'))");
            }
            if (shape.length < 1 || shape.length > 2) {
                throw new InvalidDataException("query file " + file + " has shape " + a.header().shapeString()
                        + ": queries are float32 of shape (Q, dim) or (dim,); reshape it, e.g. a.reshape(-1, a.shape[-1])");
            }
            int rows = shape.length == 2 ? Math.toIntExact(shape[0]) : 1;
            int dim = Math.toIntExact(shape[shape.length - 1]);
            if (rows == 0 || dim == 0) {
                throw new InvalidDataException("query file " + file + " is empty (shape " + a.header().shapeString() + ")");
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
