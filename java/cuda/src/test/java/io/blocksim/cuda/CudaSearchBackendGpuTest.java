package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blocksim.search.CpuSearchBackend;
import io.blocksim.Metric;
import io.blocksim.search.Norms;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.ScanMode;
import io.blocksim.spi.ShardCodes;
import io.blocksim.store.RowCodes;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Store;
import io.blocksim.store.TestStores;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Launches the kernels and compares with the CPU backend on random data. Skipped (JUnit
 * assumption) where the probe finds no usable GPU, i.e. on the CPU-only build machines.
 */
class CudaSearchBackendGpuTest {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static CudaDevice device;
    private static CudaSearchBackend gpu;
    private static CpuSearchBackend cpu;
    private static Arena arena;

    @BeforeAll
    static void open() {
        CudaProbe.Outcome o = CudaProbe.probe();
        if (!o.verdict().usable()) {
            return;  // each test reports itself skipped (below)
        }
        device = o.device();
        gpu = CudaSearchBackend.open(device);
        cpu = new CpuSearchBackend();
        arena = Arena.ofShared();
        System.out.println("GPU test on " + gpu.describe());
    }

    @BeforeEach
    void needsGpu() {
        Assumptions.assumeTrue(gpu != null, "no usable CUDA device: " + CudaProbe.probe().verdict().reason());
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
            cpu.close();
            arena.close();
        }
    }

    static float[][] gaussian(int rows, int dim, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] out = new float[rows][dim];
        for (float[] r : out) {
            for (int d = 0; d < dim; d++) {
                r[d] = (float) rnd.nextGaussian();
            }
        }
        return out;
    }

    static VectorSet shards(float[][] data, int[] sizes) {
        int dim = data[0].length;
        List<VectorShard> list = new ArrayList<>();
        int first = 0;
        for (int size : sizes) {
            MemorySegment v = arena.allocate((long) Math.max(size, 1) * dim * Float.BYTES, 64);
            for (int r = 0; r < size; r++) {
                MemorySegment.copy(data[first + r], 0, v, LE, (long) r * dim * Float.BYTES, dim);
            }
            list.add(new VectorShard(v, Norms.compute(v, size, dim, arena), first, size));
            first += size;
        }
        assertEquals(data.length, first);
        return new VectorSet(dim, list);
    }

    /**
     * Same rows in the same order and scores within 1e-5 (cosine absolute, L2 relative); where
     * the CPU's scores are nearer than the tolerance the order may differ (float rounding of
     * different summation orders), so such a group must hold the same rows; exact ties must agree.
     */
    static void assertSame(SearchResult want, SearchResult got, String what) {
        assertEquals(want.queries(), got.queries(), what);
        for (int q = 0; q < want.queries(); q++) {
            int[] wr = want.rows()[q];
            int[] gr = got.rows()[q];
            float[] ws = want.scores()[q];
            float[] gs = got.scores()[q];
            assertEquals(wr.length, gr.length, what);
            int k = wr.length;
            for (int i = 0; i < k; i++) {
                double tol = want.metric() == Metric.COSINE ? 1e-5 : 1e-5 * Math.max(Math.abs(ws[i]), 1e-3);
                if (!(Math.abs(ws[i] - gs[i]) <= tol)) {
                    fail(what + " q" + q + " place " + i + ": cpu " + wr[i] + "/" + ws[i] + " gpu " + gr[i] + "/" + gs[i]);
                }
                if (i > 0 && gs[i] == gs[i - 1]) {
                    assertTrue(gr[i - 1] < gr[i], what + " q" + q + ": equal scores must list the lower row first at " + i);
                }
            }
            int start = 0;
            while (start < k) {
                int end = start + 1;
                double tol = want.metric() == Metric.COSINE ? 1e-5 : 1e-5 * Math.max(Math.abs(ws[start]), 1e-3);
                while (end < k && Math.abs(ws[end] - ws[end - 1]) <= tol) {
                    end++;
                }
                boolean boundary = end == k;  // a near-tie across place k may pick different rows
                if (end - start == 1) {
                    if (!boundary || start == 0) {
                        assertEquals(wr[start], gr[start], what + " q" + q + " place " + start);
                    }
                } else if (!boundary) {
                    Set<Integer> a = new HashSet<>();
                    Set<Integer> b = new HashSet<>();
                    for (int i = start; i < end; i++) {
                        a.add(wr[i]);
                        b.add(gr[i]);
                    }
                    assertEquals(a, b, what + " q" + q + " near-tied places " + start + ".." + (end - 1));
                }
                start = end;
            }
        }
    }

    private static void compare(VectorSet set, float[][] queries, int k, Metric m, String what) {
        SearchResult want = cpu.search(set, queries, k, m);
        SearchResult got = gpu.search(set, queries, k, m);
        assertSame(want, got, what + " " + m + " Q=" + queries.length + " k=" + k);
    }

    @Test
    void randomDataOverQueryCountsAndK() {
        float[][] data = gaussian(5003, 384, 1);  // not a multiple of 256 or of any chunk
        VectorSet set = shards(data, new int[] {2000, 1, 0, 3002});
        for (Metric m : Metric.values()) {
            for (int nq : new int[] {1, 2, 3, 8, 9, 64, 65, 200, 1024}) {
                float[][] queries = gaussian(nq, 384, 100 + nq);
                for (int k : new int[] {1, 10, 1000}) {
                    if (nq >= 200 && k == 1000 && m == Metric.L2) {
                        continue;  // keeps the CPU reference short; cosine covers the shape
                    }
                    compare(set, queries, k, m, "random");
                }
            }
        }
    }

    @Test
    void kEqualsRows() {
        float[][] data = gaussian(777, 64, 2);
        VectorSet set = shards(data, new int[] {300, 477});
        for (Metric m : Metric.values()) {
            compare(set, gaussian(5, 64, 3), 777, m, "k=rows");
        }
    }

    @Test
    void tiesAndZeroVectors() {
        int dim = 128;
        float[][] data = gaussian(3000, dim, 4);
        for (int r = 0; r < data.length; r += 7) {
            data[r] = data[13].clone();  // exact duplicates: identical scores, lower row first
        }
        for (int r = 5; r < data.length; r += 11) {
            data[r] = new float[dim];  // zero vectors: cosine 0, L2 |q|
        }
        VectorSet set = shards(data, new int[] {1000, 2000});
        float[][] queries = gaussian(70, dim, 5);
        queries[0] = data[13].clone();
        queries[1] = new float[dim];  // a zero query: every cosine score is 0, rows in id order
        for (Metric m : Metric.values()) {
            for (int k : new int[] {1, 50, 1000}) {
                compare(set, queries, k, m, "ties");
                compare(set, new float[][] {queries[0], queries[1]}, k, m, "ties small Q");
            }
        }
        long fallbacks = gpu.boundaryFallbacks();
        SearchResult zero = gpu.search(set, new float[][] {queries[1]}, 20, Metric.COSINE);
        assertEquals(fallbacks + 1, gpu.boundaryFallbacks(), "every row ties with the k-th: answered on the CPU");
        for (int i = 0; i < 20; i++) {
            assertEquals(i, zero.rows()[0][i]);
            assertEquals(0f, zero.scores()[0][i]);
        }
    }

    @Test
    void embeddingDimension() {
        float[][] data = gaussian(1500, 3840, 6);
        VectorSet set = shards(data, new int[] {1500});
        for (Metric m : Metric.values()) {
            compare(set, gaussian(4, 3840, 7), 10, m, "D=3840");
            compare(set, gaussian(100, 3840, 8), 10, m, "D=3840");
        }
    }

    /** The SGEMM path and the fused scan give bit-identical answers (the contract's exactness). */
    @Test
    void gemmPathEqualsScanBitForBit() {
        Assumptions.assumeTrue(gpu.hasCublas(), "cuBLAS not loadable");
        // on the emulated device (EmulatedDeviceTest: kernels as C++ on the CPU) a smaller set of the same shape
        int rows = device.name().contains("emulated") ? 5_003 : 20_011;
        float[][] data = gaussian(rows, 384, 9);
        VectorSet set = shards(data, new int[] {rows});
        try (CudaSearchBackend scanOnly = CudaSearchBackend.open(device,
                CudaSearchBackend.Options.defaults(device.memoryInfo()[0]).withCublas(false))) {
            for (Metric m : Metric.values()) {
                float[][] queries = gaussian(300, 384, 10);
                for (int k : new int[] {1, 10, 1000}) {
                    SearchResult a = gpu.search(set, queries, k, m);
                    SearchResult b = scanOnly.search(set, queries, k, m);
                    for (int q = 0; q < queries.length; q++) {
                        assertArrayEquals(b.rows()[q], a.rows()[q], m + " k=" + k + " q" + q);
                        assertArrayEquals(b.scores()[q], a.scores()[q], m + " k=" + k + " q" + q);
                    }
                }
            }
        }
    }

    /** A budget that holds nothing streams every piece; a budget for part of the data evicts LRU. */
    @Test
    void streamingAndEvictionGiveTheSameAnswers() {
        float[][] data = gaussian(9000, 256, 11);
        VectorSet set = shards(data, new int[] {4000, 5000});
        long piece = 1000L * 256 * 4;  // 1,000-row pieces: 9 of them
        CudaSearchBackend.Options base = CudaSearchBackend.Options.defaults(device.memoryInfo()[0])
                .withPieceBytes(piece).withStagingBytes(100_000);  // several staging chunks per piece
        float[][] queries = gaussian(9, 256, 12);
        for (long budget : new long[] {0, 4 * (piece + 4000)}) {
            try (CudaSearchBackend small = CudaSearchBackend.open(device, base.withBudget(budget))) {
                for (int round = 0; round < 2; round++) {
                    for (Metric m : Metric.values()) {
                        SearchResult want = cpu.search(set, queries, 25, m);
                        assertSame(want, small.search(set, queries, 25, m), "budget " + budget + " round " + round);
                        float[][] many = gaussian(130, 256, 13);  // the SGEMM path over streamed pieces
                        assertSame(cpu.search(set, many, 25, m), small.search(set, many, 25, m),
                                "budget " + budget + " round " + round + " Q=130");
                    }
                }
                assertTrue(small.streamedPieces() > 0, "pieces over the budget are streamed");
                assertTrue(small.residentBytes() <= budget);
            }
        }
        // a roomy budget uploads once and then serves from device memory
        try (CudaSearchBackend roomy = CudaSearchBackend.open(device, base)) {
            roomy.search(set, queries, 10, Metric.COSINE);
            long after = roomy.uploadedBytes();
            SearchResult again = roomy.search(set, queries, 10, Metric.L2);
            assertEquals(after, roomy.uploadedBytes(), "resident pieces are not uploaded again");
            assertEquals(0, roomy.streamedPieces());
            assertSame(cpu.search(set, queries, 10, Metric.L2), again, "resident");
        }
    }

    /** Shards without precomputed norms: the backend computes them on the host. */
    @Test
    void shardsWithoutNorms() {
        float[][] data = gaussian(2000, 96, 14);
        VectorSet withNorms = shards(data, new int[] {2000});
        VectorShard s = withNorms.shards().get(0);
        VectorSet without = new VectorSet(96, List.of(new VectorShard(s.vectors(), null, 0, 2000)));
        float[][] queries = gaussian(3, 96, 15);
        for (Metric m : Metric.values()) {
            assertSame(cpu.search(withNorms, queries, 10, m), gpu.search(without, queries, 10, m), "no norms");
        }
    }

    /** Several threads share one backend (searches serialize on it); each gets the CPU's answer. */
    @Test
    void severalThreadsShareOneBackend() throws Exception {
        float[][] data = gaussian(12_345, 128, 16);
        VectorSet set = shards(data, new int[] {5_000, 7_345});
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                jobs.add(pool.submit(() -> {
                    for (int round = 0; round < 3; round++) {
                        int nq = new int[] {1, 8, 130}[round];  // fused scan, chunked scan, SGEMM path
                        float[][] queries = gaussian(nq, 128, 100 + thread * 10 + round);
                        Metric m = Metric.values()[(thread + round) % 2];
                        assertSame(cpu.search(set, queries, 17, m), gpu.search(set, queries, 17, m),
                                "thread " + thread + " round " + round);
                    }
                    return null;
                }));
            }
            for (Future<?> f : jobs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@link #shards} with each shard's int8 codes ({@link RowCodes#encode}), for the compressed scan. */
    static VectorSet withCodes(float[][] data, int[] sizes) {
        VectorSet plain = shards(data, sizes);
        int dim = plain.dim();
        List<VectorShard> list = new ArrayList<>();
        for (VectorShard s : plain.shards()) {
            MemorySegment c = arena.allocate(Math.max(1, (long) s.rows() * dim), 16);
            MemorySegment sc = arena.allocate(Math.max(1, (long) s.rows() * RowCodes.SCALE_COLUMNS * Float.BYTES), 16);
            RowCodes.encode(s.vectors(), s.rows(), dim, c, sc);
            list.add(new VectorShard(s.vectors(), s.norms(), s.firstRow(), s.rows(), new ShardCodes(c, sc)));
        }
        return new VectorSet(dim, list);
    }

    /**
     * Rows the int8 codes meet at their extremes: exact duplicates (ties), zero rows, an outlier
     * dimension (a large coding error), values on the code grid (no error), huge and tiny rows.
     */
    static float[][] adversarialForCodes(int rows, int dim, long seed) {
        float[][] data = gaussian(rows, dim, seed);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        for (int r = 1; r < rows; r += 7) {
            switch (r / 7 % 6) {
                case 0 -> data[r] = data[rnd.nextInt(r)].clone();
                case 1 -> data[r] = new float[dim];
                case 2 -> data[r][rnd.nextInt(dim)] *= 1000;
                case 3 -> {
                    for (int d = 0; d < dim; d++) {
                        data[r][d] = Math.round(data[r][d] * 16) / 16f;
                    }
                }
                case 4 -> scale(data[r], 1e15f);
                default -> scale(data[r], 1e-15f);
            }
        }
        return data;
    }

    private static void scale(float[] v, float f) {
        for (int d = 0; d < v.length; d++) {
            v[d] *= f;
        }
    }

    /**
     * The compressed scan on the device answers exactly as the CPU's float32 scan: the same rows and
     * bit-identical scores, on every query count, k and metric, with adversarial rows and queries
     * (a zero query, a copy of a duplicated row, a row's own vector), across shards and pieces.
     */
    @Test
    void compressedScanEqualsTheCpuBitForBit() {
        int dim = 384;
        float[][] data = adversarialForCodes(6_000, dim, 31);
        VectorSet set = withCodes(data, new int[] {2_500, 2_048, 1_452});
        float[][] queries = gaussian(20, dim, 33);
        queries[1] = new float[dim];
        queries[2] = data[7].clone();    // a row that other rows copy
        queries[3] = data[4_321].clone();
        queries[4] = data[7 * 5 + 1].clone();  // a huge row
        for (Metric m : Metric.values()) {
            for (int k : new int[] {1, 10, 100}) {
                for (int nq : new int[] {1, 3, 8, 20}) {
                    float[][] q = java.util.Arrays.copyOf(queries, nq);
                    SearchResult want = cpu.search(set, q, k, m, ScanMode.FLOAT32);
                    SearchResult got = gpu.search(set, q, k, m, ScanMode.CODES);
                    String what = "codes " + m + " k=" + k + " Q=" + nq;
                    assertEquals(SearchResult.SCAN_CODES, got.scan(), what);
                    for (int i = 0; i < nq; i++) {
                        assertArrayEquals(want.rows()[i], got.rows()[i], what + " q" + i);
                        assertArrayEquals(want.scores()[i], got.scores()[i], what + " q" + i);
                        assertTrue(got.rescored()[i] >= k && got.rescored()[i] <= set.rows(), what + " rescored "
                                + got.rescored()[i]);
                    }
                }
            }
        }
        // a random query re-scores a small part of the set (the point of the codes)
        SearchResult one = gpu.search(set, new float[][] {queries[5]}, 10, Metric.COSINE, ScanMode.CODES);
        assertTrue(one.rescored()[0] < set.rows() / 10, "rescored " + one.rescored()[0]);
        // auto: the codes for a few queries, the floats for many; k = rows
        assertEquals(SearchResult.SCAN_CODES, gpu.search(set, java.util.Arrays.copyOf(queries, 8), 10, Metric.L2).scan());
        assertEquals(SearchResult.SCAN_FLOAT32, gpu.search(set, queries, 10, Metric.L2).scan());
        VectorSet small = withCodes(adversarialForCodes(700, 64, 35), new int[] {300, 400});
        float[][] sq = gaussian(3, 64, 36);
        for (Metric m : Metric.values()) {
            SearchResult all = gpu.search(small, sq, small.rows(), m, ScanMode.CODES);
            SearchResult allCpu = cpu.search(small, sq, small.rows(), m, ScanMode.FLOAT32);
            for (int i = 0; i < sq.length; i++) {
                assertArrayEquals(allCpu.rows()[i], all.rows()[i], "k = rows " + m + " q" + i);
                assertArrayEquals(allCpu.scores()[i], all.scores()[i], "k = rows " + m + " q" + i);
                assertEquals(small.rows(), all.rescored()[i], "k = rows re-scores every row");
            }
        }
    }

    /** Several pieces per shard (idBase, list offsets and the bounds' rows across pieces). */
    @Test
    void compressedScanAcrossPieces() {
        float[][] data = adversarialForCodes(3_000, 128, 61);
        VectorSet set = withCodes(data, new int[] {1_700, 1_300});
        float[][] queries = gaussian(5, 128, 62);
        queries[1] = data[2_222].clone();
        CudaSearchBackend.Options small = CudaSearchBackend.Options.defaults(device.memoryInfo()[0])
                .withPieceBytes(300L * 128 * Float.BYTES);  // 300-row pieces: 10 of them
        try (CudaSearchBackend b = CudaSearchBackend.open(device, small)) {
            for (Metric m : Metric.values()) {
                for (int k : new int[] {1, 10, 64}) {
                    SearchResult want = cpu.search(set, queries, k, m, ScanMode.FLOAT32);
                    SearchResult got = b.search(set, queries, k, m, ScanMode.CODES);
                    assertEquals(SearchResult.SCAN_CODES, got.scan());
                    for (int i = 0; i < queries.length; i++) {
                        assertArrayEquals(want.rows()[i], got.rows()[i], "pieces " + m + " k=" + k + " q" + i);
                        assertArrayEquals(want.scores()[i], got.scores()[i], "pieces " + m + " k=" + k + " q" + i);
                    }
                }
            }
        }
    }

    /**
     * The device runs out of memory while the compressed scan makes its pieces resident (another
     * process took it): auto runs the float32 scan instead, codes hands the request to the CPU,
     * and both answer as the CPU does (no block freed on the way is ever read).
     */
    @Test
    void compressedScanUnderDevicePressure() {
        float[][] data = adversarialForCodes(40_000, 128, 71);  // 20 MB of floats, 5 MB of codes
        VectorSet set = withCodes(data, new int[] {20_000, 20_000});
        float[][] queries = gaussian(3, 128, 72);
        CudaSearchBackend.Options roomy = CudaSearchBackend.Options.defaults(device.memoryInfo()[0])
                .withPieceBytes(2L << 20);
        try (CudaSearchBackend b = CudaSearchBackend.open(device, roomy)) {
            // the workspace and older resident data exist before the hog
            b.search(withCodes(gaussian(2_000, 128, 73), new int[] {2_000}), queries, 10, Metric.L2);
            device.makeCurrent();
            long free = device.memoryInfo()[0];
            CUdeviceptr hog = new CUdeviceptr();
            JCudaDriver.cuMemAlloc(hog, free - (12L << 20));  // room for the streaming slots, not for the data
            try {
                for (Metric m : Metric.values()) {
                    SearchResult want = cpu.search(set, queries, 10, m, ScanMode.FLOAT32);
                    SearchResult auto = b.search(set, queries, 10, m);
                    SearchResult codes = b.search(set, queries, 10, m, ScanMode.CODES);
                    assertEquals(SearchResult.SCAN_FLOAT32, auto.scan(), "auto falls back to the float32 scan");
                    assertEquals("cpu", codes.backend());
                    // short of memory on the first try; later the budget is capped to what the device holds
                    assertTrue(codes.note().contains("short of memory") || codes.note().contains("residency budget"),
                            codes.note());
                    for (int i = 0; i < queries.length; i++) {
                        assertArrayEquals(want.rows()[i], auto.rows()[i], "auto under pressure " + m + " q" + i);
                        assertArrayEquals(want.scores()[i], auto.scores()[i], "auto under pressure " + m + " q" + i);
                        assertArrayEquals(want.rows()[i], codes.rows()[i], "codes under pressure " + m + " q" + i);
                    }
                }
            } finally {
                device.makeCurrent();
                JCudaDriver.cuMemFree(hog);
            }
        }
    }

    /** What the device's compressed scan does not run is refused as on the CPU, or handed to it. */
    @Test
    void compressedScanRefusalsAndHandOffs() {
        float[][] data = gaussian(500, 388, 41);  // 388: not a multiple of 16
        float[][] q = gaussian(2, 388, 42);
        VectorSet plain = shards(data, new int[] {500});
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.blocksim.InvalidArgumentException.class,
                () -> gpu.search(plain, q, 5, Metric.COSINE, ScanMode.CODES));
        assertTrue(e.getMessage().contains("blocksim index"), e.getMessage());
        SearchResult r = gpu.search(withCodes(data, new int[] {500}), q, 5, Metric.COSINE, ScanMode.CODES);
        assertEquals("cpu", r.backend());
        assertTrue(r.note().contains("multiple of 16"), r.note());
        assertEquals(SearchResult.SCAN_CODES, r.scan());
        assertSame(cpu.search(plain, q, 5, Metric.COSINE), r, "handed to the cpu");
        // k past 1,008: too few rows past the k-th for the boundary check; the CPU answers
        VectorSet big = shards(gaussian(2_000, 64, 43), new int[] {2_000});
        float[][] q64 = gaussian(2, 64, 44);
        SearchResult wide = gpu.search(big, q64, 1_024, Metric.L2);
        assertEquals("cpu", wide.backend());
        assertTrue(wide.note().contains("too few rows past the k-th"), wide.note());
        assertSame(cpu.search(big, q64, 1_024, Metric.L2), wide, "k = 1024");
    }

    /** A real store: memory-mapped .npy shards written by StoreWriter, read through Store. */
    @Test
    void memoryMappedStore() throws Exception {
        Path dir = Files.createTempDirectory("blocksim-gpu-store");
        EntryKey key = new EntryKey("block_output", 0, 7);
        TestStores.build(dir.resolve("store"), 8, 30_000, 7_000, List.of(new EntrySpec(key, 384)), 21);
        try (Store store = Store.open(dir.resolve("store"))) {
            VectorSet set = store.vectors(key);
            assertTrue(set.shards().size() > 1, "several shards");
            float[][] queries = gaussian(200, 384, 22);
            for (Metric m : Metric.values()) {
                for (int nq : new int[] {1, 64, 200}) {
                    float[][] q = java.util.Arrays.copyOf(queries, nq);
                    assertSame(cpu.search(set, q, 10, m), gpu.search(set, q, 10, m), "mapped store Q=" + nq);
                }
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /**
     * The device runs out of memory under a budget that believed it had room (another process took
     * it): the backend evicts, streams what does not fit and still answers as the CPU does.
     */
    @Test
    void deviceOutOfMemoryUnderPressure() {
        float[][] data = gaussian(120_000, 128, 23);  // 61 MB
        VectorSet set = shards(data, new int[] {60_000, 60_000});
        float[][] queries = gaussian(5, 128, 24);
        long piece = 4L << 20;
        CudaSearchBackend.Options roomy = CudaSearchBackend.Options.defaults(device.memoryInfo()[0]).withPieceBytes(piece);
        try (CudaSearchBackend b = CudaSearchBackend.open(device, roomy)) {
            // the workspace exists before the hog; the data is not resident yet
            b.search(shards(gaussian(100, 128, 26), new int[] {100}), queries, 10, Metric.COSINE);
            device.makeCurrent();
            long free = device.memoryInfo()[0];
            long leave = 40L << 20;  // room for the streaming slots, not for the data
            CUdeviceptr hog = new CUdeviceptr();
            JCudaDriver.cuMemAlloc(hog, free - leave);
            try {
                for (Metric m : Metric.values()) {
                    assertSame(cpu.search(set, queries, 10, m), b.search(set, queries, 10, m), "under pressure " + m);
                }
                assertTrue(b.streamedPieces() > 0, "what did not fit was streamed");
                assertTrue(b.residentBytes() < 40L << 20, "the budget shrank to what the device holds: " + b.residentBytes());
            } finally {
                device.makeCurrent();
                JCudaDriver.cuMemFree(hog);
            }
        }
    }
}
