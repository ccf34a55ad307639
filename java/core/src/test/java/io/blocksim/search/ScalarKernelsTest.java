package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blocksim.Metric;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorShape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The scalar kernels and norm against the Vector API ones, in this JVM (which has the module):
 * every key a kernel hands to the heap, and every norm, must have the same bits.
 */
class ScalarKernelsTest {
    private static final int ROWS = 61;  // 10 gemm tiles of 6 and one row left over

    @Test
    void theVectorPathIsChosenAndTheDetectedWidthIsTheVectorApis() {
        assertTrue(Vectorization.VECTOR_API, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        assertNull(Vectorization.WARNING);
        assertEquals(CpuKernels.L, Vectorization.LANES);
        assertEquals(CpuKernels.QP, Vectorization.QP);
        assertEquals(DoubleVector.SPECIES_PREFERRED.length(), Vectorization.NORM_LANES);
        // what the scalar path would use in a JVM without the module, from the VM flags alone
        int bits = Vectorization.preferredVectorBits();
        assertEquals(VectorShape.preferredShape().vectorBitSize(), bits, "preferred vector bits from the VM flags");
        assertEquals(CpuKernels.L, Vectorization.kernelLanes(bits));
        assertEquals(Vectorization.NORM_LANES, bits / 64);
    }

    @Test
    void kernelLanesFollowTheSpeciesChoice() {
        assertEquals(8, Vectorization.kernelLanes(64));
        assertEquals(8, Vectorization.kernelLanes(128));
        assertEquals(8, Vectorization.kernelLanes(256));
        assertEquals(16, Vectorization.kernelLanes(512));
        assertEquals(16, Vectorization.kernelLanes(2048));
    }

    static Stream<Arguments> narrowCases() {
        return Stream.of(1, 4, 8).flatMap(g -> Stream.of(Metric.COSINE, Metric.L2).flatMap(m ->
                Stream.of(3, 8, 16, 17, 32, 40, 64, 100, 128, 384).map(d -> Arguments.of(g, m, d))));
    }

    /** Every dim class: below one vector, whole chunks with and without leftovers, a partial chunk. */
    @ParameterizedTest(name = "group {0} {1} dim {2}")
    @MethodSource("narrowCases")
    void narrowKernelsGiveTheVectorKeysBitForBit(int groupSize, Metric metric, int dim) {
        int nq = groupSize == 1 ? 1 : groupSize - 1;  // one padding slot where there is room
        float[][] data = rows(dim, 100 + dim);
        float[][] queries = queries(data, nq, metric, 7 + dim);
        boolean l2 = metric == Metric.L2;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = TestVectors.segment(arena, data);
            MemorySegment norms = Norms.compute(v, ROWS, dim, arena);
            float[] group = narrowGroup(queries, dim, groupSize, CpuKernels.L);
            MemorySegment nativeGroup = arena.allocate((long) group.length * Float.BYTES, 64);
            MemorySegment.copy(group, 0, nativeGroup, Norms.LE_FLOAT, 0, group.length);
            for (int k : new int[] {ROWS, 3}) {
                for (int[] range : new int[][] {{0, ROWS}, {5, ROWS - 2}}) {
                    Candidates vec = new Candidates(nq, groupSize, groupSize, k);
                    Candidates sca = new Candidates(nq, groupSize, groupSize, k);
                    int r0 = range[0];
                    int r1 = range[1];
                    int base = 1000;
                    switch (groupSize * (l2 ? -1 : 1)) {
                        case 1 -> CpuKernels.narrowDot1(vec, v, norms, r0, r1, base, dim, group, 0);
                        case -1 -> CpuKernels.narrowL21(vec, v, norms, r0, r1, base, dim, group, 0);
                        case 4 -> CpuKernels.narrowDot4(vec, v, norms, r0, r1, base, dim, group, 0);
                        case -4 -> CpuKernels.narrowL24(vec, v, norms, r0, r1, base, dim, group, 0);
                        case 8 -> CpuKernels.narrowDot8(vec, v, norms, r0, r1, base, dim, nativeGroup, 0);
                        case -8 -> CpuKernels.narrowL28(vec, v, norms, r0, r1, base, dim, nativeGroup, 0);
                        default -> fail();
                    }
                    // the entry CpuSearchBackend uses (the group of 8 comes as a native segment)
                    ScalarKernels.score(sca, v, norms, r0, r1, base, dim, metric, false,
                            groupSize == 8 ? null : group, groupSize == 8 ? nativeGroup : null, groupSize, 0);
                    assertSameCandidates(vec, sca, nq, "k=" + k + " rows " + r0 + ".." + r1);
                }
            }
            // at the other width the order differs, but the keys stay within float rounding
            int other = CpuKernels.L == 16 ? 8 : 16;
            Candidates vec = new Candidates(nq, groupSize, groupSize, ROWS);
            Candidates sca = new Candidates(nq, groupSize, groupSize, ROWS);
            ScalarKernels.narrow(vec, v, norms, 0, ROWS, 0, dim, group, 0, groupSize, l2, CpuKernels.L);
            ScalarKernels.narrow(sca, v, norms, 0, ROWS, 0, dim, narrowGroup(queries, dim, groupSize, other), 0,
                    groupSize, l2, other);
            assertCloseCandidates(vec, sca, nq, "lanes " + other);
        }
    }

