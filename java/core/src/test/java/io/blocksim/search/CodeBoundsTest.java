package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.Metric;
import io.blocksim.store.RowCodes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link CodeBounds} holds the canonical score for float sums taken in any order: checked against
 * {@link CanonicalScores} with the code dot product (cosine) or squared distance (L2) summed in
 * two orders (one fma chain; 16 lanes then a pairwise fold). Rows include exactly coded ones
 * (values s * c with s a power of two and some |c| = 127, so the stored error bound is 0 and only
 * the rounding terms keep the interval honest), zero rows, tiny and huge magnitudes.
 */
class CodeBoundsTest {
    @Property(tries = 400)
    void theIntervalHoldsTheCanonicalScore(@ForAll long seed, @ForAll @IntRange(min = 1, max = 400) int dim,
            @ForAll @IntRange(min = 0, max = 5) int kind) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[dim];
        float[] q = new float[dim];
        int e = rnd.nextInt(-60, 60);
        for (int i = 0; i < dim; i++) {
            x[i] = switch (kind) {
                case 0 -> Math.scalb((float) rnd.nextInt(-127, 128), e);  // exactly coded (E = 0 once some |c| = 127)
                case 1 -> (float) rnd.nextGaussian();
                case 2 -> (float) (rnd.nextGaussian() * 1e-30);
                case 3 -> (float) (rnd.nextGaussian() * 1e18);
                case 4 -> 0f;
                default -> (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-20, 20)));
            };
            q[i] = (float) (rnd.nextGaussian() * (rnd.nextBoolean() ? 1 : Math.pow(10, rnd.nextInt(-30, 30))));
        }
        if (kind == 0) {
            x[rnd.nextInt(dim)] = Math.scalb(rnd.nextBoolean() ? 127f : -127f, e);
        }
        if (rnd.nextInt(8) == 0) {
            q = x.clone();  // a self match: cosine 1, distance 0
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocate((long) dim * Float.BYTES);
            MemorySegment.copy(x, 0, xs, Norms.LE_FLOAT, 0, dim);
            MemorySegment codes = arena.allocate(dim);
            MemorySegment scales = arena.allocate(2 * Float.BYTES);
            RowCodes.encode(xs, 1, dim, codes, scales);
            float scale = scales.get(Norms.LE_FLOAT, 0);
            float err = scales.get(Norms.LE_FLOAT, 4);
            if (kind == 0) {
                assertEquals(0f, err);
            }
            float[] c = new float[dim];
            for (int i = 0; i < dim; i++) {
                c[i] = codes.get(ValueLayout.JAVA_BYTE, i);
            }
            float norm = (float) CanonicalScores.norm(x);
            float[] iv = new float[2];
            // cosine: the query as the backend normalizes it
            float[] u = CpuSearchBackend.prepareQueries(new float[][] {q}, Metric.COSINE)[0];
            float cos = CanonicalScores.cosine(xs, 0, q, CanonicalScores.norm(q));
            double g = CodeBounds.cosineGrowth(dim, 16);
            double tiny = (dim + 16) * 0x1p-149;
            for (float p : new float[] {chain(c, u), lanes(c, u)}) {
                CodeBounds.cosine(p, scale, err, norm, g, tiny, iv);
                assertTrue(iv[0] <= cos && cos <= iv[1], "cosine " + cos + " outside [" + iv[0] + ", " + iv[1] + "]");
                // the kernels' quick reject never rejects a row against a bar at its own score
                assertTrue(!CodeBounds.cosineCannotReach(scale * (double) p, CodeBounds.cosineRowSlack(scale, err, norm, g,
                        tiny), Math.max(norm, Metric.NORM_EPS), cos), "cosine " + cos + " rejected");
                assertTrue(CodeBounds.cosine(p, scale, err, norm, g, tiny, cos, iv));
            }
            // L2: from the code dot product with the raw query and the row's sum of squared codes
            float dist = CanonicalScores.l2(xs, 0, q);
            double cc = 0;  // exact, as the kernels sum it
            for (float v : c) {
                cc += (double) v * v;
            }
            double qq = 0;
            for (float f : q) {
                qq += (double) f * f;
            }
            double g2 = CodeBounds.l2Growth(dim, 16);
            for (float p : new float[] {chain(c, q), lanes(c, q)}) {
                CodeBounds.l2(p, cc, scale, err, qq, Math.sqrt(qq), g2, tiny, iv);
                assertTrue(iv[0] <= -dist && -dist <= iv[1], "-distance " + -dist + " outside [" + iv[0] + ", " + iv[1]
                        + "]");
                assertTrue(!CodeBounds.l2CannotReach(p, (double) scale * scale * cc, Math.sqrt(cc), scale, err, qq,
                        Math.sqrt(qq), g2, tiny, -dist), "-distance " + -dist + " rejected");
                assertTrue(CodeBounds.l2(p, cc, scale, err, qq, Math.sqrt(qq), g2, tiny, -dist, iv));
            }
            // the native kernel's way (NativeCodes): the query rounded to int16, an exact integer sum over its scale
            NativeCodes.Quantized qu = NativeCodes.quantize(new float[][] {u}, dim, arena);
            double pu = integerDot(c, qu) * qu.inv()[0];
            double gu = CodeBounds.integerGrowth(dim, 16, qu.err()[0]);
            CodeBounds.cosine(pu, scale, err, norm, gu, tiny, iv);
            assertTrue(iv[0] <= cos && cos <= iv[1], "integer: cosine " + cos + " outside [" + iv[0] + ", " + iv[1] + "]");
            assertTrue(!CodeBounds.cosineCannotReach(scale * pu, CodeBounds.cosineRowSlack(scale, err, norm, gu, tiny),
                    Math.max(norm, Metric.NORM_EPS), cos), "integer: cosine " + cos + " rejected");
            NativeCodes.Quantized ql = NativeCodes.quantize(new float[][] {q}, dim, arena);
            double pl = integerDot(c, ql) * ql.inv()[0];
            double gl = CodeBounds.integerGrowth(dim, 16, ql.err()[0] == 0 ? 0 : ql.err()[0] / Math.sqrt(qq));
            CodeBounds.l2(pl, cc, scale, err, qq, Math.sqrt(qq), gl, tiny, iv);
            assertTrue(iv[0] <= -dist && -dist <= iv[1], "integer: -distance " + -dist + " outside [" + iv[0] + ", "
                    + iv[1] + "]");
            assertTrue(!CodeBounds.l2CannotReach(pl, (double) scale * scale * cc, Math.sqrt(cc), scale, err, qq,
                    Math.sqrt(qq), gl, tiny, -dist), "integer: -distance " + -dist + " rejected");
        }
    }

    /** What the native kernel computes: sum c_i cq_i, exactly. */
    static long integerDot(float[] c, NativeCodes.Quantized q) {
        long sum = 0;
        for (int i = 0; i < c.length; i++) {
            sum += (long) c[i] * q.q().getAtIndex(ValueLayout.JAVA_SHORT, i);
        }
        return sum;
    }

    /** The bound is no wider than the coding error needs: an exactly coded row's interval is a few ulps wide. */
    @Test
    void anExactlyCodedRowsIntervalIsNarrow() {
        float[] iv = new float[2];
        CodeBounds.cosine(100f, 0.01f, 0f, 1f, CodeBounds.cosineGrowth(384, 16), 400 * 0x1p-149, iv);
        assertTrue(iv[1] - iv[0] < 1e-4f && iv[0] < 1f && iv[1] >= 1f - 1e-4f, iv[0] + " " + iv[1]);
        // x = (1, 0), coded exactly (s = 1/127, c = (127, 0)); q = (3, 0): distance 2
        CodeBounds.l2(381f, 127f * 127f, 1f / 127, 0f, 9.0, 3.0, CodeBounds.l2Growth(384, 16), 400 * 0x1p-149, iv);
        assertTrue(iv[0] <= -2f && -2f <= iv[1] && iv[1] - iv[0] < 1e-3f, iv[0] + " " + iv[1]);
    }

    /**
     * Rows of 2,048 dimensions whose squared codes (120 to 127 each) sum past 2^24, where a float
     * sum rounds: the L2 kernels (1, 4 and 8 queries) keep that sum exact, so every row's interval
     * holds its canonical distance, also for queries far smaller than the rows.
     */
    @Test
    void longRowsKeepTheSumOfSquaredCodesExact() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vectorization.VECTOR_API, "the Vector API kernels are off");
        int dim = 2048;
        int rows = 40;
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate((long) rows * dim * Float.BYTES, 64);
            for (long i = 0; i < (long) rows * dim; i++) {
                float v = (120 + rnd.nextInt(8)) * 0.01f * (rnd.nextBoolean() ? 1 : -1);
                x.setAtIndex(Norms.LE_FLOAT, i, v);
            }
            MemorySegment codes = arena.allocate((long) rows * dim, 64);
            MemorySegment scales = arena.allocate((long) rows * RowCodes.SCALE_COLUMNS * Float.BYTES, 64);
            RowCodes.encode(x, rows, dim, codes, scales);
            for (int nq : new int[] {1, 4, 8}) {
                float[][] q = new float[nq][dim];
                double[] qq = new double[nq];
                double[] qn = new double[nq];
                for (int j = 0; j < nq; j++) {
                    for (int d = 0; d < dim; d++) {
                        q[j][d] = x.getAtIndex(Norms.LE_FLOAT, (long) j * dim + d) * (j == 0 ? 1e-3f : 0.5f);
                        qq[j] += (double) q[j][d] * q[j][d];
                    }
                    qn[j] = Math.sqrt(qq[j]);
                }
                CodeCandidates out = new CodeCandidates(nq, rows, false);  // k = rows: every interval is kept
                CodeKernels.l2(out, codes, scales, 0, rows, 0, dim, q, nq > 4 ? CodeKernels.interleave(q, dim, arena) : null,
                        qq, qn, 0, nq, CodeBounds.l2Growth(dim, 16), (dim + 16) * 0x1p-149);
                for (int j = 0; j < nq; j++) {
                    long[] lows = new long[rows];
                    assertEquals(rows, out.collectLows(j, lows, 0));
                    int[] kept = new int[rows];
                    assertEquals(rows, out.collectKept(j, Float.NaN, kept, 0), "every row kept while the heap fills");
                    for (long packed : lows) {
                        int r = TopK.rowOf(packed);
                        float dist = CanonicalScores.l2(x, (long) r * dim * Float.BYTES, q[j]);
                        assertTrue(TopK.keyOf(packed) <= -dist, "nq " + nq + " q" + j + " row " + r + ": lower bound "
                                + TopK.keyOf(packed) + " above -distance " + -dist);
                    }
                }
            }
        }
    }

    private static float chain(float[] a, float[] b) {
        float s = 0;
        for (int i = 0; i < a.length; i++) {
            s = Math.fma(a[i], b[i], s);
        }
        return s;
    }

    private static float lanes(float[] a, float[] b) {
        float[] acc = new float[16];
        for (int i = 0; i < a.length; i++) {
            acc[i % 16] = Math.fma(a[i], b[i], acc[i % 16]);
        }
        for (int w = 8; w >= 1; w /= 2) {
            for (int i = 0; i < w; i++) {
                acc[i] += acc[i + w];
            }
        }
        return acc[0];
    }
}
