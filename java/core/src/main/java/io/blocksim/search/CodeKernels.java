package io.blocksim.search;

import io.blocksim.Metric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The compressed scan's first-pass loops (Vector API): one row of int8 codes at a time, each chunk
 * of L codes widened to floats once and multiplied into up to 4 queries, then each row's interval
 * from {@link CodeBounds} offered to {@link CodeCandidates}. Cosine groups of up to 8 queries
 * (1, 4 or 8 accumulators: each widened chunk feeds up to 8 FMAs); L2 groups of up to 4. Cosine sums c_i q'_i (the scale is
 * applied afterwards, in double); L2 sums c_i q_i and c_i^2 (the distance follows from
 * s^2 |c|^2 - 2 s c.q + |q|^2, with the rounding bounded). Only code that runs once
 * {@link Vectorization#VECTOR_API} is true may touch this class ({@link CodeScan} has the scalar
 * loops otherwise); the bounds hold for any summation order, so both give valid intervals.
 */
final class CodeKernels {
    static final VectorSpecies<Float> S = CpuKernels.S;
    static final int L = S.length();
    /** Bytes of the same lane count: L codes widen to one float vector. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * Byte.SIZE));
    private static final ValueLayout.OfFloat LE_FLOAT = Norms.LE_FLOAT;

    private CodeKernels() {
    }

    /**
     * The 8-query kernels' layout of a group of up to 8 queries: for each chunk of L dimensions, L
     * values of query 0, then of query 1, ... (missing queries and the tail past the last whole
     * chunk left out); 64-byte aligned, in {@code arena}.
     */
    static MemorySegment interleave(float[][] q, int dim, java.lang.foreign.Arena arena) {
        int chunks = dim / L;
        MemorySegment out = arena.allocate(Math.max(1L, (long) chunks * 8 * L * Float.BYTES), 64);
        for (int c = 0; c < chunks; c++) {
            for (int j = 0; j < q.length; j++) {
                MemorySegment.copy(q[j], c * L, out, LE_FLOAT, ((long) c * 8 + j) * L * Float.BYTES, L);
            }
        }
        return out;
    }