    static Stream<Arguments> gemmCases() {
        return Stream.of(Metric.COSINE, Metric.L2).flatMap(m -> Stream.of(3, 17, 64, 100).map(d -> Arguments.of(m, d)));
    }

    /** Two gemm groups (the second one partly padding), tiles of six rows and single rows. */
    @ParameterizedTest(name = "{0} dim {1}")
    @MethodSource("gemmCases")
    void gemmKernelsGiveTheVectorKeysBitForBit(Metric metric, int dim) {
        int qp = CpuKernels.QP;
        int nq = qp + 5;
        float[][] data = rows(dim, 200 + dim);
        float[][] queries = queries(data, nq, metric, 9 + dim);
        boolean l2 = metric == Metric.L2;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = TestVectors.segment(arena, data);
            MemorySegment norms = Norms.compute(v, ROWS, dim, arena);
            float[][] groups = CpuSearchBackend.transposedGroups(queries, dim, qp);
            for (int k : new int[] {ROWS, 4}) {
                Candidates vec = new Candidates(nq, 2 * qp, qp, k);
                Candidates sca = new Candidates(nq, 2 * qp, qp, k);
                for (int g = 0; g < 2; g++) {
                    for (int[] range : new int[][] {{0, 25}, {25, ROWS}}) {
                        if (l2) {
                            CpuKernels.gemmL2(vec, v, norms, range[0], range[1], 7, dim, groups[g], g * qp);
                        } else {
                            CpuKernels.gemmDot(vec, v, norms, range[0], range[1], 7, dim, groups[g], g * qp);
                        }
                        ScalarKernels.score(sca, v, norms, range[0], range[1], 7, dim, metric, true, groups[g], null,
                                qp, g * qp);
                    }
                }
                assertSameCandidates(vec, sca, nq, "k=" + k);
            }
        }
    }

    /** Norms of every width class and of tiny, ordinary and huge values: the same bits. */
    @Test
    void scalarNormsAreTheVectorNormsBitForBit() {
        SplittableRandom rnd = new SplittableRandom(3);
        try (Arena arena = Arena.ofConfined()) {
            for (int dim : new int[] {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 384, 385}) {
                for (float scale : new float[] {1e-22f, 1f, 3e18f}) {
                    int rows = 40;
                    MemorySegment v = arena.allocate((long) rows * dim * Float.BYTES + 3, 4).asSlice(3);
                    for (long i = 0; i < (long) rows * dim; i++) {
                        v.set(Norms.LE_FLOAT, i * Float.BYTES, (float) (rnd.nextGaussian() * scale));
                    }
                    MemorySegment out = Norms.compute(v, rows, dim, arena);
                    for (int r = 0; r < rows; r++) {
                        long off = (long) r * dim * Float.BYTES;
                        float want = VectorNorms.norm(v, off, dim);
                        float got = Norms.scalarNorm(v, off, dim, Vectorization.NORM_LANES);
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                                "dim " + dim + " scale " + scale + " row " + r + ": " + want + " vs " + got);
                        assertEquals(want, out.getAtIndex(Norms.LE_FLOAT, r));
                        // other widths: other order, same value within rounding
                        for (int lanes : new int[] {1, 2, 4, 8}) {
                            float other = Norms.scalarNorm(v, off, dim, lanes);
                            assertEquals(want, other, 2 * Math.ulp(want), "lanes " + lanes);
                        }
                    }
                }
            }
        }
    }

    /** Gaussian rows with a zero row, repeated rows (ties) and one row far larger than the rest. */
    static float[][] rows(int dim, long seed) {
        float[][] data = TestVectors.gaussian(ROWS, dim, seed);
        data[4] = new float[dim];
        data[20] = data[9].clone();
        data[40] = data[9].clone();
        data[41] = data[10].clone();
        for (int d = 0; d < dim; d++) {
            data[30][d] *= 1000;
        }
        return data;
    }

    /** Queries near rows 9 and 10 (the repeated ones), random ones and, for cosine, a zero query. */
    static float[][] queries(float[][] data, int nq, Metric metric, long seed) {
        float[][] q = TestVectors.queries(data, nq, seed);
        q[0] = data[9].clone();
        if (nq > 2) {
            q[1] = data[10].clone();
            q[2] = metric == Metric.COSINE ? new float[data[0].length] : q[2];
        }
        if (metric == Metric.COSINE) {
            for (float[] x : q) {
                normalize(x);
            }
        }
        return q;
    }

    /** As CpuSearchBackend does before the kernels: q / max(|q|, eps), in double. */
    private static void normalize(float[] v) {
        double ss = 0;
        for (float f : v) {
            ss += (double) f * f;
        }
        double scale = 1.0 / Math.max(Math.sqrt(ss), Metric.NORM_EPS);
        for (int d = 0; d < v.length; d++) {
            v[d] = (float) (v[d] * scale);
        }
    }

    /** CpuSearchBackend's narrow layout: value c * lanes + i of query j at (c * per + j) * lanes + i. */
    static float[] narrowGroup(float[][] queries, int dim, int per, int lanes) {
        int chunks = (dim + lanes - 1) / lanes;
        float[] g = new float[chunks * per * lanes];
        for (int j = 0; j < queries.length; j++) {
            for (int d = 0; d < dim; d++) {
                g[(d / lanes * per + j) * lanes + d % lanes] = queries[j][d];
            }
        }
        return g;
    }

    /** The heaps hold the same packed (key, row) longs: same rows, keys with the same bits. */
    private static void assertSameCandidates(Candidates want, Candidates got, int nq, String what) {
        for (int q = 0; q < nq; q++) {
            long[] w = sorted(want, q);
            long[] g = sorted(got, q);
            if (!Arrays.equals(w, g)) {
                for (int i = 0; i < Math.min(w.length, g.length); i++) {
                    if (w[i] != g[i]) {
                        fail(what + ", query " + q + ", place " + i + ": vector row " + TopK.rowOf(w[i]) + " key "
                                + TopK.keyOf(w[i]) + ", scalar row " + TopK.rowOf(g[i]) + " key " + TopK.keyOf(g[i]));
                    }
                }
                assertArrayEquals(w, g, what + ", query " + q);
            }
        }
    }

    /** Same rows (where keys are not within rounding of each other) and keys within 1e-5, relative. */
    private static void assertCloseCandidates(Candidates want, Candidates got, int nq, String what) {
        for (int q = 0; q < nq; q++) {
            long[] w = sorted(want, q);
            long[] g = sorted(got, q);
            assertEquals(w.length, g.length, what);
            float[] byRow = new float[ROWS];
            for (long p : w) {
                byRow[TopK.rowOf(p)] = TopK.keyOf(p);
            }
            for (long p : g) {
                float k = TopK.keyOf(p);
                float ref = byRow[TopK.rowOf(p)];
                assertEquals(ref, k, 1e-5 * Math.max(1, Math.abs(ref)),
                        what + ", query " + q + ", row " + TopK.rowOf(p));
            }
        }
    }

    private static long[] sorted(Candidates c, int q) {
        long[] all = new long[c.heap(q).size()];
        c.heap(q).drainTo(all, 0);
        Arrays.sort(all);
        return all;
    }
}
