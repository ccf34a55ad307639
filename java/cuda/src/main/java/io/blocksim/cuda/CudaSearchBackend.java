package io.blocksim.cuda;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.ScanMode;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.search.SearchRules;
import io.blocksim.Metric;
import io.blocksim.search.Norms;
import io.blocksim.search.ClosedStores;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.Segments;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.spi.ShardCodes;
import io.blocksim.store.RowCodes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * Exact top-k on an NVIDIA GPU with the blocksim kernels (kernels/README.md is the contract this
 * class is written from; native/backend_cuda.cpp and native/harness.cpp are its C++ twin).
 *
 * <p>Data: each shard is cut into pieces ({@link UploadPlan}) that stay resident in device memory
 * across searches under a budget below the free memory, least recently used evicted
 * ({@link ResidencyCache}). Pieces are copied from the mapped MemorySegments through two pinned
 * staging buffers on a copy stream while the compute stream scans the pieces before them; a piece
 * that does not fit the budget goes through one of two streaming slots instead, so a site larger
 * than the GPU is still searched (at PCIe speed).
 *
 * <p>Per search: queries are prepared on the host (cosine: normalized in double), then per piece
 * the fused scan (small Q, or no cuBLAS) or cuBLAS SGEMM tiles plus the exact select kernel (large
 * Q), every launch writing its own candidate lists; then the merge rounds and the final merge,
 * one stream, one synchronization before the download. Query batches keep the candidate buffer
 * bounded. Dimensions the kernels do not take ({@code D % 4 != 0}, {@code D > 4096}) and
 * {@code k > 1024} are answered by the CPU backend.
 *
 * <p>The kernels return more than k rows per query so that the host can prove they hold the
 * canonical top-k ({@link QueryPrep#finish}); a query whose k-th place is tied too widely for
 * that (a zero query, many duplicate rows) is answered by a CPU backend this one opens on first
 * need, counted by {@link #boundaryFallbacks}; so is a whole request with k above 1,008, where the
 * kernels' 1,024 rows leave too few past the k-th ({@link BoundaryCheck#provable}).
 *
 * <p>Thread safety: any number of threads may share one backend, but {@link #search} and
 * {@link #close} are {@code synchronized}, so searches run one at a time: the backend owns one
 * device context with one compute and one copy stream, and the residency cache, the staging
 * buffers, the streaming slots and the workspace are reused by every search; two searches at once
 * would interleave their launches and copies on those streams and overwrite each other's buffers.
 * {@link #close} waits for the running search to finish, then frees the device memory; every later
 * search throws a {@link ClosedException}. The statistics getters ({@link #residentBytes} and the
 * like) read without the lock and may lag behind a search that is running. A store closed during a search ends it with a {@link ClosedException}
 * ({@link ClosedStores}): the host reads the store's segments only through the JDK's checked copies.
 */
public final class CudaSearchBackend implements SearchBackend {
    /**
     * At and above this many queries (in a batch) the SGEMM path is used when cuBLAS is available:
     * past one scan chunk of 8 queries the scan reads the data once per chunk. H200, 858,923 x 384,
     * k = 10, scan vs SGEMM path: Q = 8 0.56 vs 0.87 ms, 12 1.01 vs 0.93, 64 3.50 vs 2.24.
     */
    public static final int GEMM_MIN_QUERIES = 9;

    /** From this many queries the host re-scores them on the common fork-join pool. */
    static final int PARALLEL_FINISH_QUERIES = 16;
    /** Queries per batch at most (the product's cap). */
    public static final int MAX_BATCH_QUERIES = 1024;
    /** Each candidate buffer is kept under this many bytes by shrinking the query batch. */
    public static final long CANDIDATE_BYTES_CAP = 256L << 20;
    /** Device memory kept out of the residency budget for the per-search workspace and cuBLAS. */
    public static final long WORKSPACE_RESERVE = 1L << 30;

    /** Device memory left free when a refusal caps the budget (the workspace is allocated by then). */
    private static final long OOM_HEADROOM_BYTES = 64L << 20;
    /** System property: residency budget in bytes (suffixes k, m, g), overriding the default. */
    public static final String BUDGET_PROPERTY = "blocksim.cuda.budget";
    /** System property: "false" turns the SGEMM path off (the fused scan serves every Q). */
    public static final String CUBLAS_PROPERTY = Cublas.MODE_PROPERTY;

    /** Tunables; {@link #defaults} derives them from the device's free memory. */
    public record Options(long budgetBytes, long pieceBytes, long stagingBytes, boolean useCublas, int gemmMinQueries) {
        public Options {
            if (budgetBytes < 0 || pieceBytes < 16 || stagingBytes < 16 || gemmMinQueries < 1) {
                throw new IllegalArgumentException("bad CUDA backend options: " + budgetBytes + ", " + pieceBytes
                        + ", " + stagingBytes + ", " + gemmMinQueries);
            }
        }

        /** Pieces of free/16 (64 MiB to 1 GiB), 64 MiB staging, the rest of free memory (90%) as budget. */
        public static Options defaults(long freeBytes) {
            long piece = Math.clamp(freeBytes / 16, 64L << 20, 1L << 30);
            long slots = 2 * (piece + piece / 4);
            long budget = Math.max(0, (long) ((freeBytes - WORKSPACE_RESERVE - slots) * 0.9));
            String b = System.getProperty(BUDGET_PROPERTY);
            if (b != null) {
                budget = parseBytes(b);
            }
            boolean cublas = !"false".equalsIgnoreCase(System.getProperty(CUBLAS_PROPERTY, "true"));
            return new Options(budget, piece, 64L << 20, cublas, GEMM_MIN_QUERIES);
        }

        public Options withBudget(long bytes) {
            return new Options(bytes, pieceBytes, stagingBytes, useCublas, gemmMinQueries);
        }

        public Options withPieceBytes(long bytes) {
            return new Options(budgetBytes, bytes, stagingBytes, useCublas, gemmMinQueries);
        }

        public Options withStagingBytes(long bytes) {
            return new Options(budgetBytes, pieceBytes, bytes, useCublas, gemmMinQueries);
        }

        public Options withCublas(boolean on) {
            return new Options(budgetBytes, pieceBytes, stagingBytes, on, gemmMinQueries);
        }

        public Options withGemmMinQueries(int q) {
            return new Options(budgetBytes, pieceBytes, stagingBytes, useCublas, q);
        }
    }

    /**
     * "512m", "2g", "1048576": bytes. Used for the system property {@value #BUDGET_PROPERTY}, which
     * the message names.
     *
     * @throws InvalidArgumentException for anything else (a negative or non-numeric count, or one
     *     that overflows a long)
     */
    public static long parseBytes(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT);
        long mul = 1;
        if (t.endsWith("k") || t.endsWith("m") || t.endsWith("g")) {
            mul = switch (t.charAt(t.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                default -> 1L << 30;
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Long.parseLong(t);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(v, mul);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new InvalidArgumentException("system property " + BUDGET_PROPERTY + " is '" + s
                    + "': give a byte count such as 8g or 512m");
        }
    }

    /** Device copies of a piece's rows and norms. */
    private record Block(DeviceHandles.DevicePtr vectors, DeviceHandles.DevicePtr norms) {
    }

    /** A grow-only device buffer of the workspace. */
    private static final class Buffer {
        final DeviceHandles.DevicePtr ptr = new DeviceHandles.DevicePtr();
        long bytes;

        DeviceHandles.DevicePtr ensure(long need) {
            if (need > bytes) {
                free();
                JCudaDriver.cuMemAlloc(ptr, Math.max(need, 256));
                bytes = Math.max(need, 256);
            }
            return ptr;
        }

        void free() {
            if (bytes > 0) {
                JCudaDriver.cuMemFree(ptr);
                bytes = 0;
            }
        }
    }

    private final CudaDevice device;
    private final Options options;
    private final DeviceHandles.Stream compute = new DeviceHandles.Stream();
    private final CUstream copy = new CUstream();
    private final CUevent uploaded = new CUevent();
    private final CUevent[] slotFree = {new CUevent(), new CUevent()};
    private final CUevent[] stagingFree = {new CUevent(), new CUevent()};
    private final Pointer[] staging = {new Pointer(), new Pointer()};
    private final MemorySegment[] stagingSegments = new MemorySegment[2];
    private final Block[] slots = new Block[2];
    private long slotBytes;
    private int nextSlot;
    private int nextStaging;
    private final ResidencyCache<PieceKey, Block> cache;
    private final Buffer queriesBuf = new Buffer();
    private final Buffer candA = new Buffer();
    private final Buffer candB = new Buffer();
    private final Buffer tile = new Buffer();
    private final Buffer outScores = new Buffer();
    private final Buffer outIds = new Buffer();
    private final Buffer statsBuf = new Buffer();
    private final Buffer boundsBuf = new Buffer();
    private final Buffer rescoredBuf = new Buffer();
    private final Cublas cublas;
    private final String cublasNote;
    private final SearchRules.NormsCache normsCache = new SearchRules.NormsCache();
    private String stage = "starting";
    private long streamedPieces;
    private long uploadedBytes;
    private long boundaryFallbacks;
    /** Times {@link #makeRoom} evicted pinned pieces (the compressed scan checks it did not happen under it). */
    private long roomMade;
    private CpuSearchBackend cpu;  // for the queries the boundary check cannot settle; opened on first need
    private boolean closed;

    private CudaSearchBackend(CudaDevice device, Options options) {
        this.device = device;
        this.options = options;
        device.makeCurrent();
        JCudaDriver.cuStreamCreate(compute, CUstream_flags.CU_STREAM_NON_BLOCKING);
        JCudaDriver.cuStreamCreate(copy, CUstream_flags.CU_STREAM_NON_BLOCKING);
        JCudaDriver.cuEventCreate(uploaded, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        for (int i = 0; i < 2; i++) {
            JCudaDriver.cuEventCreate(slotFree[i], CUevent_flags.CU_EVENT_DISABLE_TIMING);
            JCudaDriver.cuEventCreate(stagingFree[i], CUevent_flags.CU_EVENT_DISABLE_TIMING);
            long bytes = Math.min(options.stagingBytes(), UploadPlan.MAX_CHUNK_BYTES) & ~3L;
            JCudaDriver.cuMemAllocHost(staging[i], bytes);
            stagingSegments[i] = MemorySegment.ofBuffer(staging[i].getByteBuffer(0, bytes));
        }
        this.cache = new ResidencyCache<>(options.budgetBytes(), this::freeBlock);
        Cublas h = null;
        String note;
        if (!options.useCublas()) {
            note = "off (-D" + CUBLAS_PROPERTY + "=false): fused scan for every Q";
        } else {
            try {
                h = Cublas.open(System.getProperty(CUBLAS_PROPERTY, "auto"), compute);
                note = h.describe() + ": SGEMM + select for Q >= " + options.gemmMinQueries();
            } catch (Cublas.CublasUnavailableException e) {
                note = "no cuBLAS (" + e.getMessage() + "): fused scan for every Q";
            }
        }
        this.cublas = h;
        this.cublasNote = note;
    }

    /** A backend on the probed device with {@link Options#defaults}; the device must have passed the probe. */
    public static CudaSearchBackend open(CudaDevice device) {
        return open(device, null);
    }

    /** As {@link #open(CudaDevice)} with the given options (null: defaults from free memory). */
    public static CudaSearchBackend open(CudaDevice device, Options options) {
        try {
            device.makeCurrent();
            Options o = options != null ? options : Options.defaults(device.memoryInfo()[0]);
            return new CudaSearchBackend(device, o);
        } catch (CudaException e) {
            throw new CudaFailure("cannot set up the CUDA backend on " + device.name() + ": "
                    + CudaErrors.explain(e.getMessage()), e);
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** One line: device, budget, SGEMM path. */
    public String describe() {
        return device.describe() + "; resident budget " + CudaProbe.gib(options.budgetBytes()) + "; large Q: " + cublasNote;
    }

    public boolean hasCublas() {
        return cublas != null;
    }

    /** Bytes of shard data now resident on the device. */
    public long residentBytes() {
        return cache.used();
    }

    /** Pieces that went through a streaming slot (did not fit the budget), since creation. */
    public long streamedPieces() {
        return streamedPieces;
    }

    /**
     * Queries answered on the CPU because the device's extra candidates could not prove that they
     * hold the canonical top-k (many rows tied near the k-th), since creation.
     */
    public long boundaryFallbacks() {
        return boundaryFallbacks;
    }

    /** Bytes copied host to device for shard data, since creation. */
    public long uploadedBytes() {
        return uploadedBytes;
    }

    /** The kernels' contract: dim a multiple of 4 up to 4096, k up to {@link LaunchPlan#MAX_K}. */
    @Override
    public boolean supports(int dim, int k, Metric metric) {
        return kernelsRun(dim, k);
    }

    /** The kernels' contract, without a device: what {@link #supports} answers. */
    static boolean kernelsRun(int dim, int k) {
        return dim > 0 && dim % 4 == 0 && dim <= 4096 && k >= 1 && k <= LaunchPlan.MAX_K;
    }

    @Override
    public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
        return search(data, queries, k, metric, ScanMode.AUTO);
    }

    @Override
    public boolean supportsCodes() {
        return true;
    }

    /**
     * Up to this many queries {@link ScanMode#AUTO} takes the compressed scan on the device (when
     * the data has codes, {@code dim % 16 == 0} and the codes and floats fit the residency budget
     * together): one query chunk of the scan kernels, which then reads a quarter of the bytes. Not
     * yet measured on a GPU; the CPU's measured limit is {@link CpuSearchBackend#AUTO_CODES_MAX_QUERIES}.
     */
    public static final int AUTO_CODES_MAX_QUERIES = 8;

    /**
     * {@inheritDoc}
     *
     * <p>The compressed scan ({@link ScanMode#CODES}, or {@link ScanMode#AUTO} for at most
     * {@link #AUTO_CODES_MAX_QUERIES} queries) keeps each piece's codes resident beside its floats,
     * scans the codes for a proven interval of every row's canonical score, and re-ranks from the
     * floats only the rows whose upper bound reaches the k-th best lower bound (kernels/README.md,
     * "the compressed scan"). A {@link ScanMode#CODES} request the device cannot run that way
     * ({@code dim % 16 != 0}, or codes and floats above the residency budget) is answered by the CPU
     * backend's compressed scan, and the result says so.
     *
     * @throws InvalidArgumentException also for {@link ScanMode#CODES} on data without codes
     */
    @Override
    public synchronized SearchResult search(VectorSet data, float[][] queries, int k, Metric metric, ScanMode scan) {
        if (closed) {
            throw new ClosedException("the CUDA backend is closed");
        }
        try (var lease = data.guard().acquire()) {  // the shards stay mapped while they are uploaded
            return searchLeased(data, queries, k, metric, scan == null ? ScanMode.AUTO : scan);
        }
    }

    private SearchResult searchLeased(VectorSet data, float[][] queries, int k, Metric metric, ScanMode scan) {
        validate(data, queries, k);
        if (scan == ScanMode.CODES && !data.hasCodes()) {
            throw new InvalidArgumentException(SearchRules.NO_CODES);
        }
        int dim = data.dim();
        if (!supports(dim, k, metric)) {
            throw new InvalidArgumentException("the cuda backend does not run dim " + dim + " with k " + k
                    + " (it needs dim a multiple of 4 up to 4096 and k up to " + LaunchPlan.MAX_K
                    + "); route the request to the cpu backend");
        }
        if (!BoundaryCheck.provable(k, data.rows())) {
            // the kernels could not return enough rows past the k-th to prove it: every query would go to the CPU
            return cpu().search(data, queries, k, metric, scan).ranOn("cpu", "k = " + k + " leaves the cuda kernels"
                    + " (at most " + LaunchPlan.MAX_K + " rows a query) too few rows past the k-th to prove it exactly;"
                    + " the cpu backend ran it");
        }
        try {
            stage = "preparing";
            device.makeCurrent();
            cache.removeIf(PieceKey::stale);
            List<VectorShard> shards = data.shards();
            MemorySegment[] norms = new MemorySegment[shards.size()];
            int[] rows = new int[shards.size()];
            int[] first = new int[shards.size()];
            for (int i = 0; i < shards.size(); i++) {
                norms[i] = normsCache.of(shards.get(i), dim);
                rows[i] = shards.get(i).rows();
                first[i] = shards.get(i).firstRow();
            }
            List<UploadPlan.Piece> pieces = UploadPlan.pieces(rows, first, dim, options.pieceBytes());
            int nq = queries.length;
            boolean codes = scan != ScanMode.FLOAT32 && data.hasCodes() && LaunchPlan.codesRun(dim)
                    && (scan == ScanMode.CODES || nq <= AUTO_CODES_MAX_QUERIES)
                    && codesFit(shards, pieces, dim);
            Block[][] resident = codes ? residentForCodes(shards, norms, pieces, dim) : null;
            if (scan == ScanMode.CODES && resident == null) {
                String why = !LaunchPlan.codesRun(dim) ? "its compressed scan needs dim a multiple of 16 (here " + dim + ")"
                        : codes ? "the device ran short of memory for the codes and floats (other processes hold it)"
                        : "its codes and floats do not fit the device's residency budget together";
                return cpu().search(data, queries, k, metric, ScanMode.CODES).ranOn("cpu",
                        "the cuda backend did not run the compressed scan (" + why + "); the cpu backend ran it");
            }
            codes = resident != null;  // auto: the float32 scan when the device ran short
            float[] prepared = QueryPrep.prepare(queries, metric);
            int setRows = data.rows();
            int m = BoundaryCheck.candidates(k, setRows);
            int[][] candidates = new int[nq][];
            float[][] keys = new float[nq][];
            int[] rescored = codes ? new int[nq] : null;
            if (codes) {
                double[] stats = QueryPrep.stats(queries);
                int batch = codesBatchSize(pieces, nq, k, m, metric, setRows);
                for (int q0 = 0; q0 < nq; q0 += batch) {
                    int n = Math.min(batch, nq - q0);
                    runCodesBatch(resident, pieces, prepared, stats, q0, n, dim, k, m, metric, setRows,
                            candidates, keys, rescored);
                }
            } else {
                int batch = batchSize(pieces, nq, m, metric);
                for (int q0 = 0; q0 < nq; q0 += batch) {
                    int n = Math.min(batch, nq - q0);
                    runBatch(shards, norms, pieces, prepared, q0, n, dim, m, metric, candidates, keys);
                }
            }
            int[][] outRows = new int[nq][];
            float[][] outScoresAll = new float[nq][];
            List<Integer> onCpu = new ArrayList<>();
            for (int q = 0; q < nq; q++) {
                if (BoundaryCheck.certain(keys[q], candidates[q], k, setRows, metric, dim)) {
                    outRows[q] = new int[k];
                    outScoresAll[q] = new float[k];
                    candidates[q] = BoundaryCheck.withoutPadding(candidates[q]);
                } else {
                    onCpu.add(q);
                }
            }
            // the host re-score (double, D reads per row) cost ~15 us a query on one core: 15 ms at Q = 1,024 (H200 run,
            // k = 10 rows a query; it now reads the m candidates)
            boolean shareable = true;  // a confined arena's segments may be read by this thread alone
            for (int i = 0; i < shards.size(); i++) {
                shareable &= Segments.shareable(shards.get(i).vectors()) && Segments.shareable(norms[i]);
            }
            java.util.stream.IntStream qs = java.util.stream.IntStream.range(0, nq);
            (shareable && nq >= PARALLEL_FINISH_QUERIES ? qs.parallel() : qs).filter(q -> outRows[q] != null).forEach(
                    q -> QueryPrep.finish(data, queries[q], q, metric, k, candidates[q], outRows[q], outScoresAll[q]));
            if (!onCpu.isEmpty()) {
                float[][] tied = new float[onCpu.size()][];
                for (int i = 0; i < tied.length; i++) {
                    tied[i] = queries[onCpu.get(i)];
                }
                SearchResult r = cpu().search(data, tied, k, metric, codes ? ScanMode.CODES : ScanMode.FLOAT32);
                for (int i = 0; i < tied.length; i++) {
                    outRows[onCpu.get(i)] = r.rows()[i];
                    outScoresAll[onCpu.get(i)] = r.scores()[i];
                    if (codes && r.rescored() != null) {
                        rescored[onCpu.get(i)] = r.rescored()[i];
                    }
                }
                boundaryFallbacks += tied.length;
            }
            return new SearchResult(metric, k, outRows, outScoresAll, null, null,
                    codes ? SearchResult.SCAN_CODES : SearchResult.SCAN_FLOAT32, rescored);
        } catch (CudaException e) {
            drainStreams();
            throw new CudaFailure("CUDA search failed while " + stage + ": " + CudaErrors.explain(e.getMessage()), e);
        } catch (RuntimeException e) {
            drainStreams();
            throw ClosedStores.translate(data, e);  // a store closed under the upload: ClosedException
        } catch (Error e) {
            drainStreams();
            throw e;
        } finally {
            cache.unpinAll();
        }
    }

    /** The CPU backend for what the device does not settle, opened on first need and closed with this one. */
    private CpuSearchBackend cpu() {
        if (cpu == null) {
            cpu = new CpuSearchBackend();
        }
        return cpu;
    }

    /**
     * Whether every piece's codes and floats can be resident at once: the compressed scan reads the
     * floats of its survivors only after the codes of the whole set were scanned, so it does not
     * stream pieces.
     */
    private boolean codesFit(List<VectorShard> shards, List<UploadPlan.Piece> pieces, int dim) {
        long need = 0;
        for (UploadPlan.Piece p : pieces) {
            need += p.vectorBytes(dim) + 2L * p.rows() * Float.BYTES + codeBytes(p, dim);
        }
        return need <= cache.budget();
    }

    private static long codeBytes(UploadPlan.Piece p, int dim) {
        return (long) p.rows() * dim + (long) p.rows() * RowCodes.SCALE_COLUMNS * Float.BYTES;
    }

    /**
     * Queries per compressed-scan batch: the upper bounds ({@code Q x rows} floats) and both
     * candidate buffers each kept under {@link #CANDIDATE_BYTES_CAP}.
     */
    private int codesBatchSize(List<UploadPlan.Piece> pieces, int nq, int k, int m, Metric metric, int setRows) {
        int b = Math.min(nq, MAX_BATCH_QUERIES);
        while (b > 1 && ((long) b * setRows * Float.BYTES > CANDIDATE_BYTES_CAP
                || (long) b * codeLists(pieces, b, k, metric) * k * Long.BYTES > CANDIDATE_BYTES_CAP
                || (long) b * rerankLists(pieces, b, m, metric) * m * Long.BYTES > CANDIDATE_BYTES_CAP)) {
            b = (b + 1) / 2;
        }
        return b;
    }

    private LaunchPlan.Scan codeScanPlan(int rows, int nq, int k, Metric metric) {
        return LaunchPlan.planCodeScan(rows, nq, k, metric, device.smCount(), device::occupancy, device.maxSmemOptin());
    }

    private long codeLists(List<UploadPlan.Piece> pieces, int nq, int k, Metric metric) {
        long n = 0;
        for (UploadPlan.Piece p : pieces) {
            n += codeScanPlan(p.rows(), nq, k, metric).rowBlocks();
        }
        return n;
    }

    private int rerankChunk(int rows, int nq, int m, Metric metric) {
        String kernel = LaunchPlan.rerankKernel(metric);
        long slots = (long) device.smCount() * Math.max(1, device.occupancy(kernel, LaunchPlan.rerankSmem(m)));
        return LaunchPlan.rerankChunk(m, rows, nq, slots);
    }

    private long rerankLists(List<UploadPlan.Piece> pieces, int nq, int m, Metric metric) {
        long n = 0;
        for (UploadPlan.Piece p : pieces) {
            n += LaunchPlan.ceilDiv(p.rows(), rerankChunk(p.rows(), nq, m, metric));
        }
        return n;
    }

    /**
     * The compressed scan of queries {@code q0..q0+nq-1}: per piece the code scan (lower bounds into
     * lists of k, upper bounds into the bounds buffer), those lists merged to one list of k per
     * query (its k-th: tau), per piece the gather re-rank of the rows whose upper bound reaches tau
     * (their float32 keys, m best per block), then the merges; out: the m best rows and their keys
     * (padded with row -1 where fewer rows survived) and the rows re-scored per query.
     */
    private void runCodesBatch(Block[][] resident, List<UploadPlan.Piece> pieces,
            float[] prepared, double[] stats, int q0, int nq, int dim, int k, int m, Metric metric, int setRows,
            int[][] outRows, float[][] outKeys, int[] outRescored) {
        long listsLo = codeLists(pieces, nq, k, metric);
        long strideLo = listsLo * k;
        LaunchPlan.Merge mergeLo = LaunchPlan.planMerge(strideLo, k);
        long listsRe = rerankLists(pieces, nq, m, metric);
        long strideRe = listsRe * m;
        LaunchPlan.Merge mergeRe = LaunchPlan.planMerge(strideRe, m);
        stage = "allocating the workspace";
        DevicePtrs w = new DevicePtrs(
                queriesBuf.ensure((long) nq * dim * Float.BYTES),
                statsBuf.ensure((long) nq * 2 * Double.BYTES),
                boundsBuf.ensure((long) nq * setRows * Float.BYTES),
                rescoredBuf.ensure((long) nq * Integer.BYTES));
        // lists, merge rounds, tau and the re-rank's lists all ping-pong between candA and candB: both
        // are sized for every use before the first launch (a buffer reallocated under queued kernels
        // would be freed while they read it)
        long most = Math.max(Math.max(strideLo, strideRe), Math.max(Math.max(mergeLo.maxOutStride(), k),
                mergeRe.maxOutStride()));
        CUdeviceptr a = candA.ensure((long) nq * most * Long.BYTES);
        CUdeviceptr b = candB.ensure((long) nq * most * Long.BYTES);
        CUdeviceptr scores = outScores.ensure((long) nq * m * Float.BYTES);
        CUdeviceptr ids = outIds.ensure((long) nq * m * Integer.BYTES);
        stage = "uploading the queries";
        float[] batchQueries = java.util.Arrays.copyOfRange(prepared, Math.multiplyExact(q0, dim),
                Math.multiplyExact(q0 + nq, dim));
        double[] batchStats = java.util.Arrays.copyOfRange(stats, 2 * q0, 2 * (q0 + nq));
        JCudaDriver.cuMemcpyHtoD(w.queries(), Pointer.to(batchQueries), (long) nq * dim * Float.BYTES);
        JCudaDriver.cuMemcpyHtoD(w.stats(), Pointer.to(batchStats), (long) nq * 2 * Double.BYTES);
        JCudaDriver.cuCtxSynchronize();  // pageable copies: finished before any launch (see runBatch)
        JCudaDriver.cuMemsetD32Async(w.rescored(), 0, nq, compute);
        JCudaDriver.cuMemsetD8Async(a, (byte) 0, (long) nq * strideLo * Long.BYTES, compute);

        int listOffset = 0;
        for (int i = 0; i < pieces.size(); i++) {
            UploadPlan.Piece p = pieces.get(i);
            Block floats = resident[i][0];
            Block codes = resident[i][1];  // Block(codes, scales)
            LaunchPlan.Scan plan = codeScanPlan(p.rows(), nq, k, metric);
            stage = "launching " + plan.kernel();
            launch(plan.kernel(), plan.qChunks(), plan.rowBlocks(), plan.smem(),
                    codes.vectors(), codes.norms(), floats.norms(), p.rows(), dim, w.queries(), w.stats(), nq, k,
                    plan.rowsPerBlock(), p.idBase(), w.bounds(), (long) setRows, a, strideLo, listOffset);
            listOffset += plan.rowBlocks();
        }
        stage = "merging the lower bounds";
        CUdeviceptr[] ends = mergeRounds(mergeLo, a, b, strideLo, k, nq);
        // one block per query takes what is left down to its k best: tau is the k-th
        CUdeviceptr tau = ends[1];
        launch(LaunchPlan.MERGE_CANDIDATES, 1, nq, LaunchPlan.mergeSmem(k),
                ends[0], mergeLo.finalStride(strideLo),
                (int) mergeLo.finalM(), k, (int) Math.max(1, mergeLo.finalM()), tau, (long) k);
        // the re-rank writes its lists into the buffer that does not hold tau; its merge rounds may
        // then overwrite tau, after the re-rank read it (one stream)
        CUdeviceptr re = ends[0];
        JCudaDriver.cuMemsetD8Async(re, (byte) 0, (long) nq * strideRe * Long.BYTES, compute);
        listOffset = 0;
        String rerank = LaunchPlan.rerankKernel(metric);
        for (int i = 0; i < pieces.size(); i++) {
            UploadPlan.Piece p = pieces.get(i);
            int chunk = rerankChunk(p.rows(), nq, m, metric);
            int blocks = (int) LaunchPlan.ceilDiv(p.rows(), chunk);
            stage = "launching " + rerank;
            launch(rerank, blocks, nq, LaunchPlan.rerankSmem(m),
                    resident[i][0].vectors(), resident[i][0].norms(), p.rows(), dim, w.queries(), w.bounds(), (long) setRows,
                    tau, (long) k, k, m, chunk, p.idBase(), w.rescored(), re, strideRe, listOffset);
            listOffset += blocks;
        }
        mergeAndDownload(mergeRe, re, tau, strideRe, m, nq, scores, ids, q0, outRows, outKeys);
        int[] counts = new int[nq];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(counts), w.rescored(), (long) nq * Integer.BYTES);
        System.arraycopy(counts, 0, outRescored, q0, nq);
    }

    /**
     * The merge rounds and the final merge (raw keys) of {@code nq} queries' candidate lists, one
     * synchronization, then each query's {@code k} best rows and keys into {@code outRows[q0 + q]}
     * and {@code outKeys[q0 + q]}.
     */
    private void mergeAndDownload(LaunchPlan.Merge merge, CUdeviceptr from, CUdeviceptr spare, long stride, int k,
            int nq, CUdeviceptr scores, CUdeviceptr ids, int q0, int[][] outRows, float[][] outKeys) {
        stage = "merging candidates";
        CUdeviceptr[] ends = mergeRounds(merge, from, spare, stride, k, nq);
        launch(LaunchPlan.MERGE_FINAL, 1, nq, LaunchPlan.mergeSmem(k),
                ends[0], merge.finalStride(stride), (int) merge.finalM(), k, LaunchPlan.METRIC_KEYS, scores, ids);
        stage = "running the kernels";
        JCudaDriver.cuStreamSynchronize(compute);
        stage = "downloading the results";
        float[] sc = new float[nq * k];
        int[] id = new int[nq * k];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(sc), scores, (long) sc.length * Float.BYTES);
        JCudaDriver.cuMemcpyDtoH(Pointer.to(id), ids, (long) id.length * Integer.BYTES);
        for (int q = 0; q < nq; q++) {
            outRows[q0 + q] = java.util.Arrays.copyOfRange(id, q * k, q * k + k);
            outKeys[q0 + q] = java.util.Arrays.copyOfRange(sc, q * k, q * k + k);
        }
    }

    /** The compressed scan's device buffers of one batch. */
    private record DevicePtrs(CUdeviceptr queries, CUdeviceptr stats, CUdeviceptr bounds, CUdeviceptr rescored) {
    }

    /**
     * The merge rounds of {@code merge} (each reduces chunks of candidates to their best {@code k}),
     * ping-ponging between {@code from} and {@code spare}; returns {the buffer that holds the
     * result, the other one}.
     */
    private CUdeviceptr[] mergeRounds(LaunchPlan.Merge merge, CUdeviceptr from, CUdeviceptr spare, long stride, int k, int nq) {
        CUdeviceptr cur = from;
        CUdeviceptr other = spare;
        int chunk = LaunchPlan.mergeChunk(k);
        for (LaunchPlan.MergeRound r : merge.rounds()) {
            launch(LaunchPlan.MERGE_CANDIDATES, r.blocks(), nq, LaunchPlan.mergeSmem(k),
                    cur, stride, (int) r.m(), k, chunk, other, r.outStride());
            CUdeviceptr t = cur;
            cur = other;
            other = t;
            stride = r.outStride();
        }
        return new CUdeviceptr[] {cur, other};
    }

    /**
     * Every piece's floats and codes resident (and pinned for this search) before the compressed
     * scan's first launch: {@code [piece][0]} the floats and norms, {@code [piece][1]} the codes and
     * scales. Null when any does not fit, or when the device refused memory on the way: making room
     * then evicts every unpinned and pinned piece, this search's own among them, so none of those
     * blocks may be used (the caller runs the float32 scan, which uploads again, or hands a
     * {@link ScanMode#CODES} request to the CPU).
     */
    private Block[][] residentForCodes(List<VectorShard> shards, MemorySegment[] norms, List<UploadPlan.Piece> pieces,
            int dim) {
        long before = roomMade;
        Block[][] out = new Block[pieces.size()][];
        for (int i = 0; i < pieces.size(); i++) {
            UploadPlan.Piece p = pieces.get(i);
            VectorShard s = shards.get(p.shard());
            stage = "uploading rows " + p.idBase() + ".." + (p.idBase() + p.rows() - 1) + " with their codes";
            Block floats = residentOrNull(s, norms[p.shard()], p, dim);
            Block codes = floats == null ? null : residentCodesOrNull(s, p, dim);
            if (codes == null || roomMade != before) {
                return null;
            }
            out[i] = new Block[] {floats, codes};
        }
        return out;
    }

    /** The piece's codes and code scales, resident (uploaded now if the budget allows), or null. */
    private Block residentCodesOrNull(VectorShard s, UploadPlan.Piece p, int dim) {
        ShardCodes c = s.codes();
        PieceKey key = new PieceKey(c.codes(), c.scales(), p.firstRow(), p.rows(), dim);
        Block blk = cache.get(key);
        if (blk != null) {
            return blk;
        }
        long codeBytes = (long) p.rows() * dim;
        long scaleBytes = (long) p.rows() * RowCodes.SCALE_COLUMNS * Float.BYTES;
        Block made;
        try {
            made = cache.admit(key, codeBytes + scaleBytes, () -> allocBlock(codeBytes, scaleBytes));
        } catch (CudaException e) {
            makeRoom(e);
            return null;
        }
        if (made != null) {
            try {
                copyIn(c.codes(), (long) p.firstRow() * dim, made.vectors(), codeBytes);
                copyIn(c.scales(), (long) p.firstRow() * RowCodes.SCALE_COLUMNS * Float.BYTES, made.norms(), scaleBytes);
                JCudaDriver.cuEventRecord(uploaded, copy);
                JCudaDriver.cuStreamWaitEvent(compute, uploaded, 0);
            } catch (RuntimeException | Error e) {
                drainStreams();
                cache.remove(key);
                throw e;
            }
        }
        return made;
    }

    /** After a failure: let queued work finish before buffers are reused or blocks evicted. */
    private void drainStreams() {
        for (CUstream st : new CUstream[] {copy, compute}) {
            try {
                JCudaDriver.cuStreamSynchronize(st);
            } catch (RuntimeException ignored) {
                // the device may be gone; the original error is the one to report
            }
        }
    }

    /** The largest batch (at most 1024 queries) whose candidate lists fit {@link #CANDIDATE_BYTES_CAP}. */
    private int batchSize(List<UploadPlan.Piece> pieces, int nq, int k, Metric metric) {
        int b = Math.min(nq, MAX_BATCH_QUERIES);
        while (b > 1 && (long) b * totalLists(pieces, b, k, metric) * k * Long.BYTES > CANDIDATE_BYTES_CAP) {
            b = (b + 1) / 2;
        }
        return b;
    }

    private boolean gemm(int nq) {
        return cublas != null && nq >= options.gemmMinQueries();
    }

    /** Select blocks resident at once on the device (its SMs times the kernel's occupancy). */
    private long selectSlots(int k, Metric metric) {
        return (long) device.smCount() * Math.max(1, device.occupancy(LaunchPlan.selectKernel(metric),
                LaunchPlan.selectSmem(k, metric)));
    }

    private LaunchPlan.Scan scanPlan(int rows, int nq, int k, Metric metric) {
        return LaunchPlan.planScan(rows, nq, k, metric, device.smCount(), device::occupancy, device.maxSmemOptin());
    }

    private long lists(UploadPlan.Piece p, int nq, int k, Metric metric) {
        if (gemm(nq)) {
            return LaunchPlan.gemmLists(p.rows(), LaunchPlan.gemmTileRows(p.rows(), nq), k, nq, selectSlots(k, metric));
        }
        return scanPlan(p.rows(), nq, k, metric).rowBlocks();
    }

    private long totalLists(List<UploadPlan.Piece> pieces, int nq, int k, Metric metric) {
        long n = 0;
        for (UploadPlan.Piece p : pieces) {
            n += lists(p, nq, k, metric);
        }
        return n;
    }

    /**
     * The device's {@code k} best rows of queries {@code q0..q0+nq-1} by kernel key, best first,
     * into {@code outRows} and their raw keys into {@code outKeys} (the caller passes k = m, the
     * candidates per query: {@link BoundaryCheck#candidates}).
     */
    private void runBatch(List<VectorShard> shards, MemorySegment[] norms, List<UploadPlan.Piece> pieces,
            float[] prepared, int q0, int nq, int dim, int k, Metric metric, int[][] outRows, float[][] outKeys) {
        boolean gemm = gemm(nq);
        long total = totalLists(pieces, nq, k, metric);
        long candStride = total * k;
        LaunchPlan.Merge merge = LaunchPlan.planMerge(candStride, k);
        stage = "allocating the workspace";
        DeviceHandles.DevicePtr qDev = queriesBuf.ensure((long) nq * dim * Float.BYTES);
        CUdeviceptr a = candA.ensure((long) nq * candStride * Long.BYTES);
        CUdeviceptr b = candB.ensure(Math.max(1, (long) nq * merge.maxOutStride() * Long.BYTES));
        CUdeviceptr scores = outScores.ensure((long) nq * k * Float.BYTES);
        CUdeviceptr ids = outIds.ensure((long) nq * k * Integer.BYTES);
        stage = "uploading the queries";
        // From pageable memory the copy may return before its DMA lands, and it runs on the legacy
        // stream, which the non-blocking compute stream does not wait for: finish it before any launch.
        float[] batchQueries = java.util.Arrays.copyOfRange(prepared, Math.multiplyExact(q0, dim),
                Math.multiplyExact(q0 + nq, dim));
        JCudaDriver.cuMemcpyHtoD(qDev, Pointer.to(batchQueries), (long) nq * dim * Float.BYTES);
        JCudaDriver.cuCtxSynchronize();
        JCudaDriver.cuMemsetD8Async(a, (byte) 0, (long) nq * candStride * Long.BYTES, compute);
        if (gemm) {
            // the score tile is sized once for the batch: freeing it between pieces would race queued kernels
            long maxTile = 0;
            for (UploadPlan.Piece p : pieces) {
                maxTile = Math.max(maxTile, (long) LaunchPlan.gemmTileRows(p.rows(), nq) * nq * Float.BYTES);
            }
            tile.ensure(maxTile);
        }
        int listOffset = 0;
        for (UploadPlan.Piece p : pieces) {
            VectorShard s = shards.get(p.shard());
            stage = "uploading rows " + p.idBase() + ".." + (p.idBase() + p.rows() - 1);
            int slot = -1;
            Block blk = residentOrNull(s, norms[p.shard()], p, dim);
            if (blk == null) {
                slot = nextSlot;
                nextSlot ^= 1;
                blk = slot(slot, dim);
                JCudaDriver.cuStreamWaitEvent(copy, slotFree[slot], 0);  // its previous piece is scanned
                upload(s, norms[p.shard()], p, dim, blk);
                streamedPieces++;
            }
            if (gemm) {
                listOffset += launchGemm(blk, p, qDev, nq, dim, k, metric, a, candStride, listOffset);
            } else {
                LaunchPlan.Scan plan = scanPlan(p.rows(), nq, k, metric);
                stage = "launching " + plan.kernel();
                launch(plan.kernel(), plan.qChunks(), plan.rowBlocks(), plan.smem(),
                        blk.vectors(), blk.norms(), p.rows(), dim, qDev, nq, k, plan.rowsPerBlock(), p.idBase(),
                        a, candStride, listOffset);
                listOffset += plan.rowBlocks();
            }
            if (slot >= 0) {
                JCudaDriver.cuEventRecord(slotFree[slot], compute);
            }
        }
        mergeAndDownload(merge, a, b, candStride, k, nq, scores, ids, q0, outRows, outKeys);
    }

    /** SGEMM tiles of the piece into the score tile, each followed by the exact select; returns the lists written. */
    private int launchGemm(Block blk, UploadPlan.Piece p, DeviceHandles.DevicePtr qDev, int nq, int dim, int k, Metric metric,
            CUdeviceptr cand, long candStride, int listOffset) {
        int tileRows = LaunchPlan.gemmTileRows(p.rows(), nq);
        DeviceHandles.DevicePtr s = tile.ensure((long) tileRows * nq * Float.BYTES);
        long slots = selectSlots(k, metric);
        String kernel = LaunchPlan.selectKernel(metric);
        long smem = LaunchPlan.selectSmem(k, metric);
        int lists = 0;
        for (int t0 = 0; t0 < p.rows(); t0 += tileRows) {
            int rows = Math.min(tileRows, p.rows() - t0);
            long rowOff = (long) t0 * dim * Float.BYTES;
            stage = "cuBLAS SGEMM of rows " + (p.idBase() + t0) + "+" + rows;
            // column-major: S (rows x nq, ld tileRows) = X_tile^T (rows x D) * Q (D x nq)
            cublas.sgemmTN(rows, nq, dim, blk.vectors().address() + rowOff, dim, qDev.address(), dim, s.address(), tileRows);
            int chunkLen = LaunchPlan.selectChunk(k, rows, nq, slots);
            int blocks = LaunchPlan.selectLists(rows, k, nq, slots);
            stage = "launching " + kernel;
            launch(kernel, blocks, nq, smem, s, (long) tileRows, rows, blk.norms().withByteOffset((long) t0 * Float.BYTES),
                    blk.vectors().withByteOffset(rowOff), dim, qDev, 0.0f, k, chunkLen, p.idBase() + t0,
                    cand, candStride, listOffset + lists);
            lists += blocks;
        }
        return lists;
    }

    /** Launches a kernel on the compute stream; args are CUdeviceptr, Integer, Long or Float, in the contract's order. */
    private void launch(String kernel, int gridX, int gridY, long smem, Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("kernel argument " + i + " of " + kernel + ": " + args[i]);
            };
        }
        int limit = device.dynamicSmemLimit(kernel);
        if (smem > limit) {  // the plans keep under it; a launch over it would fail with a less clear error
            throw new IllegalStateException(kernel + " planned with " + smem + " B of shared memory; the device allows " + limit + " B");
        }
        JCudaDriver.cuLaunchKernel(device.function(kernel), gridX, gridY, 1, LaunchPlan.THREADS, 1, 1, (int) smem,
                compute, Pointer.to(params), null);
    }

    /** The piece's resident block (uploading it now if the budget allows), or null when it must be streamed. */
    private Block residentOrNull(VectorShard s, MemorySegment norms, UploadPlan.Piece p, int dim) {
        PieceKey key = new PieceKey(s.vectors(), norms, p.firstRow(), p.rows(), dim);
        Block blk = cache.get(key);
        if (blk != null) {
            return blk;  // uploaded by an earlier search or batch: the compute stream is already past it
        }
        long vec = p.vectorBytes(dim);
        long nb = (long) p.rows() * Float.BYTES;
        Block made;
        try {
            made = cache.admit(key, vec + nb, () -> allocBlock(vec, nb));
        } catch (CudaException e) {
            // the budget allowed it but the device did not (other processes): make room, cap the budget, retry once
            makeRoom(e);
            try {
                made = cache.admit(key, vec + nb, () -> allocBlock(vec, nb));
            } catch (CudaException again) {
                made = null;
            }
        }
        if (made != null) {
            try {
                upload(s, norms, p, dim, made);
            } catch (RuntimeException | Error e) {
                drainStreams();     // no copy may still be writing into it
                cache.remove(key);  // half-filled: never serve it as resident
                throw e;
            }
        }
        return made;
    }

    private Block allocBlock(long vecBytes, long normBytes) {
        DeviceHandles.DevicePtr v = new DeviceHandles.DevicePtr();
        DeviceHandles.DevicePtr n = new DeviceHandles.DevicePtr();
        JCudaDriver.cuMemAlloc(v, Math.max(vecBytes, 16));
        try {
            JCudaDriver.cuMemAlloc(n, Math.max(normBytes, 16));
        } catch (CudaException e) {
            JCudaDriver.cuMemFree(v);
            throw e;
        }
        return new Block(v, n);
    }

    private void freeBlock(Block b) {
        JCudaDriver.cuMemFree(b.vectors());
        JCudaDriver.cuMemFree(b.norms());
    }

    /**
     * After the device refused memory the budget allowed: waits for the queued kernels (so no piece
     * of this search is still read), frees every resident piece, this search's too, and (out of
     * memory: other processes hold the rest) caps the budget at what is free now less room for the
     * two streaming slots and the workspace. The cap stays for the backend's life. Other errors
     * are thrown on.
     */
    private void makeRoom(CudaException cause) {
        if (!String.valueOf(cause.getMessage()).startsWith("CUDA_ERROR_OUT_OF_MEMORY")) {
            throw cause;
        }
        roomMade++;
        JCudaDriver.cuStreamSynchronize(compute);
        cache.unpinAll();
        cache.evictUnpinned();
        long slotsBytes = 2 * (Math.max(options.pieceBytes(), 16) * 5 / 4 + 32);
        cache.capBudget(device.memoryInfo()[0] - slotsBytes - OOM_HEADROOM_BYTES);
    }

    /** Streaming slot {@code i}, allocated on first use (pieces never exceed the piece size). */
    private Block slot(int i, int dim) {
        if (slots[i] == null) {
            slotBytes = Math.max(options.pieceBytes(), ((long) dim * Float.BYTES + 15) & ~15L);  // at least one row
            try {
                slots[i] = allocBlock(slotBytes, slotBytes / 4 + 16);
            } catch (CudaException e) {
                makeRoom(e);
                slots[i] = allocBlock(slotBytes, slotBytes / 4 + 16);
            }
        }
        return slots[i];
    }

    /**
     * Copies a piece's rows and norms into {@code blk} on the copy stream through the pinned staging
     * buffers (the host fills one while the other is in flight), then makes the compute stream wait.
     */
    private void upload(VectorShard s, MemorySegment norms, UploadPlan.Piece p, int dim, Block blk) {
        long rowBytes = (long) dim * Float.BYTES;
        copyIn(s.vectors(), p.firstRow() * rowBytes, blk.vectors(), p.vectorBytes(dim));
        copyIn(norms, (long) p.firstRow() * Float.BYTES, blk.norms(), (long) p.rows() * Float.BYTES);
        JCudaDriver.cuEventRecord(uploaded, copy);
        JCudaDriver.cuStreamWaitEvent(compute, uploaded, 0);
    }

    private void copyIn(MemorySegment src, long srcOffset, CUdeviceptr dst, long bytes) {
        for (UploadPlan.Chunk c : UploadPlan.chunks(bytes, stagingSegments[0].byteSize())) {
            int i = nextStaging;
            nextStaging ^= 1;
            JCudaDriver.cuEventSynchronize(stagingFree[i]);  // its previous copy has left the buffer
            MemorySegment.copy(src, srcOffset + c.offset(), stagingSegments[i], 0, c.bytes());
            JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(c.offset()), staging[i], c.bytes(), copy);
            JCudaDriver.cuEventRecord(stagingFree[i], copy);
            uploadedBytes += c.bytes();
        }
    }

    /** The same checks and messages as the CPU backend, so both refuse the same input alike. */
    static void validate(VectorSet data, float[][] queries, int k) {
        SearchRules.validate(data, queries, k);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> errors = new ArrayList<>();
        Runnable[] steps = {
            device::makeCurrent,
            () -> JCudaDriver.cuStreamSynchronize(copy),
            () -> JCudaDriver.cuStreamSynchronize(compute),
            cache::clear,
            () -> {
                for (int i = 0; i < 2; i++) {
                    if (slots[i] != null) {
                        freeBlock(slots[i]);
                        slots[i] = null;
                    }
                }
            },
            queriesBuf::free, candA::free, candB::free, tile::free, outScores::free, outIds::free,
            statsBuf::free, boundsBuf::free, rescoredBuf::free,
            () -> {
                if (cpu != null) {
                    cpu.close();
                }
            },
            () -> {
                for (int i = 0; i < 2; i++) {
                    JCudaDriver.cuMemFreeHost(staging[i]);
                    JCudaDriver.cuEventDestroy(slotFree[i]);
                    JCudaDriver.cuEventDestroy(stagingFree[i]);
                }
                JCudaDriver.cuEventDestroy(uploaded);
            },
            () -> {
                if (cublas != null) {
                    cublas.close();
                }
            },
            () -> JCudaDriver.cuStreamDestroy(copy),
            () -> JCudaDriver.cuStreamDestroy(compute),
        };
        for (Runnable r : steps) {
            try {
                r.run();
            } catch (RuntimeException e) {
                errors.add(e);  // keep releasing the rest
            }
        }
        normsCache.clear();
        if (!errors.isEmpty()) {
            throw new CudaFailure("closing the CUDA backend: " + CudaErrors.oneLine(errors.get(0)), errors.get(0));
        }
    }
}
