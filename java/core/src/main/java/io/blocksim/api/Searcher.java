package io.blocksim.api;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.StoreChangedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.search.Backends;
import io.blocksim.search.EmbeddingSearch;
import io.blocksim.spi.PromptEncoder;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import io.blocksim.text.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntFunction;

/**
 * Runs {@link SearchRequest}s against one open {@link BlocksimStore} on one search backend, turning
 * prompts into queries with the store's model when a request has prompts.
 *
 * <p>The backend is chosen once, when the searcher is built: "auto" (the default) takes the usable
 * plug-in of highest priority (CUDA when a GPU and driver work, else the CPU) and
 * {@link #backendReason} says why; a request the chosen backend does not support runs on the CPU
 * and its {@link SearchResponse#note} says so. The model is opened on the first request with
 * prompts (about a second) and checked against the store's model.
 *
 * <p>Thread safety: one searcher may serve any number of threads at once. {@link #close} refuses
 * new searches with a {@link ClosedException} and waits for those already running to finish before
 * it frees the backend and the model. Closing the store works the same way: it waits for the
 * searches running on it, and later ones get a {@link ClosedException}.
 *
 * <p>A store whose files change after it was opened (truncated, rewritten in place, replaced) ends
 * a search with a {@link StoreChangedException}: each search checks the files it reads before it
 * starts and again after its answer is complete (labels included), and a read that faults on a
 * file truncated under it becomes the same exception. No answer computed from a changed file is
 * returned.
 */
public final class Searcher implements AutoCloseable {
    private final BlocksimStore store;
    private final SearchBackend backend;
    private final String reason;
    private final Path modelPath;
    private final boolean ownsEncoder;
    private PromptEncoder encoder;
    private EmbeddingSearch embeddings;
    private volatile boolean closed;
    /** Searches hold the read side; close takes the write side, so it never frees a model or backend in use. */
    private final ReentrantReadWriteLock inUse = new ReentrantReadWriteLock();

    private Searcher(Builder b) {
        if (!b.store.internal().isOpen()) {
            throw new ClosedException("store " + b.store.dir() + " is closed: open it again to search it");
        }
        this.store = b.store;
        if (b.instance != null) {
            this.backend = Backends.routedBorrowed(b.instance);  // closing it leaves the caller's backend open
            this.reason = b.instance.name() + " (given)";
        } else {
            Backends.Choice c;
            try (Timings.Mark t = Timings.phase("pick backend")) {
                c = Backends.open(b.backendName);
            }
            this.backend = c.backend();
            this.reason = c.reason();
        }
        this.modelPath = b.model;
        this.encoder = b.encoder;
        this.ownsEncoder = b.encoder == null;
    }

    /** A searcher on the "auto" backend and the shipped model. */
    public static Searcher open(BlocksimStore store) {
        return builder(store).build();
    }

    public static Builder builder(BlocksimStore store) {
        if (store == null) {
            throw new InvalidArgumentException("no store: open one with BlocksimStore.open");
        }
        return new Builder(store);
    }

    /** The backend's name ("cpu", "cuda"). */
    public String backendName() {
        return backend.name();
    }

    /** One line: which backend and why ("cpu (auto: cuda unavailable: no CUDA driver)"). */
    public String backendReason() {
        return reason;
    }

    /**
     * Runs one request.
     *
     * @throws InvalidArgumentException the store has no such (site, block, position), k is above
     *     its rows, prompts on an imported store, or a prompt the model cannot take
     * @throws InvalidDataException query vectors of another dimension than the candidates'
     * @throws StoreIncompatibleException prompts, and the store was made by another model than this
     *     searcher's
     * @throws ClosedException the searcher, its store or its backend is or gets closed
     * @throws StoreChangedException a file of the store was truncated, rewritten or replaced after
     *     the store was opened (before the search or while it ran)
     * @throws io.blocksim.DeviceException a GPU failed
     */
    public SearchResponse search(SearchRequest r) {
        if (r == null) {
            throw new InvalidArgumentException("no request: build one with SearchRequest.builder");
        }
        inUse.readLock().lock();
        try {
            checkOpen();
            // the store stays mapped until the answer is labelled: closing it waits for this search
            try (var lease = store.internal().lease()) {
                if (r.allPositions()) {
                    try (Timings.Mark t = Timings.phase("embeddings search")) {
                        return embeddings(r);
                    }
                }
                return entrySearch(r);
            }
        } catch (IllegalStateException e) {
            // the JDK's "already closed" from a mapped segment: the store was closed under us
            if (!store.internal().isOpen()) {
                throw new ClosedException("the store was closed while a search ran", e);
            }
            throw e;
        } catch (InternalError e) {
            // the JVM's report of a read past the end of a mapped file truncated under the search
            StoreChangedException changed = store.internal().changedDuring(e);
            if (changed != null) {
                throw changed;
            }
            throw e;
        } finally {
            inUse.readLock().unlock();
        }
    }