    private static FloatVector widen(MemorySegment codes, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, codes, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, S, 0);
    }

    /**
     * Cosine, rows [r0, r1) of a shard (global row = base + local), queries {@code q[0..nq)} (1 to 8,
     * normalized, each {@code dim} long; above 4 also interleaved in {@code qi}, see {@link #interleave})
     * numbered from {@code qOff} in {@code out}.
     */
    static void dot(CodeCandidates out, MemorySegment codes, MemorySegment scales, MemorySegment norms, int r0, int r1,
            int base, int dim, float[][] q, MemorySegment qi, int qOff, int nq, double g, double tiny) {
        float[] q0 = q[0];
        float[] q1 = nq > 1 ? q[1] : q0;
        float[] q2 = nq > 2 ? q[2] : q0;
        float[] q3 = nq > 3 ? q[3] : q0;
        float[][] q8 = nq > 4 ? Arrays.copyOf(q, 8) : null;
        if (q8 != null) {
            for (int j = nq; j < 8; j++) {
                q8[j] = q0;
            }
        }
        float[] iv = out.interval;
        float[] p = out.sums;
        for (int r = r0; r < r1; r++) {
            long off = (long) r * dim;
            if (nq == 1) {
                p[0] = dot1(codes, off, dim, q0);
            } else if (nq <= 4) {
                dot4(codes, off, dim, q0, q1, q2, q3, p);
            } else {
                dot8(codes, off, dim, qi, q8, out.lanes, p);
            }
            float scale = scales.get(LE_FLOAT, (long) r * 8);
            float err = scales.get(LE_FLOAT, (long) r * 8 + 4);
            float norm = norms.get(LE_FLOAT, (long) r * 4);
            double n = Math.max(norm, Metric.NORM_EPS);
            double slack = CodeBounds.cosineRowSlack(scale, err, norm, g, tiny);
            for (int j = 0; j < nq; j++) {
                float bar = out.bar[qOff + j];
                if (CodeBounds.cosineCannotReach(scale * (double) p[j], slack, n, bar)) {
                    continue;
                }
                if (CodeBounds.cosine(p[j], scale, err, norm, g, tiny, bar, iv)) {
                    out.offer(qOff + j, base + r, iv[0], iv[1]);
                }
            }
        }
    }

    private static float dot1(MemorySegment codes, long off, int dim, float[] q0) {
        int vec = dim - dim % L;
        FloatVector a = FloatVector.zero(S);
        FloatVector b = FloatVector.zero(S);
        int d = 0;
        for (; d + L < vec; d += 2 * L) {
            a = widen(codes, off + d).fma(FloatVector.fromArray(S, q0, d), a);
            b = widen(codes, off + d + L).fma(FloatVector.fromArray(S, q0, d + L), b);
        }
        if (d < vec) {
            a = widen(codes, off + d).fma(FloatVector.fromArray(S, q0, d), a);
        }
        float p = a.add(b).reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            p = Math.fma(codes.get(ValueLayout.JAVA_BYTE, off + i), q0[i], p);
        }
        return p;
    }

    private static void dot4(MemorySegment codes, long off, int dim, float[] q0, float[] q1, float[] q2, float[] q3,
            float[] p) {
        int vec = dim - dim % L;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            a0 = x.fma(FloatVector.fromArray(S, q0, d), a0);
            a1 = x.fma(FloatVector.fromArray(S, q1, d), a1);
            a2 = x.fma(FloatVector.fromArray(S, q2, d), a2);
            a3 = x.fma(FloatVector.fromArray(S, q3, d), a3);
        }
        float p0 = a0.reduceLanes(VectorOperators.ADD);
        float p1 = a1.reduceLanes(VectorOperators.ADD);
        float p2 = a2.reduceLanes(VectorOperators.ADD);
        float p3 = a3.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            p0 = Math.fma(c, q0[i], p0);
            p1 = Math.fma(c, q1[i], p1);
            p2 = Math.fma(c, q2[i], p2);
            p3 = Math.fma(c, q3[i], p3);
        }
        p[0] = p0;
        p[1] = p1;
        p[2] = p2;
        p[3] = p3;
    }

    /**
     * Eight queries, interleaved by chunk in {@code qi} ({@code L} floats of query 0, then of query 1, ...
     * for each chunk of {@code L} dimensions; {@code q} for the tail), their 8 sums folded into one
     * vector by {@link CpuKernels}' fold tree (written out here: a helper that takes vectors, unless
     * inlined, boxes them) rather than 8 reductions.
     */
    private static void dot8(MemorySegment codes, long off, int dim, MemorySegment qi, float[][] q, float[] lanes,
            float[] p) {
        int vec = dim - dim % L;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        FloatVector a4 = FloatVector.zero(S);
        FloatVector a5 = FloatVector.zero(S);
        FloatVector a6 = FloatVector.zero(S);
        FloatVector a7 = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            long o = (long) d * 8 * Float.BYTES;
            a0 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 0L * L, ByteOrder.LITTLE_ENDIAN), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 4L * L, ByteOrder.LITTLE_ENDIAN), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 8L * L, ByteOrder.LITTLE_ENDIAN), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 12L * L, ByteOrder.LITTLE_ENDIAN), a3);
            a4 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 16L * L, ByteOrder.LITTLE_ENDIAN), a4);
            a5 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 20L * L, ByteOrder.LITTLE_ENDIAN), a5);
            a6 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 24L * L, ByteOrder.LITTLE_ENDIAN), a6);
            a7 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 28L * L, ByteOrder.LITTLE_ENDIAN), a7);
        }
        IntVector x0 = a0.reinterpretAsInts();
        IntVector y0 = a1.reinterpretAsInts();
        FloatVector b0 = CpuKernels.FOLD1_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x0, y0).reinterpretAsFloats());
        IntVector x1 = a2.reinterpretAsInts();
        IntVector y1 = a3.reinterpretAsInts();
        FloatVector b1 = CpuKernels.FOLD1_LO.selectFrom(x1, y1).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x1, y1).reinterpretAsFloats());
        IntVector x2 = a4.reinterpretAsInts();
        IntVector y2 = a5.reinterpretAsInts();
        FloatVector b2 = CpuKernels.FOLD1_LO.selectFrom(x2, y2).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x2, y2).reinterpretAsFloats());
        IntVector x3 = a6.reinterpretAsInts();
        IntVector y3 = a7.reinterpretAsInts();
        FloatVector b3 = CpuKernels.FOLD1_LO.selectFrom(x3, y3).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x3, y3).reinterpretAsFloats());
        x0 = b0.reinterpretAsInts();
        y0 = b1.reinterpretAsInts();
        FloatVector c0 = CpuKernels.FOLD2_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD2_HI.selectFrom(x0, y0).reinterpretAsFloats());
        x1 = b2.reinterpretAsInts();
        y1 = b3.reinterpretAsInts();
        FloatVector c1 = CpuKernels.FOLD2_LO.selectFrom(x1, y1).reinterpretAsFloats()
                .add(CpuKernels.FOLD2_HI.selectFrom(x1, y1).reinterpretAsFloats());
        x0 = c0.reinterpretAsInts();
        y0 = c1.reinterpretAsInts();
        FloatVector v = CpuKernels.FOLD3_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD3_HI.selectFrom(x0, y0).reinterpretAsFloats());
        if (L / 8 > 1) {  // 2 lanes per query at 16 lanes
            v = v.add(v.rearrange(CpuKernels.SWAP1));
        }
        v.intoArray(lanes, 0);
        for (int j = 0; j < 8; j++) {
            p[j] = lanes[j * (L / 8)];
        }
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            for (int j = 0; j < 8; j++) {
                p[j] = Math.fma(c, q[j][i], p[j]);
            }
        }
    }

    /**
     * L2, as {@link #dot} with raw queries and their squared norms {@code qq} (double) and norms
     * {@code qn}: the code dot products and each row's sum of squared codes, turned into a distance
     * interval by {@link CodeBounds#l2}.
     */
    static void l2(CodeCandidates out, MemorySegment codes, MemorySegment scales, int r0, int r1, int base, int dim,
            float[][] q, MemorySegment qi, double[] qq, double[] qn, int qOff, int nq, double g, double tiny) {
        float[][] q8 = Arrays.copyOf(q, 8);
        for (int j = nq; j < 8; j++) {
            q8[j] = q[0];
        }
        float[] iv = out.interval;
        float[] p = out.sums;
        for (int r = r0; r < r1; r++) {
            long off = (long) r * dim;
            double cc;
            if (nq == 1) {
                cc = sq1(codes, off, dim, q8, p, out.lanes);
            } else if (nq <= 4) {
                cc = sq4(codes, off, dim, q8, p, out.lanes);
            } else {
                cc = sq8(codes, off, dim, qi, q8, out.lanes, p);
            }
            float scale = scales.get(LE_FLOAT, (long) r * 8);
            float err = scales.get(LE_FLOAT, (long) r * 8 + 4);
            double ss = (double) scale * scale * cc;
            double sqc = Math.sqrt(cc);
            for (int j = 0; j < nq; j++) {
                float bar = out.bar[qOff + j];
                if (CodeBounds.l2CannotReach(p[j], ss, sqc, scale, err, qq[qOff + j], qn[qOff + j], g, tiny, bar)) {
                    continue;
                }
                if (CodeBounds.l2(p[j], cc, scale, err, qq[qOff + j], qn[qOff + j], g, tiny, bar, iv)) {
                    out.offer(qOff + j, base + r, iv[0], iv[1]);
                }
            }
        }
    }

    /** As the dot kernels; returns the row's sum of squared codes (exact). */
    private static double sq1(MemorySegment codes, long off, int dim, float[][] q, float[] p, float[] lanes) {
        int vec = dim - dim % L;
        float[] q0 = q[0];
        FloatVector a0 = FloatVector.zero(S);
        FloatVector cc = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            cc = x.fma(x, cc);
            a0 = x.fma(FloatVector.fromArray(S, q0, d), a0);
        }
        p[0] = a0.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            p[0] = Math.fma(c, q[0][i], p[0]);
        }
        return squaredCodes(cc, lanes, codes, off, vec, dim);
    }

    /** As the dot kernels; returns the row's sum of squared codes (exact). */
    private static double sq4(MemorySegment codes, long off, int dim, float[][] q, float[] p, float[] lanes) {
        int vec = dim - dim % L;
        float[] q0 = q[0];
        float[] q1 = q[1];
        float[] q2 = q[2];
        float[] q3 = q[3];
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        FloatVector cc = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            cc = x.fma(x, cc);
            a0 = x.fma(FloatVector.fromArray(S, q0, d), a0);
            a1 = x.fma(FloatVector.fromArray(S, q1, d), a1);
            a2 = x.fma(FloatVector.fromArray(S, q2, d), a2);
            a3 = x.fma(FloatVector.fromArray(S, q3, d), a3);
        }
        p[0] = a0.reduceLanes(VectorOperators.ADD);
        p[1] = a1.reduceLanes(VectorOperators.ADD);
        p[2] = a2.reduceLanes(VectorOperators.ADD);
        p[3] = a3.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            for (int j = 0; j < 4; j++) {
                p[j] = Math.fma(c, q[j][i], p[j]);
            }
        }
        return squaredCodes(cc, lanes, codes, off, vec, dim);
    }

    /**
     * As {@link #dot8}; returns the row's sum of squared codes (exact).
     */
    private static double sq8(MemorySegment codes, long off, int dim, MemorySegment qi, float[][] q, float[] lanes,
            float[] p) {
        int vec = dim - dim % L;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        FloatVector a4 = FloatVector.zero(S);
        FloatVector a5 = FloatVector.zero(S);
        FloatVector a6 = FloatVector.zero(S);
        FloatVector a7 = FloatVector.zero(S);
        FloatVector cc = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            long o = (long) d * 8 * Float.BYTES;
            cc = x.fma(x, cc);
            a0 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 0L * L, ByteOrder.LITTLE_ENDIAN), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 4L * L, ByteOrder.LITTLE_ENDIAN), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 8L * L, ByteOrder.LITTLE_ENDIAN), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 12L * L, ByteOrder.LITTLE_ENDIAN), a3);
            a4 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 16L * L, ByteOrder.LITTLE_ENDIAN), a4);
            a5 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 20L * L, ByteOrder.LITTLE_ENDIAN), a5);
            a6 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 24L * L, ByteOrder.LITTLE_ENDIAN), a6);
            a7 = x.fma(FloatVector.fromMemorySegment(S, qi, o + 28L * L, ByteOrder.LITTLE_ENDIAN), a7);
        }
        IntVector x0 = a0.reinterpretAsInts();
        IntVector y0 = a1.reinterpretAsInts();
        FloatVector b0 = CpuKernels.FOLD1_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x0, y0).reinterpretAsFloats());
        IntVector x1 = a2.reinterpretAsInts();
        IntVector y1 = a3.reinterpretAsInts();
        FloatVector b1 = CpuKernels.FOLD1_LO.selectFrom(x1, y1).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x1, y1).reinterpretAsFloats());
        IntVector x2 = a4.reinterpretAsInts();
        IntVector y2 = a5.reinterpretAsInts();
        FloatVector b2 = CpuKernels.FOLD1_LO.selectFrom(x2, y2).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x2, y2).reinterpretAsFloats());
        IntVector x3 = a6.reinterpretAsInts();
        IntVector y3 = a7.reinterpretAsInts();
        FloatVector b3 = CpuKernels.FOLD1_LO.selectFrom(x3, y3).reinterpretAsFloats()
                .add(CpuKernels.FOLD1_HI.selectFrom(x3, y3).reinterpretAsFloats());
        x0 = b0.reinterpretAsInts();
        y0 = b1.reinterpretAsInts();
        FloatVector c0 = CpuKernels.FOLD2_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD2_HI.selectFrom(x0, y0).reinterpretAsFloats());
        x1 = b2.reinterpretAsInts();
        y1 = b3.reinterpretAsInts();
        FloatVector c1 = CpuKernels.FOLD2_LO.selectFrom(x1, y1).reinterpretAsFloats()
                .add(CpuKernels.FOLD2_HI.selectFrom(x1, y1).reinterpretAsFloats());
        x0 = c0.reinterpretAsInts();
        y0 = c1.reinterpretAsInts();
        FloatVector v = CpuKernels.FOLD3_LO.selectFrom(x0, y0).reinterpretAsFloats()
                .add(CpuKernels.FOLD3_HI.selectFrom(x0, y0).reinterpretAsFloats());
        if (L / 8 > 1) {  // 2 lanes per query at 16 lanes
            v = v.add(v.rearrange(CpuKernels.SWAP1));
        }
        v.intoArray(lanes, 0);
        for (int j = 0; j < 8; j++) {
            p[j] = lanes[j * (L / 8)];
        }
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            for (int j = 0; j < 8; j++) {
                p[j] = Math.fma(c, q[j][i], p[j]);
            }
        }
        return squaredCodes(cc, lanes, codes, off, vec, dim);
    }

    /**
     * The row's sum of squared codes, exactly (CodeBounds' L2 interval needs it exact): each lane
     * of {@code cc} sums {@code vec / L} squares of at most 127^2, an integer float that is exact
     * while below 2^24; the lanes and the tail are then added as integers. Rows too long for that
     * (over about 16,000 dimensions at 16 lanes) are summed again in integers.
     */
    private static double squaredCodes(FloatVector cc, float[] lanes, MemorySegment codes, long off, int vec, int dim) {
        long sum = 0;
        if ((long) (vec / L) * MAX_SQUARE < 1 << 24) {
            cc.intoArray(lanes, 0);
            for (int i = 0; i < L; i++) {
                sum += (long) lanes[i];
            }
        } else {
            for (int i = 0; i < vec; i++) {
                int c = codes.get(ValueLayout.JAVA_BYTE, off + i);
                sum += c * c;
            }
        }
        for (int i = vec; i < dim; i++) {
            int c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            sum += c * c;
        }
        return sum;
    }

    /** The largest square of a code (RowCodes.MAX_CODE = 127). */
    private static final int MAX_SQUARE = 127 * 127;

    /**
     * {@link CodeScan#cut}'s float32 kernel key of the row at byte {@code off} of {@code v}: the
     * float dot product with {@code q} (cosine) or minus the float sum of squared differences (L2),
     * four vector accumulators then a lane reduction (an order Slack allows, as any is).
     */
    static float floatKey(MemorySegment v, long off, float[] q, boolean cosine) {
        int dim = q.length;
        int vec = dim - dim % L;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        int d = 0;
        if (cosine) {
            for (; d + L < vec; d += 2 * L) {
                a0 = FloatVector.fromMemorySegment(S, v, off + (long) d * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(S, q, d), a0);
                a1 = FloatVector.fromMemorySegment(S, v, off + (long) (d + L) * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(S, q, d + L), a1);
            }
            for (; d < vec; d += L) {
                a0 = FloatVector.fromMemorySegment(S, v, off + (long) d * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(S, q, d), a0);
            }
            float p = a0.add(a1).reduceLanes(VectorOperators.ADD);
            for (; d < dim; d++) {
                p = Math.fma(v.get(LE_FLOAT, off + (long) d * Float.BYTES), q[d], p);
            }
            return p;
        }
        for (; d < vec; d += L) {
            FloatVector e = FloatVector.fromMemorySegment(S, v, off + (long) d * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                    .sub(FloatVector.fromArray(S, q, d));
            a0 = e.fma(e, a0);
        }
        float p = a0.reduceLanes(VectorOperators.ADD);
        for (; d < dim; d++) {
            float e = v.get(LE_FLOAT, off + (long) d * Float.BYTES) - q[d];
            p = Math.fma(e, e, p);
        }
        return -p;
    }
}
