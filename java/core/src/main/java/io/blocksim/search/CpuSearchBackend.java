package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.Segments;
import io.blocksim.spi.VectorShard;
import io.blocksim.InvalidArgumentException;
import io.blocksim.ClosedException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Exact top-k on the CPU with the Java Vector API, on all cores, reading the shards' memory
 * directly (no heap copies of row data). In a JVM started without {@code --add-modules
 * jdk.incubator.vector} the same search runs scalar kernels, slower but with the same rows, order
 * and scores (bit-identical; see {@link Vectorization}), after one warning line on stderr.
 *
 * <p>The rows are cut into chunks that the worker threads claim in increasing order, each worker
 * keeping its own per-query top-k (a key equal to the current k-th best reaches the heap, which
 * settles the tie by row, so the order in which a worker scores its rows does not matter); the
 * workers' candidates are merged at the end. All queries are scored in
 * the same pass over the data: few queries with the "narrow" kernel, many with the GEMM-shaped one
 * (see {@link CpuKernels}); with several query groups, each block of rows is scored against every
 * group while it is still in the core's L2 cache.
 *
 * <p>The kernels only find candidates; every reported score is computed by {@link CanonicalScores}
 * (in double, one fixed order), which also ranks the final top-k, so a score does not depend on the
 * batch, the kernel or the thread count. The kernels keep, besides each query's top-k by their
 * float keys, every row within a proven rounding slack of its k-th key ({@link Slack}); only those
 * few are rescored. Cosine kernels use the shard's norms, or norms this backend computes once per
 * shard and keeps while the shard is in use; queries are normalized once, in double. The L2 kernels
 * sum the squared differences; with many queries the expansion |q|^2 + |x|^2 - 2 q.x (from the same
 * norms) only decides, with a rounding slack, which rows need that sum.
 *
 * <p>When every shard has codes ({@link io.blocksim.spi.ShardCodes}) and the batch is small
 * ({@link ScanMode#AUTO}, at most {@link #autoCodesMaxQueries(int)} queries) or the caller asks for
 * {@link ScanMode#CODES}, the scan reads the int8 codes instead of the floats and re-scores from the
 * floats only the rows a proven bound cannot exclude ({@link CodeScan}): the same answer, bit for bit.
 *
 * <p>Thread safety: one backend may serve any number of threads at once, with the same answers as
 * one search at a time (each search keeps its own candidates and merges them in a fixed order). A
 * search runs on the calling thread plus up to {@code threads - 1} helpers from the backend's pool,
 * made on first need; the norms cache is a synchronized map. {@link #close} refuses every later
 * search with a {@link ClosedException} and never breaks one that is running: that one finishes,
 * on its own thread if the pool has gone. A store closed under a search ends it with a
 * {@link ClosedException} ({@link ClosedStores}); a worker's own failure reaches the caller
 * unwrapped, of its own kind.
 */
public final class CpuSearchBackend implements SearchBackend {
    /** Up to this many queries the narrow kernel is used; above, the GEMM-shaped one. */
    static final int NARROW_MAX_QUERIES = 16;
    /** Rows per claimed chunk: enough to amortize the claim, small enough to balance 2-64 threads. */
    static final int DEFAULT_CHUNK_ROWS = 2040;
    /** Bytes of rows scored against all query groups before moving on (fits a core's L2). */
    private static final long BLOCK_BYTES = 192 * 1024;

    private final int threads;
    private final int chunkRows;
    private ForkJoinPool pool;  // guarded by this
    private volatile boolean closed;
    private final SearchRules.NormsCache normsCache = new SearchRules.NormsCache();
    /** Per shard: its local rows of {@link #hugeNormRows} (found once per shard, not per search). */
    private final Map<VectorShard, int[]> hugeRows = Collections.synchronizedMap(new WeakHashMap<>());

    /** Whether the compressed scan may use {@link NativeCodes} (where it is available). */
    private final boolean nativeCodes;

    /** Uses every available processor. */
    public CpuSearchBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuSearchBackend(int threads) {
        this(threads, DEFAULT_CHUNK_ROWS);
    }

    /** For tests: a small chunk size exercises the merge of many workers on small data. */
    CpuSearchBackend(int threads, int chunkRows) {
        this(threads, chunkRows, true);
    }

    /** For tests: {@code nativeCodes} false keeps the compressed scan on its Java kernels. */
    CpuSearchBackend(int threads, int chunkRows, boolean nativeCodes) {
        if (threads < 1) {
            throw new InvalidArgumentException("threads must be at least 1, got " + threads);
        }
        if (chunkRows < 1) {
            throw new IllegalArgumentException("chunkRows must be at least 1");
        }
        this.threads = threads;
        this.chunkRows = chunkRows;
        this.nativeCodes = nativeCodes;
    }

    @Override
    public String name() {
        return "cpu";
    }

    public int threads() {
        return threads;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Safe to call from many threads at once; each call scans on its own thread plus helpers
     * from this backend's pool (never waiting in the pool's queue: see {@code Workers}).
     *
     * @throws ClosedException when this backend was closed before the call, or when the store
     *     behind {@code data} is or gets closed ({@link ClosedStores#MESSAGE})
     */
    @Override
    public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
        return search(data, queries, k, metric, ScanMode.AUTO);
    }

    @Override
    public boolean supportsCodes() {
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@link ScanMode#AUTO} (also what the 4-argument search runs) takes the compressed scan
     * ({@link CodeScan}) when every shard has codes and there are at most
     * {@link #autoCodesMaxQueries(int)} queries, else the float32 scan. Either gives the same answer.
     *
     * @throws io.blocksim.InvalidArgumentException also for {@link ScanMode#CODES} on data without
     *     codes
     */
    @Override
    public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric, ScanMode scan) {
        if (closed) {
            throw new ClosedException("the cpu search backend is closed");
        }
        // the lease keeps a store's shards mapped until the scan is done: a close waits for it
        try (var lease = data.guard().acquire()) {
            if (useCodes(data, queries, k, scan)) {
                return CodeScan.search(data, queries, k, metric, threads, chunkRows, threads > 1 ? pool() : null,
                        normsCache, nativeCodes);
            }
            SearchResult r = searchOpen(data, queries, k, metric);
            return new SearchResult(r.metric(), r.k(), r.rows(), r.scores(), null, null, SearchResult.SCAN_FLOAT32, null);
        } catch (IllegalStateException e) {
            throw ClosedStores.translate(data, e);  // the store's arena closed under a read
        }
    }

    /**
     * Up to this many queries {@link ScanMode#AUTO} takes the compressed scan (when the data has
     * codes) on its Java kernels. Measured with {@code bench search} on the demo store (README,
     * "Compressed scan").
     */
    public static final int AUTO_CODES_MAX_QUERIES = 4;

    /**
     * Up to this many queries {@link ScanMode#AUTO} takes the compressed scan when it runs on the
     * native kernel (AVX-512 VNNI): measured at half the float32 scan's time or less up to 32
     * queries on every site of the demo store. Above, the codes' pass is still faster on most sites
     * (0.89x at 64 queries, 0.82x at 512, medians) but not on all (random queries that leave 100,000
     * rows inside the bounds), so {@code auto} keeps the float32 scan there (README, "Compressed scan").
     */
    public static final int AUTO_CODES_MAX_QUERIES_NATIVE = 32;

    /**
     * The most queries {@link ScanMode#AUTO} sends to the compressed scan for data of dimension
     * {@code dim} on this backend: {@link #AUTO_CODES_MAX_QUERIES_NATIVE} where the native kernel
     * runs, else {@link #AUTO_CODES_MAX_QUERIES}.
     */
    public int autoCodesMaxQueries(int dim) {
        return CodeScan.nativeKernel(nativeCodes, dim) ? AUTO_CODES_MAX_QUERIES_NATIVE : AUTO_CODES_MAX_QUERIES;
    }

    /**
     * Which kernels this backend's compressed scan runs, in words for a report line: "native
     * (AVX-512 VNNI)", or "java" with the reason the native kernel does not run here.
     */
    public String codesKernel() {
        if (!nativeCodes) {
            return "java (native kernel not wanted)";
        }
        return NativeCodes.available() ? "native (AVX-512 VNNI)" : "java (" + NativeCodes.why() + ")";
    }

    private boolean useCodes(VectorSet data, float[][] queries, int k, ScanMode scan) {
        SearchRules.validate(data, queries, k);
        return switch (scan == null ? ScanMode.AUTO : scan) {
            case FLOAT32 -> false;
            case CODES -> {
                if (!CodeScan.usable(data)) {
                    throw new InvalidArgumentException(SearchRules.NO_CODES);
                }
                yield true;
            }
            case AUTO -> CodeScan.usable(data) && queries.length <= autoCodesMaxQueries(data.dim());
        };
    }

    private SearchResult searchOpen(VectorSet data, float[][] queries, int k, Metric metric) {
        SearchRules.validate(data, queries, k);
        int dim = data.dim();
        int nq = queries.length;
        boolean gemm = nq > NARROW_MAX_QUERIES;
        float[][] prepared = prepareQueries(queries, metric);
        // measured (bench search, Zen 5): 2 queries run faster as a padded group of 4 than with a
        // 2-query kernel, and 5 to 16 queries in groups of 8 (read once per 8) beat groups of 4
        int groupSize = gemm ? Vectorization.QP : nq == 1 ? 1 : nq <= 4 ? 4 : 8;
        // gemm: transposed arrays; narrow groups of 8: native segments; smaller narrow groups: arrays
        float[][] groups = gemm ? transposedGroups(prepared, dim, Vectorization.QP)
                : groupSize == 8 ? null : paddedGroups(prepared, dim, groupSize);
        MemorySegment[] narrow = groups == null ? nativeGroups(paddedGroups(prepared, dim, groupSize)) : null;
        int groupCount = groups != null ? groups.length : narrow.length;

        List<VectorShard> shards = data.shards();
        MemorySegment[] norms = new MemorySegment[shards.size()];
        boolean shareable = true;
        for (int i = 0; i < shards.size(); i++) {
            VectorShard s = shards.get(i);
            if (metric == Metric.COSINE || gemm) {  // the L2 gemm bounds distances with the row norms
                norms[i] = normsCache.of(s, dim);
            }
            shareable &= Segments.shareable(s.vectors()) && Segments.shareable(norms[i]);
        }
        int[] chunks = chunks(shards);
        int workers = shareable ? Math.max(1, Math.min(threads, chunks.length / 3)) : 1;
        Slack slack = Slack.of(metric, dim);
        Candidates[] found = new Candidates[workers];
        for (int w = 0; w < workers; w++) {
            found[w] = new Candidates(nq, groupCount * groupSize, groupSize, k, slack);
        }
        long rowBytes = (long) dim * Float.BYTES;
        int blockRows = Math.max(12, (int) (BLOCK_BYTES / rowBytes) / 12 * 12);
        Scan scan = new Scan(shards, norms, chunks, dim, metric, gemm, groups, narrow, groupSize, blockRows);
        // worker 0 runs here; a failing worker's exception reaches the caller as it is
        Workers.run(workers == 1 ? null : pool(), workers, w -> scan.run(found[w]));
        int[] forced = metric == Metric.COSINE ? hugeNormRows(shards, norms) : new int[0];
        return merge(data, queries, found, slack, forced, k, metric);
    }

    /**
     * Cosine: rows whose stored norm is above 2^125 or not finite, which every query rescores. For
     * them the kernels' float dot product may overflow (|x . q'| <= |x| |q'| can pass float's
     * range when |x| nears it) and give an infinite or NaN key that says nothing of the row's rank;
     * below 2^125 no partial sum can overflow ({@link Slack}'s bound keeps it under 2^126).
     * Stores refuse rows whose norm overflows float, so this is normally empty; one pass over the
     * norms (a 1/dim of the data).
     */
    private int[] hugeNormRows(List<VectorShard> shards, MemorySegment[] norms) {
        int[] out = new int[0];
        for (int i = 0; i < shards.size(); i++) {
            VectorShard s = shards.get(i);
            MemorySegment n = norms[i];
            int[] local = hugeRows.computeIfAbsent(s, x -> hugeNormRows(n, x.rows()));
            int at = out.length;
            out = Arrays.copyOf(out, at + local.length);
            for (int j = 0; j < local.length; j++) {
                out[at + j] = s.firstRow() + local[j];
            }
        }
        return out;
    }

    /** Above this stored norm (or not finite) a cosine row's float kernel key says nothing: see {@link #hugeNormRows}. */
    static final float HUGE_NORM = 0x1p125f;

    private static int[] hugeNormRows(MemorySegment norms, int rows) {
        int[] out = new int[0];
        int n = 0;
        for (int r = 0; r < rows; r++) {
            float v = norms.get(Norms.LE_FLOAT, (long) r * Float.BYTES);
            if (!(v <= HUGE_NORM)) {
                if (n == out.length) {
                    out = Arrays.copyOf(out, Math.max(8, 2 * n));
                }
                out[n++] = r;
            }
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * Refuses every later search with a {@link ClosedException} and lets the pool's threads end.
     * Returns at once; searches already running finish normally (their helpers that have not
     * started are left to the calling threads). Idempotent.
     */
    @Override
    public synchronized void close() {
        closed = true;
        if (pool != null) {
            pool.shutdown();  // not shutdownNow: running helpers finish their chunks
            pool = null;
        }
        normsCache.clear();
        hugeRows.clear();
    }

    /** The helpers' pool, made on first need; null once closed (the caller then scans alone). */
    private synchronized ForkJoinPool pool() {
        if (closed) {
            return null;
        }
        if (pool == null) {
            pool = new ForkJoinPool(threads);
        }
        return pool;
    }

    /** Cosine: q / max(|q|, eps) computed in double, so the kernels only need the row norms. */
    static float[][] prepareQueries(float[][] queries, Metric metric) {
        float[][] out = new float[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            float[] v = queries[q];
            if (metric == Metric.L2) {
                out[q] = v.clone();
                continue;
            }
            double ss = 0;
            for (float f : v) {
                ss += (double) f * f;
            }
            double scale = 1.0 / Math.max(Math.sqrt(ss), Metric.NORM_EPS);
            float[] u = new float[v.length];
            for (int d = 0; d < v.length; d++) {
                u[d] = (float) (v[d] * scale);
            }
            out[q] = u;
        }
        return out;
    }

    /**
     * Narrow groups of {@code per} queries, zero-padded to whole vectors and interleaved by chunk
     * ({@code g[(c * per + j) * L + i]} is value {@code c * L + i} of query j), so one pointer walks
     * all of a group's queries in step with the row.
     */
    private static float[][] paddedGroups(float[][] queries, int dim, int per) {
        int l = Vectorization.LANES;
        int chunks = (dim + l - 1) / l;
        float[][] groups = new float[(queries.length + per - 1) / per][chunks * per * l];
        for (int q = 0; q < queries.length; q++) {
            float[] g = groups[q / per];
            int j = q % per;
            for (int d = 0; d < dim; d++) {
                g[(d / l * per + j) * l + d % l] = queries[q][d];
            }
        }
        return groups;
    }

    /** The groups as native, 64-byte aligned segments (the 8-query kernels load them faster than arrays). */
    private static MemorySegment[] nativeGroups(float[][] groups) {
        Arena arena = Arena.ofAuto();
        MemorySegment[] out = new MemorySegment[groups.length];
        for (int g = 0; g < groups.length; g++) {
            out[g] = arena.allocate((long) groups[g].length * Float.BYTES, 64);
            MemorySegment.copy(groups[g], 0, out[g], Norms.LE_FLOAT, 0, groups[g].length);
        }
        return out;
    }

    /**
     * Gemm groups of {@code QP} queries, transposed ({@code t[d * QP + j]}, zero in unused slots),
     * followed by each query's squared norm ({@code t[dim * QP + j]}, summed in double) for the L2
     * selection's bound. {@code qp} is {@link Vectorization#QP}; tests pass other widths.
     */
    static float[][] transposedGroups(float[][] queries, int dim, int qp) {
        float[][] groups = new float[(queries.length + qp - 1) / qp][dim * qp + qp];
        for (int q = 0; q < queries.length; q++) {
            float[] t = groups[q / qp];
            int j = q % qp;
            double ss = 0;
            for (int d = 0; d < dim; d++) {
                t[d * qp + j] = queries[q][d];
                ss += (double) queries[q][d] * queries[q][d];
            }
            t[dim * qp + j] = (float) ss;
        }
        return groups;
    }

    /** Chunks as (shard, first local row, row count) triples, in increasing global row order. */
    private int[] chunks(List<VectorShard> shards) {
        List<int[]> list = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            int rows = shards.get(i).rows();
            for (int r = 0; r < rows; r += chunkRows) {
                list.add(new int[] {i, r, Math.min(chunkRows, rows - r)});
            }
        }
        int[] flat = new int[list.size() * 3];
        for (int c = 0; c < list.size(); c++) {
            System.arraycopy(list.get(c), 0, flat, 3 * c, 3);
        }
        return flat;
    }

    /** The shared, read-only description of one search that every worker runs. */
    private static final class Scan {
        private final VectorShard[] shards;
        private final MemorySegment[] norms;
        private final int[] chunks;
        private final int dim;
        private final Metric metric;
        private final boolean gemm;
        private final float[][] groups;
        private final MemorySegment[] narrow;
        private final int groupSize;
        private final int blockRows;
        private final AtomicInteger next = new AtomicInteger();

        /** Exactly one of {@code groups} (gemm: transposed; narrow: interleaved) and {@code narrow} (native) is non-null. */
        Scan(List<VectorShard> shards, MemorySegment[] norms, int[] chunks, int dim, Metric metric, boolean gemm,
                float[][] groups, MemorySegment[] narrow, int groupSize, int blockRows) {
            this.shards = shards.toArray(new VectorShard[0]);
            this.norms = norms;
            this.chunks = chunks;
            this.dim = dim;
            this.metric = metric;
            this.gemm = gemm;
            this.groups = groups;
            this.narrow = narrow;
            this.groupSize = groupSize;
            this.blockRows = (groups != null ? groups.length : narrow.length) == 1 ? Integer.MAX_VALUE : blockRows;
        }

        void run(Candidates out) {
            int count = chunks.length / 3;
            for (int c = next.getAndIncrement(); c < count; c = next.getAndIncrement()) {
                int si = chunks[3 * c];
                VectorShard s = shards[si];
                int start = chunks[3 * c + 1];
                int end = start + chunks[3 * c + 2];
                for (int b = start; b < end; b = (int) Math.min(end, (long) b + blockRows)) {
                    int e = (int) Math.min(end, (long) b + blockRows);
                    int n = groups != null ? groups.length : narrow.length;
                    for (int g = 0; g < n; g++) {
                        score(out, s.vectors(), norms[si], b, e, s.firstRow(), g);
                    }
                }
            }
        }

        private void score(Candidates out, MemorySegment v, MemorySegment n, int r0, int r1, int base, int g) {
            int qOff = g * groupSize;
            if (!Vectorization.VECTOR_API) {  // a constant: the JIT drops this branch on the vector path
                ScalarKernels.score(out, v, n, r0, r1, base, dim, metric, gemm, groups != null ? groups[g] : null,
                        narrow != null ? narrow[g] : null, groupSize, qOff);
                return;
            }
            if (gemm) {
                float[] q = groups[g];  // transposed
                if (metric == Metric.COSINE) {
                    CpuKernels.gemmDot(out, v, n, r0, r1, base, dim, q, qOff);
                } else {
                    CpuKernels.gemmL2(out, v, n, r0, r1, base, dim, q, qOff);
                }
                return;
            }
            if (narrow != null) {
                if (metric == Metric.COSINE) {
                    CpuKernels.narrowDot8(out, v, n, r0, r1, base, dim, narrow[g], qOff);
                } else {
                    CpuKernels.narrowL28(out, v, n, r0, r1, base, dim, narrow[g], qOff);
                }
                return;
            }
            float[] q = groups[g];
            if (metric == Metric.COSINE) {
                switch (groupSize) {
                    case 1 -> CpuKernels.narrowDot1(out, v, n, r0, r1, base, dim, q, qOff);
                    default -> CpuKernels.narrowDot4(out, v, n, r0, r1, base, dim, q, qOff);
                }
            } else {
                switch (groupSize) {
                    case 1 -> CpuKernels.narrowL21(out, v, n, r0, r1, base, dim, q, qOff);
                    default -> CpuKernels.narrowL24(out, v, n, r0, r1, base, dim, q, qOff);
                }
            }
        }
    }

    /**
     * The final answer: per query, the candidates of all workers, cut at the relaxed global k-th
     * kernel key (every row of the canonical top-k passes it: see {@link Slack}), plus the forced
     * rows, rescored and ranked by {@link CanonicalScores}, which computes every reported score.
     */
    private static SearchResult merge(VectorSet data, float[][] queries, Candidates[] found, Slack slack,
            int[] forced, int k, Metric metric) {
        int nq = queries.length;
        int[][] rows = new int[nq][k];
        float[][] scores = new float[nq][k];
        for (int q = 0; q < nq; q++) {
            int total = 0;
            for (Candidates c : found) {
                total += c.candidateCount(q);
            }
            long[] all = new long[total];
            int at = 0;
            for (Candidates c : found) {
                at = c.collect(q, all, at);
            }
            Arrays.sort(all);  // packed order: best key first, then lower row
            float cut = slack.relax(TopK.keyOf(all[k - 1]));
            int[] candidates = new int[total + forced.length];
            int n = 0;
            for (int i = 0; i < total; i++) {
                if (i < k || !(TopK.keyOf(all[i]) < cut)) {  // NaN keys (sorted last) are kept
                    candidates[n++] = TopK.rowOf(all[i]);
                }
            }
            System.arraycopy(forced, 0, candidates, n, forced.length);
            candidates = Arrays.copyOf(candidates, n + forced.length);
            CanonicalScores.topK(data, queries[q], q, metric, k, candidates, rows[q], scores[q]);
        }
        return new SearchResult(metric, k, rows, scores);
    }
}