    private SearchResponse entrySearch(SearchRequest r) {
        Store s = store.internal();
        Manifest.Entry e = s.entry(r.site(), r.block(), r.position());
        float[][] q = r.prompts() != null ? encode(r.prompts(), r.querySite(), r.queryBlock()) : r.vectorsNoCopy();
        checkK(r.k(), e.rows(), "candidate rows");
        if (q[0].length != e.dim()) {
            throw new InvalidDataException("the queries have " + q[0].length + " values but the candidates have "
                    + e.dim() + " (pick the matching site, or queries of " + e.dim() + " values)");
        }
        s.checkUnchanged(e.key());
        long t0 = System.nanoTime();
        SearchResult res = backend.search(s.vectors(e.key()), q, r.k(), r.metric(), r.scan());
        double ms = (System.nanoTime() - t0) / 1e6;
        Timings.record("search on " + backend.name(), ms);
        SearchResponse out;
        try (Timings.Mark t = Timings.phase("labels")) {
            out = respond(res, r, e.rows(), ms, row -> s.label(e.key(), row));
        }
        s.checkUnchanged(e.key());  // nothing read from a file that changed during the search is returned
        return out;
    }

    /**
     * For each prompt, the model's vector of {@code site} in block {@code block} at the prompt's
     * last position: the queries a request with prompts uses.
     *
     * @throws InvalidArgumentException on an imported store, or for a prompt the model cannot take
     * @throws StoreIncompatibleException when the store was made by another model
     */
    public float[][] promptVectors(List<String> prompts, String site, int block) {
        inUse.readLock().lock();
        try {
            checkOpen();
            return encode(prompts, site, block);
        } finally {
            inUse.readLock().unlock();
        }
    }

    private float[][] encode(List<String> prompts, String site, int block) {
        if (store.imported()) {
            throw new InvalidArgumentException("store " + store.dir() + " holds imported vectors: give query vectors,"
                    + " not prompts");
        }
        PromptEncoder m = encoder();
        for (int i = 0; i < prompts.size(); i++) {
            String p = prompts.get(i);
            int n = p.codePointCount(0, p.length());  // characters, not UTF-16 units
            if (n < 1 || n > m.maxPromptLength()) {
                throw new InvalidArgumentException("prompt " + (i + 1) + " has " + n + " characters: use 1.."
                        + m.maxPromptLength());
            }
        }
        try (Timings.Mark t = Timings.phase("encode prompts")) {
            return m.lastPositionVectors(prompts, site, block);
        }
    }

    private SearchResponse embeddings(SearchRequest r) {
        Store s = store.internal();
        if (store.imported()) {
            throw new InvalidArgumentException("store " + store.dir() + " holds imported vectors: the embeddings search"
                    + " needs a model's store");
        }
        int l = s.stringLength();
        byte[][] q = new byte[r.prompts().size()][];
        Tokenizer tok = new Tokenizer(encoder().vocabulary());
        for (int i = 0; i < q.length; i++) {
            String p = r.prompts().get(i);
            int n = p.codePointCount(0, p.length());
            if (n != l) {
                throw new InvalidArgumentException("prompt '" + p + "' has " + n + " characters: the embeddings"
                        + " search compares whole strings of " + l);
            }
            q[i] = tok.encode(p);
        }
        checkK(r.k(), s.stringCount(), "strings");
        EmbeddingSearch es = embeddingSearch(l);
        s.checkUnchanged(null);
        long t0 = System.nanoTime();
        SearchResult res = es.search(s.strings(), s.stringCount(), q, r.k(), r.metric());
        double ms = (System.nanoTime() - t0) / 1e6;
        SearchResponse out = respond(res.ranOn("cpu", null), r, s.stringCount(), ms, s::string);
        s.checkUnchanged(null);
        return out;
    }

