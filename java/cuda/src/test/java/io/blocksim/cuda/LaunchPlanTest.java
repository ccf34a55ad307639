package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.Metric;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The Java plan against the examples of kernels/README.md and rows computed by native/bs_plan.h. */
class LaunchPlanTest {
    private static final long OPTIN_H100 = 232_448;   // 227 KiB
    private static final long OPTIN_A100 = 166_912;   // 163 KiB
    private static final long OPTIN_SM86 = 101_376;   // 99 KiB

    @Test
    void dynamicSharedMemoryLimitLeavesRoomForTheStaticPart() {
        assertEquals(232_448, LaunchPlan.dynamicSmemLimit((int) OPTIN_H100, 0));
        assertEquals(232_448 - 1_024, LaunchPlan.dynamicSmemLimit((int) OPTIN_H100, 1_024));
        assertEquals(0, LaunchPlan.dynamicSmemLimit((int) OPTIN_SM86, (int) OPTIN_SM86));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> LaunchPlan.dynamicSmemLimit((int) OPTIN_A100, (int) OPTIN_A100 + 1));
    }

    @Test
    void sharedMemoryExamplesOfTheContract() {
        assertEquals(96_928, LaunchPlan.scanSmem(8, 10));
        assertEquals(65_888, LaunchPlan.scanSmem(1, 10));
        assertEquals(194_208, LaunchPlan.scanSmem(8, 1024));
        assertEquals(94_640, LaunchPlan.scanSmem(2, 1024));
        assertEquals(4_256, LaunchPlan.engineBytes(1, 10));
        assertEquals(16_416, LaunchPlan.engineBytes(1, 1024));
        assertEquals(4_256, LaunchPlan.mergeSmem(10));
        assertEquals(4_256, LaunchPlan.selectSmem(10, Metric.COSINE));
        assertEquals(4_256 + 1024, LaunchPlan.selectSmem(10, Metric.L2));
    }

    @Test
    void queryChunkDropsWhereABlockWouldNotFit() {
        // k = 1024: QC 8 on H100, 4 on A100, 2 on sm_86/89
        assertEquals(8, LaunchPlan.scanQueryChunk(64, 1024, OPTIN_H100));
        assertEquals(4, LaunchPlan.scanQueryChunk(64, 1024, OPTIN_A100));
        assertEquals(2, LaunchPlan.scanQueryChunk(64, 1024, OPTIN_SM86));
        // never more than pow2ceil(Q)
        assertEquals(1, LaunchPlan.scanQueryChunk(1, 10, OPTIN_H100));
        assertEquals(2, LaunchPlan.scanQueryChunk(2, 10, OPTIN_H100));
        assertEquals(4, LaunchPlan.scanQueryChunk(3, 10, OPTIN_H100));
        assertEquals(8, LaunchPlan.scanQueryChunk(5, 10, OPTIN_H100));
        assertEquals("blocksim_scan_l2_q4", LaunchPlan.scanKernel(Metric.L2, 4));
        assertEquals("blocksim_scan_cos_q8", LaunchPlan.scanKernel(Metric.COSINE, 8));
        assertEquals(22, LaunchPlan.allKernels().size());
    }

    /** kernels/README.md's code scan examples and native/bs_plan.h's rules. */
    @Test
    void codeScanSharedMemoryAndQueryChunks() {
        assertEquals(66_464, LaunchPlan.codeScanSmem(1, 10));
        assertEquals(101_536, LaunchPlan.codeScanSmem(8, 10));
        assertEquals(198_816, LaunchPlan.codeScanSmem(8, 1024));
        assertEquals(8, LaunchPlan.codeScanQueryChunk(8, 10, OPTIN_H100));
        assertEquals(4, LaunchPlan.codeScanQueryChunk(8, 10, OPTIN_SM86));  // 101,536 > 99 KiB
        assertEquals(4, LaunchPlan.codeScanQueryChunk(8, 1024, OPTIN_A100));
        assertEquals("blocksim_codescan_l2_q2", LaunchPlan.codeScanKernel(Metric.L2, 2));
        assertEquals("blocksim_rerank_cos", LaunchPlan.rerankKernel(Metric.COSINE));
        assertEquals(4_256, LaunchPlan.rerankSmem(10));
        assertTrue(LaunchPlan.codesRun(384));
        assertTrue(!LaunchPlan.codesRun(388) && !LaunchPlan.codesRun(8));
        LaunchPlan.Scan s = LaunchPlan.planCodeScan(858_923, 1, 10, Metric.COSINE, 132, (kernel, smem) -> 3, OPTIN_H100);
        assertEquals("blocksim_codescan_cos_q1", s.kernel());
        assertEquals(396, s.rowBlocks());
        assertEquals(2_169, s.rowsPerBlock());
    }

    @Test
    void rerankBlocksMakeOneWaveOfAtLeast2048Rows() {
        // H200, 858,923 rows, Q = 1, 396 slots: 2,169 rows a block; Q = 8: 49 slots a query
        assertEquals(2_169, LaunchPlan.rerankChunk(26, 858_923, 1, 396));
        assertEquals(17_530, LaunchPlan.rerankChunk(26, 858_923, 8, 396));
        assertEquals(2_048, LaunchPlan.rerankChunk(26, 1_000, 1, 396));
        assertEquals(4_096, LaunchPlan.rerankChunk(1024, 1_000, 1, 396));
    }

    /** "H100, Q <= 8, k = 10: 132 SMs x 2 blocks"; M = 2,640 (QC 8) to 3,960 (QC 1), a single merge_final. */
    @Test
    void oneWaveOnAnH100() {
        int n = 858_923;
        LaunchPlan.Occupancy h100 = (kernel, smem) -> kernel.endsWith("q1") || kernel.endsWith("q2") ? 3 : 2;
        LaunchPlan.Scan q8 = LaunchPlan.planScan(n, 8, 10, Metric.COSINE, 132, h100, OPTIN_H100);
        assertEquals(8, q8.qc());
        assertEquals(1, q8.qChunks());
        assertEquals(264, q8.rowBlocks());
        assertEquals(96_928, q8.smem());
        assertEquals(2_640, (long) q8.rowBlocks() * 10);
        LaunchPlan.Scan q1 = LaunchPlan.planScan(n, 1, 10, Metric.COSINE, 132, h100, OPTIN_H100);
        assertEquals(396, q1.rowBlocks());
        LaunchPlan.Merge m = LaunchPlan.planMerge((long) q1.rowBlocks() * 10, 10);
        assertTrue(m.rounds().isEmpty());
        assertEquals(3_960, m.finalM());
    }

    /**
     * Rows printed by a C++ program over native/bs_plan.h (planScan, mergeChunk, selectChunk of one
     * tile with slots = SMs x max(1, occupancy), gemmTileRows, smem).
     */
    @Test
    void equalsTheCppTwin() {
        List<String> rows = List.of(
                "1884439 40 285 1 39 3 101376 4 10 11 171313 95056 8192 16384 1677568 9248 8224",
                "1492014 632 308 0 109 2 101376 4 158 1 1492014 95056 8192 16384 105984 8224 8224",
                "624106 154 284 0 79 3 232448 8 20 11 56737 128672 8192 16384 435712 8224 8224",
                "1486912 33 457 1 193 3 101376 4 9 64 23233 95056 8192 16384 1486912 9248 8224",
                "176914 527 454 1 176 0 166912 8 66 2 88457 128672 8192 16384 127232 9248 8224",
                "25256 747 652 1 29 0 166912 4 187 1 25256 127824 8192 16384 25256 17440 16416",
                "858923 1024 10 0 132 2 232448 8 128 2 429462 96928 8192 16384 65536 4256 4256",
                "858923 65 10 1 132 2 232448 8 9 29 29619 96928 8192 16384 858923 5280 4256",
                "100000 32 10 0 132 2 232448 8 4 66 1516 96928 8192 12500 100000 4256 4256",
                "3000 8 10 1 132 2 232448 8 1 12 250 96928 8192 4096 3000 5280 4256");
        for (String row : rows) {
            String[] f = row.split(" ");
            int n = Integer.parseInt(f[0]);
            int q = Integer.parseInt(f[1]);
            int k = Integer.parseInt(f[2]);
            Metric m = f[3].equals("1") ? Metric.L2 : Metric.COSINE;
            int sms = Integer.parseInt(f[4]);
            int occ = Integer.parseInt(f[5]);
            long optin = Long.parseLong(f[6]);
            LaunchPlan.Scan p = LaunchPlan.planScan(n, q, k, m, sms, (kernel, smem) -> occ, optin);
            String got = String.join(" ", f[0], f[1], f[2], f[3], f[4], f[5], f[6], "" + p.qc(), "" + p.qChunks(),
                    "" + p.rowBlocks(), "" + p.rowsPerBlock(), "" + p.smem(), "" + LaunchPlan.mergeChunk(k),
                    "" + LaunchPlan.selectChunk(k, LaunchPlan.gemmTileRows(n, q), q, (long) sms * Math.max(1, occ)),
                    "" + LaunchPlan.gemmTileRows(n, q), "" + LaunchPlan.selectSmem(k, m),
                    "" + LaunchPlan.mergeSmem(k));
            assertEquals(row, got);
        }
    }

    @Test
    void rowBlocksCoverTheRowsExactly() {
        for (int n : new int[] {1, 7, 255, 256, 257, 1000, 4097, 100_003, 858_923}) {
            for (int q : new int[] {1, 3, 8, 64, 1024}) {
                LaunchPlan.Scan p = LaunchPlan.planScan(n, q, 10, Metric.L2, 132, (kernel, smem) -> 2, OPTIN_H100);
                assertTrue((long) p.rowBlocks() * p.rowsPerBlock() >= n, n + " " + q);
                assertTrue((long) (p.rowBlocks() - 1) * p.rowsPerBlock() < n, n + " " + q);
                assertTrue(p.rowBlocks() <= Math.max(1, (n + 255) / 256), n + " " + q);
                assertEquals((q + p.qc() - 1) / p.qc(), p.qChunks());
            }
        }
    }

    @Test
    void gemmTilesAndSelectLists() {
        assertEquals(65_536, LaunchPlan.gemmTileRows(858_923, 1024));
        assertEquals(1000, LaunchPlan.gemmTileRows(1000, 1024));
        assertEquals(1024, LaunchPlan.gemmTileRows(1_000_000, 65535));
        assertEquals(256, LaunchPlan.gemmTileRows(1_000_000, 1_000_000));  // never below 256 rows
        long h200 = 132 * 2;  // select blocks resident at once
        assertEquals(4096, LaunchPlan.selectChunk(10, 1000, 1024, h200));      // never below the base
        assertEquals(16_384, LaunchPlan.selectChunk(1024, 1000, 1024, h200));
        assertEquals(16_384, LaunchPlan.selectChunk(10, 65_536, 1024, h200));  // many queries: capped blocks
        assertEquals(16_384, LaunchPlan.selectChunk(10, 858_923, 65, h200));
        assertEquals(12_500, LaunchPlan.selectChunk(10, 100_000, 32, h200));   // 32 queries x 8 blocks fill 264 slots
        // 858,923 rows in tiles of 65,536 at Q = 1,024: 13 full tiles of 4 lists and a tail of 7,955 rows, 1 list
        assertEquals(13 * 4 + 1, LaunchPlan.gemmLists(858_923, 65_536, 10, 1024, h200));
        // every row is in exactly one list, whatever the sizes
        for (int rows : new int[] {1, 255, 4096, 4097, 65_536, 100_003, 858_923}) {
            for (int q : new int[] {1, 65, 300, 1024, 65_535}) {
                int chunk = LaunchPlan.selectChunk(10, rows, q, h200);
                int lists = LaunchPlan.selectLists(rows, 10, q, h200);
                assertTrue((long) lists * chunk >= rows && (long) (lists - 1) * chunk < rows, rows + " " + q);
                assertTrue(chunk <= LaunchPlan.SELECT_CHUNK_CAP, "capped: " + rows + " " + q);
                assertTrue(chunk == LaunchPlan.SELECT_CHUNK_CAP || lists == 1 || (long) lists * q <= Math.max(h200, q),
                        "about one wave unless capped: " + rows + " " + q);
            }
        }
    }

    @Test
    void mergeRoundsShrinkUntilOneChunk() {
        LaunchPlan.Merge m = LaunchPlan.planMerge(100_000, 10);
        assertEquals(1, m.rounds().size());
        assertEquals(new LaunchPlan.MergeRound(100_000, 13, 130), m.rounds().get(0));
        assertEquals(130, m.finalM());
        LaunchPlan.Merge big = LaunchPlan.planMerge(50_000_000L, 1024);
        long prev = 50_000_000L;
        for (LaunchPlan.MergeRound r : big.rounds()) {
            assertEquals(prev, r.m());
            assertTrue(r.outStride() < r.m());
            prev = r.outStride();
        }
        assertTrue(big.finalM() <= LaunchPlan.mergeChunk(1024));
        assertEquals(big.rounds().get(0).outStride(), big.maxOutStride());
    }
}
