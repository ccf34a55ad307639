package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The native code kernel ({@link NativeCodes}): loaded wherever the CPU can run it, its int32 sums
 * equal to exact long sums for every query count and every dimension off the kernel's 32-code
 * step (masked tails), from rows in the middle of a shard; the query rounding's stored error never
 * below the true one (checked in exact decimal arithmetic); no int32 overflow at the largest
 * dimension with the largest codes and queries.
 */
class NativeCodesTest {
    /** On a Linux x86-64 machine whose CPU flags include AVX-512 VNNI the kernel must load, not fall back. */
    @Test
    void theKernelLoadsWhereTheCpuHasVnni() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        assumeTrue(Files.isReadable(cpuinfo) && "amd64".equals(System.getProperty("os.arch")), "not Linux x86-64");
        String flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags")).findFirst().orElse("");
        boolean vnni = Arrays.asList(flags.split("\\s+")).containsAll(
                java.util.List.of("avx512f", "avx512bw", "avx512vl", "avx512_vnni"));
        assumeTrue(vnni, "this CPU lacks AVX-512 VNNI");
        assumeTrue(System.getenv("BLOCKSIM_CPU_NATIVE") == null && System.getProperty("blocksim.cpu.native") == null,
                "turned off by the environment");
        assertTrue(NativeCodes.available(), "the native kernel did not load: " + NativeCodes.why());
    }

    @Property(tries = 60)
    void theKernelsSumsAreExact(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int nq) {
        assumeTrue(NativeCodes.available(), "no native kernel here: " + NativeCodes.why());
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] dims = {1, 5, 31, 32, 33, 63, 64, 100, 384, 1000};
        int dim = dims[rnd.nextInt(dims.length)];
        int rows = 1 + rnd.nextInt(CodeScan.BLOCK_ROWS);
        int r0 = rnd.nextInt(5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate((long) (r0 + rows) * dim + 1);
            for (long i = 0; i < codes.byteSize(); i++) {
                codes.set(ValueLayout.JAVA_BYTE, i, (byte) (rnd.nextInt(3) == 0 ? (rnd.nextBoolean() ? 127 : -127)
                        : rnd.nextInt(-127, 128)));
            }
            float[][] q = new float[nq][dim];
            for (float[] v : q) {
                double scale = Math.pow(10, rnd.nextInt(-20, 20));
                for (int d = 0; d < dim; d++) {
                    v[d] = (float) (rnd.nextGaussian() * scale);
                }
            }
            NativeCodes.Quantized qu = NativeCodes.quantize(q, dim, arena);
            int[] out = new int[rows * nq];
            int[] squares = new int[rows];
            boolean withSquares = rnd.nextBoolean();
            sums(codes, r0, rows, dim, qu, out, withSquares ? squares : null, arena);
            for (int r = 0; r < rows; r++) {
                long sq = 0;
                for (int d = 0; d < dim; d++) {
                    int c = codes.get(ValueLayout.JAVA_BYTE, (long) (r0 + r) * dim + d);
                    sq += c * c;
                }
                for (int j = 0; j < nq; j++) {
                    long want = 0;
                    for (int d = 0; d < dim; d++) {
                        want += codes.get(ValueLayout.JAVA_BYTE, (long) (r0 + r) * dim + d)
                                * (long) qu.q().getAtIndex(ValueLayout.JAVA_SHORT, (long) j * NativeCodes.stride(dim) + d);
                    }
                    assertEquals(want, out[j * rows + r], "dim " + dim + " nq " + nq + " row " + r + " query " + j);
                }
                if (withSquares) {
                    assertEquals(sq, squares[r], "dim " + dim + " row " + r + " squares");
                }
            }
        }
    }

    /** The kernel's sums (and squares): a scan against NaN bars, which rejects no row. */
    private static void sums(MemorySegment codes, long r0, int rows, int dim, NativeCodes.Quantized qu, int[] out,
            int[] squares, Arena arena) {
        float[] bar = new float[qu.nq()];
        Arrays.fill(bar, Float.NaN);
        int found = NativeCodes.scan(codes, arena.allocate((r0 + rows) * 8L), arena.allocate((r0 + rows) * 4L), r0, rows,
                dim, qu, new double[NativeCodes.PARAMS], bar, 0, out, squares, new int[rows]);
        assertEquals(rows, found, "NaN bars reject no row");
    }

    /**
     * The kernel's quick rejection decides exactly as Java's {@link CodeBounds#cosineCannotReach}
     * and {@link CodeBounds#l2CannotReach} would, row by row and query by query: bars placed at the
     * rows' own bounds (decisions an ulp either way), NaN bars, zero, tiny and huge scales, errors
     * and norms, partial last vectors of rows.
     */
    @Property(tries = 80)
    void theQuickRejectionIsJavas(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int nq,
            @ForAll boolean cosine) {
        assumeTrue(NativeCodes.available(), "no native kernel here: " + NativeCodes.why());
        SplittableRandom rnd = new SplittableRandom(seed);
        int dim = new int[] {1, 33, 96, 384}[rnd.nextInt(4)];
        int rows = 1 + rnd.nextInt(CodeScan.BLOCK_ROWS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate((long) rows * dim);
            for (long i = 0; i < codes.byteSize(); i++) {
                codes.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(-127, 128));
            }
            MemorySegment scales = arena.allocate((long) rows * 8);
            MemorySegment norms = arena.allocate((long) rows * 4);
            double mag = Math.pow(10, rnd.nextInt(-30, 30));
            for (int r = 0; r < rows; r++) {
                float scale = rnd.nextInt(10) == 0 ? 0f : (float) (rnd.nextDouble() * mag);
                scales.set(Norms.LE_FLOAT, r * 8L, scale);
                scales.set(Norms.LE_FLOAT, r * 8L + 4, rnd.nextInt(10) == 0 ? 0f : (float) (rnd.nextDouble() * scale * 10));
                float norm = switch (rnd.nextInt(12)) {
                    case 0 -> 0f;
                    case 1 -> Float.NaN;
                    case 2 -> 1e-9f;
                    default -> (float) (scale * 127 * Math.sqrt(dim) * rnd.nextDouble());
                };
                norms.set(Norms.LE_FLOAT, r * 4L, norm);
            }
            float[][] q = new float[nq][dim];
            for (float[] v : q) {
                for (int d = 0; d < dim; d++) {
                    v[d] = (float) (rnd.nextGaussian() * (cosine ? 1 / Math.sqrt(dim) : mag));
                }
            }
            NativeCodes.Quantized qu = NativeCodes.quantize(q, dim, arena);
            double g = CodeBounds.integerGrowth(dim, 16, rnd.nextDouble() * 1e-3);
            double tiny = (dim + 16) * 0x1p-149;
            double[] param = new double[NativeCodes.PARAMS];
            param[NativeCodes.PARAM_G] = g;
            param[NativeCodes.PARAM_TINY] = tiny;
            double[] qq = new double[nq];
            double[] qn = new double[nq];
            for (int j = 0; j < nq; j++) {
                for (float f : q[j]) {
                    qq[j] += (double) f * f;
                }
                qn[j] = Math.sqrt(qq[j]);
                param[NativeCodes.PARAM_INV + j] = qu.inv()[j];
                param[NativeCodes.PARAM_QQ + j] = qq[j];
                param[NativeCodes.PARAM_QN + j] = qn[j];
            }
            int[] out = new int[rows * nq];
            int[] squares = new int[rows];
            sums(codes, 0, rows, dim, qu, out, cosine ? null : squares, arena);
            // bars at a random row's own reject boundary (so decisions go both ways), some NaN
            float[] bar = new float[nq];
            for (int j = 0; j < nq; j++) {
                int r = rnd.nextInt(rows);
                double p = out[j * rows + r] * qu.inv()[j];
                float scale = scales.get(Norms.LE_FLOAT, r * 8L);
                float norm = norms.get(Norms.LE_FLOAT, r * 4L);
                double center = cosine ? scale * p / Math.max(norm, 1e-8)
                        : -Math.sqrt(Math.max(0, (double) scale * scale * squares[r] - 2.0 * scale * p + qq[j]));
                bar[j] = rnd.nextInt(8) == 0 ? Float.NaN : (float) (center + (rnd.nextDouble() - 0.5) * Math.abs(center)
                        * Math.pow(10, -rnd.nextInt(1, 8)));
            }
            int[] hits = new int[rows];
            int found = NativeCodes.scan(codes, scales, cosine ? norms : null, 0, rows, dim, qu, param, bar, 0,
                    new int[rows * nq], cosine ? null : new int[rows], hits);
            int h = 0;
            for (int r = 0; r < rows; r++) {
                float scale = scales.get(Norms.LE_FLOAT, r * 8L);
                float err = scales.get(Norms.LE_FLOAT, r * 8L + 4);
                float norm = norms.get(Norms.LE_FLOAT, r * 4L);
                int mask = 0;
                for (int j = 0; j < nq; j++) {
                    double p = out[j * rows + r] * qu.inv()[j];
                    boolean reject = cosine
                            ? CodeBounds.cosineCannotReach(scale * p, CodeBounds.cosineRowSlack(scale, err, norm, g, tiny),
                                    Math.max(norm, io.blocksim.Metric.NORM_EPS), bar[j])
                            : CodeBounds.l2CannotReach(p, (double) scale * scale * squares[r], Math.sqrt(squares[r]), scale,
                                    err, qq[j], qn[j], g, tiny, bar[j]);
                    if (!reject) {
                        mask |= 1 << j;
                    }
                }
                if (mask != 0) {
                    assertTrue(h < found, "row " + r + " missing from the kernel's hits");
                    assertEquals((r << 8) | mask, hits[h], "row " + r);
                    h++;
                }
            }
            assertEquals(h, found, "the kernel kept rows Java rejects");
        }
    }

    /** The stored error is at least |q - cq/t| (exact decimal), and not much more; |cq| within the limit; pads zero. */
    @Property(tries = 300)
    void theQueryRoundingErrorIsNeverUnderstated(@ForAll long seed, @ForAll @IntRange(min = 1, max = 700) int dim,
            @ForAll @IntRange(min = 0, max = 4) int kind) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[dim];
        for (int d = 0; d < dim; d++) {
            v[d] = switch (kind) {
                case 0 -> (float) rnd.nextGaussian();
                case 1 -> (float) (rnd.nextGaussian() * 1e37);
                case 2 -> Float.intBitsToFloat(rnd.nextInt(1, 1 << 23)) * (rnd.nextBoolean() ? 1 : -1);  // subnormal
                case 3 -> rnd.nextInt(4) == 0 ? (float) (rnd.nextGaussian() * 1e30) : (float) (rnd.nextGaussian() * 1e-30);
                default -> rnd.nextInt(3) == 0 ? 0f : (float) rnd.nextGaussian();
            };
        }
        try (Arena arena = Arena.ofConfined()) {
            NativeCodes.Quantized qu = NativeCodes.quantize(new float[][] {v}, dim, arena);
            int stride = NativeCodes.stride(dim);
            double limit = Math.min(Short.MAX_VALUE, Math.floor((double) Integer.MAX_VALUE / (127.0 * stride)));
            BigDecimal t = new BigDecimal(1 / qu.inv()[0]);
            BigDecimal sum = BigDecimal.ZERO;
            for (int d = 0; d < stride; d++) {
                short c = qu.q().getAtIndex(ValueLayout.JAVA_SHORT, d);
                assertTrue(Math.abs(c) <= limit, "code " + c + " beyond " + limit);
                if (d >= dim) {
                    assertEquals(0, c, "padding");
                    continue;
                }
                BigDecimal r = new BigDecimal(v[d]).subtract(new BigDecimal(c).divide(t));  // t is a power of two
                sum = sum.add(r.multiply(r));
            }
            BigDecimal err = new BigDecimal(qu.err()[0]);
            assertTrue(err.multiply(err).compareTo(sum) >= 0, "stored " + qu.err()[0] + " below the true "
                    + sum.sqrt(MathContext.DECIMAL64));
            double exact = sum.sqrt(MathContext.DECIMAL64).doubleValue();
            assertTrue(qu.err()[0] <= exact * (1 + 1e-8) + Double.MIN_VALUE, qu.err()[0] + " far above " + exact);
        }
    }

    /** The largest dimension, every code 127 and every query value at the limit: the exact sum, no wrap. */
    @Test
    void theLargestSumsFitInt32() {
        assumeTrue(NativeCodes.available(), "no native kernel here: " + NativeCodes.why());
        int dim = NativeCodes.MAX_DIM;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate(dim);
            codes.fill((byte) 127);
            float[] q = new float[dim];
            Arrays.fill(q, 1f);
            NativeCodes.Quantized qu = NativeCodes.quantize(new float[][] {q, q}, dim, arena);
            long cq = qu.q().getAtIndex(ValueLayout.JAVA_SHORT, 0);
            assertTrue(cq > 0);
            int[] out = new int[2];
            int[] squares = new int[1];
            sums(codes, 0, 1, dim, qu, out, squares, arena);
            assertEquals(127L * cq * dim, out[0]);
            assertEquals(127L * cq * dim, out[1]);
            assertEquals(127L * 127 * dim, squares[0]);
        }
    }
}
