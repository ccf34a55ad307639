package io.blocksim.cuda;

import io.blocksim.Metric;

import java.util.ArrayList;
import java.util.List;

/**
 * Launch planning for the blocksim kernels: the Java twin of {@code native/bs_plan.h}, written from
 * the host contract in {@code kernels/README.md}. Pure arithmetic, no CUDA: unit tested on any
 * machine. Keep the three in step.
 */
public final class LaunchPlan {
    /** Threads per block of every kernel. */
    public static final int THREADS = 256;
    /** Largest k the kernels accept. */
    public static final int MAX_K = 1024;
    /** Largest query count per launch the kernels accept (grid y of the selects and merges). */
    public static final int MAX_QUERIES = 65535;
    /** Score tiles of the SGEMM path are kept under this many bytes (what the harness uses). */
    public static final long GEMM_TILE_BYTES = 256L << 20;
    /** The kernels' merge_final metric argument: report cosine scores. */
    public static final int METRIC_COSINE = 0;
    /** merge_final reports L2 distances (the square root of the squared distance). */
    public static final int METRIC_L2 = 1;
    /**
     * merge_final reports the raw packed keys, either metric: the cosine score or
     * {@code -(squared L2 distance)}; a missing entry is id -1 with NaN (ABI version 2).
     */
    public static final int METRIC_KEYS = 2;

    private LaunchPlan() {
    }

    public static int metricCode(Metric m) {
        return m == Metric.L2 ? METRIC_L2 : METRIC_COSINE;
    }

    /** The smallest power of two {@code >= x} (1 for x <= 1). */
    public static int pow2ceil(int x) {
        int p = 1;
        while (p < x) {
            p <<= 1;
        }
        return p;
    }

    public static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * The dynamic shared memory limit to set on a kernel: the device's opt-in maximum less the
     * kernel's static shared memory (the two together may not pass the opt-in maximum).
     */
    public static int dynamicSmemLimit(int maxSmemOptin, int staticSmem) {
        if (maxSmemOptin < 0 || staticSmem < 0 || staticSmem > maxSmemOptin) {
            throw new IllegalArgumentException("static shared memory " + staticSmem + " B does not fit the opt-in maximum "
                    + maxSmemOptin + " B");
        }
        return maxSmemOptin - staticSmem;
    }

    /** Shared memory of the top-k engine with {@code slots} query slots: roundUp16(s (L + B) 8 + 20 s). */
    public static long engineBytes(int slots, int k) {
        long l = pow2ceil(k);
        long b = Math.max(l, 512);
        return (slots * (l + b) * 8 + slots * 16L + slots * 4L + 15) & ~15L;
    }

    /** 3 stages x 256 rows x 80 B, 3 stages of the chunk's queries, then the engine. */
    public static long scanSmem(int qc, int k) {
        return 3L * 256 * 20 * 4 + 3L * qc * 16 * 4 + engineBytes(qc, k);
    }

    public static long selectSmem(int k, Metric metric) {
        return engineBytes(1, k) + (metric == Metric.L2 ? 1024 : 0);
    }

    public static long mergeSmem(int k) {
        return engineBytes(1, k);
    }

    /** Queries per scan block: the largest of 8, 4, 2, 1 that is {@code <= pow2ceil(Q)} and fits. */
    public static int scanQueryChunk(int q, int k, long maxSmemOptin) {
        int qc = Math.min(8, pow2ceil(q));
        while (qc > 1 && scanSmem(qc, k) > maxSmemOptin) {
            qc >>= 1;
        }
        return qc;
    }

    public static String scanKernel(Metric metric, int qc) {
        if (qc != 1 && qc != 2 && qc != 4 && qc != 8) {
            throw new IllegalArgumentException("no scan kernel for " + qc + " queries per block");
        }
        return "blocksim_scan_" + (metric == Metric.L2 ? "l2" : "cos") + "_q" + qc;
    }

    public static String selectKernel(Metric metric) {
        return metric == Metric.L2 ? "blocksim_select_l2" : "blocksim_select_cos";
    }

    public static final String MERGE_CANDIDATES = "blocksim_merge_candidates";
    public static final String MERGE_FINAL = "blocksim_merge_final";