    private static void checkK(int k, int rows, String what) {
        if (k > rows) {
            throw new InvalidArgumentException("k = " + k + " is outside 1.." + rows + " (the number of " + what + ")");
        }
    }

    private SearchResponse respond(SearchResult res, SearchRequest r, int candidates, double ms,
            IntFunction<String> label) {
        List<SearchResponse.QueryHits> qs = new ArrayList<>(res.queries());
        for (int q = 0; q < res.queries(); q++) {
            int[] rows = res.rows()[q];
            List<Hit> hits = new ArrayList<>(rows.length);
            for (int i = 0; i < rows.length; i++) {
                hits.add(new Hit(rows[i], label.apply(rows[i]), res.scores()[q][i]));
            }
            qs.add(new SearchResponse.QueryHits(r.prompts() == null ? null : r.prompts().get(q), q, hits));
        }
        String ran = res.backend() != null ? res.backend() : backend.name();
        List<Integer> rescored = res.rescored() == null ? List.of() : java.util.Arrays.stream(res.rescored()).boxed().toList();
        return new SearchResponse(ran, res.note(), r.metric(), r.k(), candidates, qs, ms, res.scanOrFloat32(), rescored);
    }

    private synchronized PromptEncoder encoder() {
        checkOpen();
        if (encoder == null) {
            PromptEncoder m;
            try (Timings.Mark t = Timings.phase("open model")) {
                m = Models.open(modelPath);
            }
            String want = store.modelSha256();
            if (want != null && !want.equals(m.modelSha256())) {
                m.close();
                throw new StoreIncompatibleException("store " + store.dir() + " was made by another model (sha256 "
                        + want + ") than " + (modelPath == null ? "the shipped model" : modelPath) + " ("
                        + m.modelSha256() + "): use that model, or extract a new store");
            }
            encoder = m;
        }
        return encoder;
    }

    private synchronized EmbeddingSearch embeddingSearch(int length) {
        if (embeddings == null) {
            embeddings = new EmbeddingSearch(encoder().embeddingTable(length));
        }
        return embeddings;
    }

    private void checkOpen() {
        if (closed) {
            throw new ClosedException("the searcher is closed");
        }
    }

    /**
     * Refuses new searches, waits for the searches in flight to finish (a model must never be freed
     * while ONNX Runtime runs it), then closes the backend and the model this searcher opened (not
     * those given to it). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        inUse.writeLock().lock();
        try {
            PromptEncoder m;
            synchronized (this) {
                m = ownsEncoder ? encoder : null;
                encoder = null;
                embeddings = null;
            }
            try {
                backend.close();
            } finally {
                if (m != null) {
                    m.close();
                }
            }
        } finally {
            inUse.writeLock().unlock();
        }
    }

    /** Chooses the backend and the model; not thread-safe, the searcher it builds is. */
    public static final class Builder {
        private final BlocksimStore store;
        private String backendName = "auto";
        private SearchBackend instance;
        private Path model;
        private PromptEncoder encoder;

        private Builder(BlocksimStore store) {
            this.store = store;
        }

        /** "auto" (default), "cpu", "cuda" (alias "gpu"), or any installed plug-in's name. */
        public Builder backend(String name) {
            this.backendName = name;
            this.instance = null;
            return this;
        }

        /** A backend of your own (or one shared between searchers): used as given, never closed by the searcher. */
        public Builder backend(SearchBackend backend) {
            this.instance = backend;
            return this;
        }

        /** The ONNX model for prompts (default: the shipped one); opened on first need, closed with the searcher. */
        public Builder model(Path model) {
            this.model = model;
            return this;
        }

        /** A model already open (from {@link Models#open}): used as given, never closed by the searcher. */
        public Builder model(PromptEncoder encoder) {
            this.encoder = encoder;
            return this;
        }

        /**
         * @throws InvalidArgumentException an unknown or unavailable backend name
         * @throws io.blocksim.DeviceException a requested GPU backend failed to start
         */
        public Searcher build() {
            return new Searcher(this);
        }
    }
}
