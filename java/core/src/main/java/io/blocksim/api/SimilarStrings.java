package io.blocksim.api;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.search.Backends;
import io.blocksim.search.EmbeddingSearch;
import io.blocksim.similars.ResultsManifest;
import io.blocksim.similars.ResultsWriter;
import io.blocksim.similars.Sample;
import io.blocksim.similars.Target;
import io.blocksim.spi.PromptEncoder;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Manifest;
import io.blocksim.store.Npy;
import io.blocksim.store.Store;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * The seed's batch similar-strings job ({@code SimilarStringsExperiment}): for each string of a
 * sample, its k nearest stored strings at every chosen (site, block, position), and in the
 * concatenated all-position embedding. Exact, with the scores and order of {@link Searcher}
 * (canonical scores, ties to the lower row), whatever the backend or batch size.
 *
 * <p>Semantics (DESIGN.md section 7): a sampled string's query at (site, block) is its own vector
 * at the last position: read from the store, or computed by the model when the store lacks that
 * last-position entry. Candidates at (site, block, position t) are the stored rows: all N strings
 * at the last position, the unique prefixes of length t+1 at an earlier one (row ids are then
 * prefix-index rows). The embedding entry compares whole strings as {@code search --site embedding
 * --position all} does. Self matches are kept, as in the seed.
 *
 * <p>Work: each entry runs as query batches of {@link Builder#queryBatch} sampled strings through
 * the backend's multi-query kernels (the CPU backend tiles rows against all queries of a batch
 * while they are in cache; CUDA runs SGEMM tiles and an exact select), one entry after another, so
 * each entry's shards are read from disk once per job and stay in the page cache for all its
 * batches. No n x N score matrix is ever made.
 *
 * <pre>{@code
 * try (BlocksimStore store = BlocksimStore.open(dir);
 *      SimilarStrings job = SimilarStrings.builder(store).sample(1_000, 42)
 *              .sites("proj_output", "ffwd_output").blocks(0, 5).k(10).metric(Metric.L2).build()) {
 *     job.run(batch -> ...);                         // streamed, nothing written
 *     job.writeTo(Path.of("results"), false, null);  // or a resumable results folder
 * }
 * }</pre>
 *
 * <p>Thread safety: a built job may run from one thread at a time; it shares the store with any
 * number of other users. {@link #close} frees the backend and the model it opened.
 */
public final class SimilarStrings implements AutoCloseable {
    /** The default number of sampled strings per backend call. */
    public static final int DEFAULT_QUERY_BATCH = 512;

    /**
     * One entry of the job: {@code site}, {@code block}, string {@code position} 0..L-1; position
     * null (site "embedding", block 0) for the concatenated embedding of all positions.
     */
    public record Entry(String site, int block, Integer position) {
        Target target() {
            return new Target(site, block, position == null ? Target.ALL_POSITIONS : position);
        }

        static Entry of(Target t) {
            return new Entry(t.site(), t.block(), t.allPositions() ? null : t.position());
        }

        @Override
        public String toString() {
            return target().toString();
        }
    }

    /**
     * Results of one query batch of one entry: sample rows {@code [first, first + strings.length)},
     * {@code strings[i]} the sampled string index, {@code rows[i]} its k candidate rows (string
     * indices at the last position and for the embedding, prefix-index rows earlier) best first,
     * {@code scores[i]} theirs (cosine, larger is closer; or L2 distance). Arrays are not copied.
     */
    public record Batch(Entry entry, int first, int[] strings, int[][] rows, float[][] scores) {
    }

    /** Called after each batch with the sample rows done and to do over all entries. */
    @FunctionalInterface
    public interface ProgressListener {
        void progress(long done, long total);
    }

    /**
     * What a {@link #writeTo} did: entries and queries in all, queries this call ran (the rest were
     * done by an earlier run), its wall time and the backend that ran.
     */
    public record Summary(Path results, int entries, long queries, long queriesRun, double seconds, String backend) {
    }

    private final BlocksimStore store;
    private final Store s;
    private final int[] sample;
    private final Long seed;
    private final List<Target> targets;
    private final int[] candidates;
    private final int k;
    private final Metric metric;
    private final int queryBatch;
    private final String backendName;
    private final SearchBackend givenBackend;
    private final Path modelPath;
    private final PromptEncoder givenEncoder;
    private SearchBackend backend;
    private String backendReason;
    private PromptEncoder encoder;
    private EmbeddingSearch embeddings;
    private boolean closed;
    /** The queries of the last batch, kept for the next position of the same (site, block). */
    private String cachedKey;
    private float[][] cachedQueries;

    private SimilarStrings(Builder b, int[] sample, List<Target> targets, int[] candidates) {
        this.store = b.store;
        this.s = b.store.internal();
        this.sample = sample;
        this.seed = b.strings == null && !b.all ? b.seed : null;
        this.targets = targets;
        this.candidates = candidates;
        this.k = b.k;
        this.metric = b.metric;
        this.queryBatch = b.queryBatch;
        this.backendName = b.backendName;
        this.givenBackend = b.backend;
        this.modelPath = b.model;
        this.givenEncoder = b.encoder;
    }

    public static Builder builder(BlocksimStore store) {
        if (store == null) {
            throw new InvalidArgumentException("no store: open one with BlocksimStore.open");
        }
        return new Builder(store);
    }

    /** The sampled string indices, in sample order (a copy). */
    public int[] sample() {
        return sample.clone();
    }

    /** The entries, in the order they run and are stored. */
    public List<Entry> entries() {
        return targets.stream().map(Entry::of).toList();
    }

    public int k() {
        return k;
    }

    public Metric metric() {
        return metric;
    }

    /** One line: the backend and why; null before the first batch ran. */
    public String backendReason() {
        return backendReason;
    }

    /**
     * Runs every entry for the whole sample, handing each batch to {@code sink} as it is done, in
     * entry order then sample order. Nothing is written.
     *
     * @throws StoreIncompatibleException the model for queries the store lacks is not the store's
     * @throws io.blocksim.StoreChangedException a store file changed while the job ran
     * @throws ClosedException the job or the store was closed
     * @throws io.blocksim.DeviceException a GPU failed
     */
    public void run(Consumer<Batch> sink) {
        for (int i = 0; i < targets.size(); i++) {
            for (int first = 0; first < sample.length; first += queryBatch) {
                sink.accept(batch(i, first, Math.min(queryBatch, sample.length - first)));
            }
        }
    }

    /**
     * Runs the job into the results folder {@code out} (see the README for its files), resuming
     * it when it holds an interrupted run of the same store and parameters. {@code force} deletes
     * earlier results there first. {@code progress} (may be null) hears after every batch.
     *
     * @throws io.blocksim.TargetExistsException {@code out} is a file, a folder of other files, or
     *     (without force) results of another store or other parameters
     * @throws io.blocksim.StoreException another process writes {@code out}
     * @throws io.blocksim.FileAccessException a file could not be written
     * @throws StoreIncompatibleException, io.blocksim.StoreChangedException, ClosedException,
     *     io.blocksim.DeviceException as {@link #run}
     */
    public Summary writeTo(Path out, boolean force, ProgressListener progress) {
        if (out == null) {
            throw new InvalidArgumentException("no results folder given");
        }
        long t0 = System.nanoTime();
        long total = (long) sample.length * targets.size();
        long ran = 0;
        if (targets.stream().anyMatch(t -> !t.allPositions())) {
            backend();  // a backend that cannot start fails here, before anything is written
        }
        try (ResultsWriter w = ResultsWriter.open(out, manifest(), sample, force)) {
            long done = 0;
            int[] from = new int[targets.size()];
            for (int i = 0; i < targets.size(); i++) {
                from[i] = w.usable(i);
                done += from[i];
            }
            if (progress != null) {
                progress.progress(done, total);
            }
            for (int i = 0; i < targets.size(); i++) {
                if (from[i] == sample.length) {
                    continue;
                }
                int start = w.resume(i);
                for (int first = start; first < sample.length; first += queryBatch) {
                    Batch b = batch(i, first, Math.min(queryBatch, sample.length - first));
                    w.write(i, first, b.rows(), b.scores());
                    done += b.strings().length;
                    ran += b.strings().length;
                    if (progress != null) {
                        progress.progress(done, total);
                    }
                }
            }
        }
        String ranOn = backend != null ? backend.name() : "none (already complete)";
        return new Summary(out, targets.size(), total, ran, (System.nanoTime() - t0) / 1e9, ranOn);
    }

    private ResultsManifest manifest() {
        Manifest m = s.manifest();
        Manifest.FileRef strings = m.strings() != null ? m.strings() : m.labels();
        var id = new ResultsManifest.StoreIdentity(s.dir().toAbsolutePath().toString(),
                m.model() == null ? null : m.model().sha256(), m.datasetSha256(), m.stringLength(), m.stringCount(),
                strings == null ? null : strings.crc32c());
        List<ResultsManifest.Entry> es = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            es.add(ResultsManifest.Entry.start(targets.get(i), candidates[i]));
        }
        return new ResultsManifest(ResultsManifest.FORMAT, ResultsManifest.FORMAT_VERSION, id,
                ResultsManifest.SAMPLE_FILE, sample.length, seed, ResultsWriter.sampleCrc32c(sample), k, metric.cliName(), es);
    }

    private synchronized Batch batch(int i, int first, int n) {
        if (closed) {
            throw new ClosedException("the similar-strings job is closed");
        }
        Target t = targets.get(i);
        int[] strings = java.util.Arrays.copyOfRange(sample, first, first + n);
        SearchResult r;
        // the store stays mapped while this batch reads it: closing it waits for the batch
        try (var lease = s.lease()) {
            if (t.allPositions()) {
                s.checkUnchanged(null);
                r = embeddingBatch(strings);
                s.checkUnchanged(null);
            } else {
                EntryKey key = s.entry(t.site(), t.block(), t.position()).key();
                float[][] q = queries(t, first, strings);
                s.checkUnchanged(key);
                r = backend().search(s.vectors(key), q, k, metric);
                s.checkUnchanged(key);  // nothing computed from a file that changed is returned
            }
        } catch (IllegalStateException e) {
            if (!s.isOpen()) {
                throw new ClosedException("the store was closed while the similar-strings job ran", e);
            }
            throw e;
        } catch (InternalError e) {
            var changed = s.changedDuring(e);
            if (changed != null) {
                throw changed;
            }
            throw e;
        }
        return new Batch(Entry.of(t), first, strings, r.rows(), r.scores());
    }

    /** Each sampled string's own last-position vector of the target's (site, block). */
    private float[][] queries(Target t, int first, int[] strings) {
        String key = t.site() + "/" + t.block() + "/" + first + "/" + strings.length;
        if (key.equals(cachedKey)) {
            return cachedQueries;
        }
        int last = s.stringLength() - 1;
        float[][] q;
        if (stored(t.site(), t.block(), last)) {
            VectorSet v = s.vectors(t.site(), t.block(), last);
            q = new float[strings.length][];
            for (int j = 0; j < strings.length; j++) {
                q[j] = row(v, strings[j]);
            }
        } else {
            List<String> texts = new ArrayList<>(strings.length);
            for (int str : strings) {
                texts.add(s.string(str));
            }
            q = encoder().lastPositionVectors(texts, t.site(), t.block());
        }
        cachedKey = key;
        cachedQueries = q;
        return q;
    }

    private static float[] row(VectorSet v, int row) {
        for (VectorShard sh : v.shards()) {
            if (row < sh.firstRow() + sh.rows()) {
                float[] out = new float[v.dim()];
                long base = (long) (row - sh.firstRow()) * v.dim();
                for (int d = 0; d < out.length; d++) {
                    out[d] = sh.vectors().getAtIndex(Npy.FLOAT32, base + d);
                }
                return out;
            }
        }
        throw new IndexOutOfBoundsException("row " + row + " of " + v.rows());
    }

    private boolean stored(String site, int block, int position) {
        return s.entries().stream().anyMatch(e -> e.site().equals(site) && e.block() == block && e.position() == position);
    }

    /** The embedding search over the batch, its queries split over the cores (each one is a scan). */
    private SearchResult embeddingBatch(int[] strings) {
        int l = s.stringLength();
        EmbeddingSearch es = embeddingSearch();
        byte[][] q = new byte[strings.length][l];
        var tokens = s.strings();
        for (int j = 0; j < strings.length; j++) {
            for (int c = 0; c < l; c++) {
                q[j][c] = tokens.get(Npy.UINT8, (long) strings[j] * l + c);
            }
        }
        int parts = Math.min(q.length, Runtime.getRuntime().availableProcessors());
        SearchResult[] rs = new SearchResult[parts];
        IntStream.range(0, parts).parallel().forEach(p -> {
            int a = (int) ((long) q.length * p / parts);
            int b = (int) ((long) q.length * (p + 1) / parts);
            rs[p] = es.search(tokens, s.stringCount(), java.util.Arrays.copyOfRange(q, a, b), k, metric);
        });
        int[][] rows = new int[q.length][];
        float[][] scores = new float[q.length][];
        int at = 0;
        for (SearchResult r : rs) {
            for (int j = 0; j < r.queries(); j++, at++) {
                rows[at] = r.rows()[j];
                scores[at] = r.scores()[j];
            }
        }
        return new SearchResult(metric, k, rows, scores);
    }

    private SearchBackend backend() {
        if (backend == null) {
            if (givenBackend != null) {
                backend = Backends.routedBorrowed(givenBackend);
                backendReason = givenBackend.name() + " (given)";
            } else {
                Backends.Choice c = Backends.open(backendName);
                backend = c.backend();
                backendReason = c.reason();
            }
        }
        return backend;
    }

    private PromptEncoder encoder() {
        if (encoder == null) {
            PromptEncoder m = givenEncoder != null ? givenEncoder : Models.open(modelPath);
            String want = store.modelSha256();
            if (want != null && !want.equals(m.modelSha256())) {
                if (givenEncoder == null) {
                    m.close();
                }
                throw new StoreIncompatibleException("store " + store.dir() + " was made by another model (sha256 " + want
                        + ") than " + (modelPath == null ? "the shipped model" : modelPath) + " (" + m.modelSha256()
                        + "): use that model for the queries the store lacks");
            }
            encoder = m;
        }
        return encoder;
    }

    private EmbeddingSearch embeddingSearch() {
        if (embeddings == null) {
            embeddings = new EmbeddingSearch(encoder().embeddingTable(s.stringLength()));
        }
        return embeddings;
    }

    /** Frees the backend and the model this job opened (not those given to it). Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        try {
            if (backend != null) {
                backend.close();
            }
        } finally {
            if (encoder != null && givenEncoder == null) {
                encoder.close();
            }
            backend = null;
            encoder = null;
        }
    }

    /**
     * What to compute; {@link #build} checks it all against the store. Defaults: sites
     * proj_output, ffwd_output and embedding; every block of the store's model; the last position;
     * k = 10; L2 (the seed's default); 512 strings per batch; backend "auto"; the shipped model.
     * Not thread-safe.
     */
    public static final class Builder {
        private final BlocksimStore store;
        private List<String> sites = List.of("proj_output", "ffwd_output", Target.EMBEDDING);
        private List<Integer> blocks;
        private List<Integer> positions = List.of(-1);
        private int k = SearchRequest.DEFAULT_K;
        private Metric metric = Metric.L2;
        private Integer n;
        private long seed;
        private boolean all;
        private int[] strings;
        private int queryBatch = DEFAULT_QUERY_BATCH;
        private String backendName = "auto";
        private SearchBackend backend;
        private Path model;
        private PromptEncoder encoder;

        private Builder(BlocksimStore store) {
            this.store = store;
        }

        /** Candidate sites: stored ones ("proj_output", "ffwd_output", ...) and "embedding" (all positions). */
        public Builder sites(String... sites) {
            this.sites = List.of(sites);
            return this;
        }

        public Builder sites(List<String> sites) {
            this.sites = List.copyOf(sites);
            return this;
        }

        public Builder blocks(int... blocks) {
            this.blocks = IntStream.of(blocks).boxed().toList();
            return this;
        }

        /** Candidate positions 0..L-1, negative counting from the end (-1, the last, is the default). */
        public Builder positions(int... positions) {
            this.positions = IntStream.of(positions).boxed().toList();
            return this;
        }

        public Builder k(int k) {
            this.k = k;
            return this;
        }

        public Builder metric(Metric metric) {
            this.metric = metric;
            return this;
        }

        /** {@code n} distinct strings from the seeded shuffle of {@link io.blocksim.similars.Sample}. */
        public Builder sample(int n, long seed) {
            this.n = n;
            this.seed = seed;
            this.all = false;
            this.strings = null;
            return this;
        }

        /** Every string, in order. */
        public Builder allStrings() {
            this.all = true;
            this.n = null;
            this.strings = null;
            return this;
        }

        /** The caller's own sample: distinct string indices (copied). */
        public Builder sample(int[] strings) {
            this.strings = strings == null ? null : strings.clone();
            this.n = null;
            this.all = false;
            return this;
        }

        /** Sampled strings per backend call (default 512): larger batches read the data fewer times. */
        public Builder queryBatch(int queryBatch) {
            this.queryBatch = queryBatch;
            return this;
        }

        /** "auto" (default), "cpu", "cuda": opened on the first batch, closed with the job. */
        public Builder backend(String name) {
            this.backendName = name;
            this.backend = null;
            return this;
        }

        /** A backend of the caller's: used as given, never closed by the job. */
        public Builder backend(SearchBackend backend) {
            this.backend = backend;
            return this;
        }

        /** The model for queries the store lacks and for the embedding (default: the shipped one). */
        public Builder model(Path model) {
            this.model = model;
            return this;
        }

        /** A model already open: used as given, never closed by the job. */
        public Builder model(PromptEncoder encoder) {
            this.encoder = encoder;
            return this;
        }

        /**
         * Checks everything against the store before anything runs.
         *
         * @throws InvalidArgumentException no sample, a sample of more strings than the store holds
         *     or with a bad index, an unknown site, a block or position the store does not hold for
         *     a site, k outside 1..(the fewest candidates of an entry), a query batch below 1, the
         *     embedding on an imported store
         * @throws ClosedException the store is closed
         */
        public SimilarStrings build() {
            Store st = store.internal();
            int total = st.stringCount();
            int[] sample;
            if (strings != null) {
                Sample.check(strings, total);
                sample = strings.clone();
            } else if (all) {
                sample = Sample.all(total);
            } else if (n != null) {
                sample = Sample.shuffled(n, total, seed);
            } else {
                throw new InvalidArgumentException("no sample: give a number of strings and a seed, all strings, or your"
                        + " own string indices");
            }
            if (k < 1) {
                throw new InvalidArgumentException("k = " + k + " must be at least 1");
            }
            if (queryBatch < 1) {
                throw new InvalidArgumentException("query batch " + queryBatch + " must be at least 1");
            }
            if (metric == null) {
                throw new InvalidArgumentException("no metric: use cosine or l2");
            }
            if (sites.isEmpty()) {
                throw new InvalidArgumentException("no sites: name at least one");
            }
            Set<String> storedSites = new TreeSet<>();
            st.entries().forEach(e -> storedSites.add(e.site()));
            int layers = st.model() == null ? 1 : st.model().nLayer();
            List<Integer> bs = blocks != null ? blocks : IntStream.range(0, layers).boxed().toList();
            Set<Integer> ts = new LinkedHashSet<>();
            for (int p : positions) {
                ts.add(st.resolvePosition(p));
            }
            List<Target> targets = new ArrayList<>();
            List<Integer> cands = new ArrayList<>();
            for (String site : new LinkedHashSet<>(sites)) {
                if (site.equals(Target.EMBEDDING)) {
                    if (store.imported()) {
                        throw new InvalidArgumentException("store " + store.dir() + " holds imported vectors: the embedding"
                                + " entry needs a model's store");
                    }
                    targets.add(Target.embedding());
                    cands.add(total);
                    continue;
                }
                if (!storedSites.contains(site)) {
                    throw new InvalidArgumentException("unknown site '" + site + "': this store holds "
                            + String.join(", ", storedSites) + ", and 'embedding' is the concatenated embedding");
                }
                for (int b : new LinkedHashSet<>(bs)) {
                    if (b < 0 || b >= layers) {
                        throw new InvalidArgumentException("block " + b + " is outside 0.." + (layers - 1)
                                + " (the model's blocks)");
                    }
                    for (int t : ts) {
                        Manifest.Entry e = st.entry(site, b, t);  // names what the store holds when it lacks this
                        targets.add(new Target(site, b, t));
                        cands.add(e.rows());
                    }
                }
            }
            for (int i = 0; i < targets.size(); i++) {
                if (k > cands.get(i)) {
                    throw new InvalidArgumentException("k = " + k + " is more than the " + cands.get(i)
                            + " candidates of " + targets.get(i) + ": use k <= " + cands.get(i));
                }
            }
            return new SimilarStrings(this, sample, List.copyOf(targets), cands.stream().mapToInt(x -> x).toArray());
        }
    }
}