    /** Every kernel of the fatbin, for loading and for the probe. */
    public static List<String> allKernels() {
        List<String> names = new ArrayList<>();
        for (Metric m : Metric.values()) {
            for (int qc : new int[] {1, 2, 4, 8}) {
                names.add(scanKernel(m, qc));
            }
        }
        names.add(selectKernel(Metric.COSINE));
        names.add(selectKernel(Metric.L2));
        names.add(MERGE_CANDIDATES);
        names.add(MERGE_FINAL);
        for (Metric m : Metric.values()) {
            for (int qc : new int[] {1, 2, 4, 8}) {
                names.add(codeScanKernel(m, qc));
            }
            names.add(rerankKernel(m));
        }
        return names;
    }

    /** One fused-scan launch over {@code n} rows: grid (qChunks, rowBlocks), one list per row block. */
    public record Scan(String kernel, int qc, int qChunks, int rowBlocks, int rowsPerBlock, long smem) {
    }

    /** Looks up the occupancy (blocks per SM) of a kernel at a dynamic shared-memory size. */
    @FunctionalInterface
    public interface Occupancy {
        int blocksPerSm(String kernel, long smem);
    }

    /**
     * The scan plan of bs_plan.h: one wave of blocks with one query chunk, fewer row blocks the more
     * query chunks there are, never more row blocks than 256-row tiles.
     */
    public static Scan planScan(int n, int q, int k, Metric metric, int smCount, Occupancy occupancy,
            long maxSmemOptin) {
        int qc = scanQueryChunk(q, k, maxSmemOptin);
        return rowBlocks(n, q, qc, scanKernel(metric, qc), scanSmem(qc, k), smCount, occupancy);
    }

    /** One wave: row blocks per query chunk so that all chunks' blocks fill the SMs once. */
    private static Scan rowBlocks(int n, int q, int qc, String kernel, long smem, int smCount, Occupancy occupancy) {
        int qChunks = (int) ceilDiv(q, qc);
        long slots = (long) smCount * Math.max(1, occupancy.blocksPerSm(kernel, smem));
        long rb = Math.max(1, slots / qChunks);
        rb = Math.min(rb, Math.max(1, ceilDiv(n, 256)));
        rb = Math.min(rb, 65535);
        int rowsPerBlock = (int) Math.max(1, ceilDiv(n, rb));
        int rowBlocks = (int) Math.max(1, ceilDiv(n, rowsPerBlock));
        return new Scan(kernel, qc, qChunks, rowBlocks, rowsPerBlock, smem);
    }

    /** Candidates per merge block before the final merge. */
    public static int mergeChunk(int k) {
        return Math.max(8192, 8 * pow2ceil(k));
    }

    /**
     * Rows of a score tile per select block. Each block pays a fixed cost (two exact re-scorings of
     * its k best, latency bound), so blocks are as large as one wave of {@code slots} resident
     * blocks allows: at least {@code max(4096, 16 L(k))} rows, at most the tile. Measured on an
     * H200 (Q = 1,024, 65,536-row tiles): 4,096-row blocks took 3.35 ms a tile, the SGEMM 1.25 ms.
     * But a block's cost also grows with the rows that tie near its k-th score (a zero cosine query
     * ties them all), so blocks stop at {@link #SELECT_CHUNK_CAP} rows (H200, 858,923 rows,
     * Q = 1,024, random / adverse queries: 4,096 rows 60.7 / 61.0 ms, 16,384 rows 36.3 / 38.5 ms,
     * 65,536 rows 29.0 / 98.7 ms; {@code blocksim_check --select-sweep}).
     */
    public static int selectChunk(int k, int rows, int nq, long slots) {
        long base = Math.max(4096, 16L * pow2ceil(k));
        long cap = Math.max(base, SELECT_CHUNK_CAP);
        long perQuery = Math.max(1, slots / Math.max(1, nq));
        return (int) Math.min(cap, Math.max(base, ceilDiv(Math.max(rows, 1), perQuery)));
    }

    /** The most rows one select block takes (unless k needs more). */
    public static final int SELECT_CHUNK_CAP = 16_384;

    /** Rows per SGEMM score tile: {@code q x tileRows} floats kept under 256 MiB. */
    public static int gemmTileRows(int n, int q) {
        long t = GEMM_TILE_BYTES / (4L * q);
        t = Math.max(256, t / 256 * 256);
        return (int) Math.min(n, t);
    }

