package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Issue 14, kinds 1 (overflow in an intermediate sum) and 5 (scores that depend on the batch). */
class CanonicalScoresTest {
    /** Kind 1: 3e19^2 overflows a float sum; the distances themselves fit float32. */
    @Test
    void hugeL2DistancesAreReportedNotInfinite() {
        float[][] data = {{3e19f}, {2e19f}, {1.0f}};
        for (int threads : new int[] {1, 4}) {
            for (int nq : new int[] {1, 4, 8, 17}) {  // narrow 1, 4, 8 and the gemm kernel
                float[][] queries = new float[nq][];
                Arrays.fill(queries, new float[] {0f});
                try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(threads, 1)) {
                    SearchResult r = b.search(TestVectors.oneShard(arena, data), queries, 3, Metric.L2);
                    for (int q = 0; q < nq; q++) {
                        assertArrayEquals(new int[] {2, 1, 0}, r.rows()[q], "threads " + threads + " Q " + nq);
                        assertArrayEquals(new float[] {1.0f, 2e19f, 3e19f}, r.scores()[q], "Q " + nq);
                    }
                }
            }
        }
    }

    /** Kind 1 in cosine, wide rows: float dot products and norms of 1e19-sized values overflow. */
    @Test
    void hugeCosineRowsScoreExactly() {
        int dim = 40;
        float[][] data = new float[3][dim];
        Arrays.fill(data[0], 1e19f);
        Arrays.fill(data[1], -2e19f);
        Arrays.fill(data[2], 1e-3f);
        data[2][0] = -1e-3f;
        float[][] queries = new float[17][];
        Arrays.fill(queries, data[0].clone());
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(2, 1)) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {3}, false);
            for (int nq : new int[] {1, 17}) {
                SearchResult r = b.search(set, Arrays.copyOf(queries, nq), 3, Metric.COSINE);
                assertArrayEquals(new int[] {0, 2, 1}, r.rows()[0]);
                assertArrayEquals(new float[] {1.0f, (float) (38.0 / 40), -1.0f}, r.scores()[0]);
            }
        }
    }

    /** Cosine rows whose norm nears float's maximum are always rescored (their float dot may overflow). */
    @Test
    void rowsWithNormsNearFloatMaxAreRanked() {
        float[][] data = {{1f, 1f}, {-2.4e38f, 2.4e38f}, {2.4e38f, 2.4e38f}, {0f, -3e-3f}};
        for (int nq : new int[] {1, 17}) {
            float[][] queries = new float[nq][];
            Arrays.fill(queries, new float[] {2f, 2f});
            try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(1)) {
                SearchResult r = b.search(TestVectors.shards(arena, data, new int[] {4}, true), queries, 4,
                        Metric.COSINE);
                assertArrayEquals(new int[] {0, 2, 1, 3}, r.rows()[nq - 1]);
                assertArrayEquals(new float[] {1f, 1f, 0f, (float) -Math.sqrt(0.5)}, r.scores()[nq - 1]);
            }
        }
    }

    /** Where a distance truly cannot be represented, one clear error rather than Infinity. */
    @Test
    void distanceBeyondFloatRangeIsAnError() {
        float[][] data = {{3e38f, -3e38f}, {0f, 0f}};
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(1)) {
            VectorSet set = TestVectors.oneShard(arena, data);
            float[][] q = {{-3e38f, 0f}};
            assertEquals(1, b.search(set, q, 1, Metric.L2).rows()[0][0]);
            InvalidDataException e = assertThrows(InvalidDataException.class, () -> b.search(set, q, 2, Metric.L2));
            assertTrue(e.getMessage().contains("exceeds the float32 range"), e.getMessage());
        }
    }

    /** Kind 5: 50 x 24 random rows, the first 17 as queries, k = 1: self matches score exactly 1. */
    @Test
    void selfMatchesScoreOneInAnyBatch() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[][] data = new float[50][24];
        for (float[] row : data) {
            for (int d = 0; d < row.length; d++) {
                row[d] = (float) rnd.nextGaussian();
            }
        }
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(2, 7)) {
            VectorSet set = TestVectors.oneShard(arena, data);
            for (int nq : new int[] {1, 16, 17, 50}) {
                SearchResult r = b.search(set, Arrays.copyOf(data, nq), 1, Metric.COSINE);
                for (int q = 0; q < nq; q++) {
                    assertEquals(q, r.rows()[q][0]);
                    assertEquals(1.0f, r.scores()[q][0], "Q " + nq + " query " + q);
                }
            }
        }
    }
}