    /** Lists one select launch writes for a tile of {@code rows} rows (see {@link #selectChunk}). */
    public static int selectLists(int rows, int k, int nq, long slots) {
        return (int) ceilDiv(rows, selectChunk(k, rows, nq, slots));
    }

    /** Lists the SGEMM path writes over {@code n} rows cut into tiles of {@code tileRows}. */
    public static long gemmLists(int n, int tileRows, int k, int nq, long slots) {
        long lists = 0;
        for (long t0 = 0; t0 < n; t0 += tileRows) {
            lists += selectLists((int) Math.min(tileRows, n - t0), k, nq, slots);
        }
        return lists;
    }

    /** One round of {@code blocksim_merge_candidates}: {@code m} values per query into {@code blocks * k}. */
    public record MergeRound(long m, int blocks, long outStride) {
    }

    /**
     * The host merge rule: while more than one merge chunk of candidates remains per query, reduce
     * each chunk to its k best; the final merge then reads {@link #finalM}.
     */
    public record Merge(List<MergeRound> rounds, long finalM) {
        /** The largest output of any round: the size (per query, in candidates) of the second buffer. */
        public long maxOutStride() {
            return rounds.stream().mapToLong(MergeRound::outStride).max().orElse(0);
        }

        /** The row stride of what the final merge reads: the last round's output, or {@code first} when there is none. */
        public long finalStride(long first) {
            return rounds.isEmpty() ? first : rounds.getLast().outStride();
        }
    }

    public static Merge planMerge(long m, int k) {
        int chunk = mergeChunk(k);
        List<MergeRound> rounds = new ArrayList<>();
        while (m > chunk) {
            int blocks = (int) ceilDiv(m, chunk);
            long out = (long) blocks * k;
            rounds.add(new MergeRound(m, blocks, out));
            m = out;
        }
        return new Merge(List.copyOf(rounds), m);
    }

    // ---- the compressed scan (kernels/bs_codes.cuh) ----

    /** The code scan reads 16-byte runs of codes: rows must start 16-byte aligned. */
    public static boolean codesRun(int dim) {
        return dim % 16 == 0 && dim <= 4096;
    }

    /** 3 stages x 256 rows x 80 B of codes, 3 stages of the chunk's queries (64 floats each), then the engine. */
    public static long codeScanSmem(int qc, int k) {
        return 3L * 256 * 80 + 3L * qc * 64 * 4 + engineBytes(qc, k);
    }

    /** Queries per code scan block: the largest of 8, 4, 2, 1 that is {@code <= pow2ceil(Q)} and fits. */
    public static int codeScanQueryChunk(int q, int k, long maxSmemOptin) {
        int qc = Math.min(8, pow2ceil(q));
        while (qc > 1 && codeScanSmem(qc, k) > maxSmemOptin) {
            qc >>= 1;
        }
        return qc;
    }

    public static String codeScanKernel(Metric metric, int qc) {
        if (qc != 1 && qc != 2 && qc != 4 && qc != 8) {
            throw new IllegalArgumentException("no code scan kernel for " + qc + " queries per block");
        }
        return "blocksim_codescan_" + (metric == Metric.L2 ? "l2" : "cos") + "_q" + qc;
    }

    /** As {@link #planScan}, with the code scan's kernels and shared memory. */
    public static Scan planCodeScan(int n, int q, int k, Metric metric, int smCount, Occupancy occupancy,
            long maxSmemOptin) {
        int qc = codeScanQueryChunk(q, k, maxSmemOptin);
        return rowBlocks(n, q, qc, codeScanKernel(metric, qc), codeScanSmem(qc, k), smCount, occupancy);
    }

    public static String rerankKernel(Metric metric) {
        return metric == Metric.L2 ? "blocksim_rerank_l2" : "blocksim_rerank_cos";
    }

    public static long rerankSmem(int k) {
        return engineBytes(1, k);
    }

    /**
     * Rows per re-rank block. A block reads 4 bytes of each row (its upper bound) and scores only
     * the few survivors, so one wave of {@code slots} blocks over the rows, at least
     * {@code max(2048, 4 L(k))} rows a block (its list of k stays small next to the rows it covers).
     */
    public static int rerankChunk(int k, int rows, int nq, long slots) {
        long base = Math.max(2048, 4L * pow2ceil(k));
        long perQuery = Math.max(1, slots / Math.max(1, nq));
        return (int) Math.max(base, ceilDiv(Math.max(rows, 1), perQuery));
    }
}
