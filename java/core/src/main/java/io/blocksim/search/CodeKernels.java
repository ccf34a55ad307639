package io.blocksim.search;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The compressed scan's first-pass loops (Vector API): one row of int8 codes at a time, each chunk
 * of L codes widened to floats once and multiplied into up to 4 queries, then each row's interval
 * from {@link CodeBounds} offered to {@link CodeCandidates}. Cosine groups of up to 8 queries
 * (1, 4 or 8 accumulators: each widened chunk feeds up to 8 FMAs); L2 groups of up to 4. Cosine sums c_i q'_i (the scale is
 * applied afterwards, in double); L2 sums fma(s, c_i, -q_i)^2. Only code that runs once
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

    private static FloatVector widen(MemorySegment codes, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, codes, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, S, 0);
    }

    /**
     * Cosine, rows [r0, r1) of a shard (global row = base + local), queries {@code q[0..nq)} (1 to 8,
     * normalized, each {@code dim} long) numbered from {@code qOff} in {@code out}.
     */
    static void dot(CodeCandidates out, MemorySegment codes, MemorySegment scales, MemorySegment norms, int r0, int r1,
            int base, int dim, float[][] q, int qOff, int nq, double g, double tiny) {
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
                dot8(codes, off, dim, q8, p);
            }
            float scale = scales.get(LE_FLOAT, (long) r * 8);
            float err = scales.get(LE_FLOAT, (long) r * 8 + 4);
            float norm = norms.get(LE_FLOAT, (long) r * 4);
            for (int j = 0; j < nq; j++) {
                if (CodeBounds.cosine(p[j], scale, err, norm, g, tiny, out.bar[qOff + j], iv)) {
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

    private static void dot8(MemorySegment codes, long off, int dim, float[][] q, float[] p) {
        int vec = dim - dim % L;
        float[] q0 = q[0];
        float[] q1 = q[1];
        float[] q2 = q[2];
        float[] q3 = q[3];
        float[] q4 = q[4];
        float[] q5 = q[5];
        float[] q6 = q[6];
        float[] q7 = q[7];
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
            a0 = x.fma(FloatVector.fromArray(S, q0, d), a0);
            a1 = x.fma(FloatVector.fromArray(S, q1, d), a1);
            a2 = x.fma(FloatVector.fromArray(S, q2, d), a2);
            a3 = x.fma(FloatVector.fromArray(S, q3, d), a3);
            a4 = x.fma(FloatVector.fromArray(S, q4, d), a4);
            a5 = x.fma(FloatVector.fromArray(S, q5, d), a5);
            a6 = x.fma(FloatVector.fromArray(S, q6, d), a6);
            a7 = x.fma(FloatVector.fromArray(S, q7, d), a7);
        }
        p[0] = a0.reduceLanes(VectorOperators.ADD);
        p[1] = a1.reduceLanes(VectorOperators.ADD);
        p[2] = a2.reduceLanes(VectorOperators.ADD);
        p[3] = a3.reduceLanes(VectorOperators.ADD);
        p[4] = a4.reduceLanes(VectorOperators.ADD);
        p[5] = a5.reduceLanes(VectorOperators.ADD);
        p[6] = a6.reduceLanes(VectorOperators.ADD);
        p[7] = a7.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            for (int j = 0; j < 8; j++) {
                p[j] = Math.fma(c, q[j][i], p[j]);
            }
        }
    }

    /** L2, as {@link #dot} with the queries negated ({@code q[j][i] = -query_j[i]}): sums of fma(s, c_i, -q_i)^2. */
    static void l2(CodeCandidates out, MemorySegment codes, MemorySegment scales, int r0, int r1, int base, int dim,
            float[][] q, int qOff, int nq, double g, double a, double b) {
        float[] q0 = q[0];
        float[] q1 = nq > 1 ? q[1] : q0;
        float[] q2 = nq > 2 ? q[2] : q0;
        float[] q3 = nq > 3 ? q[3] : q0;
        float[] iv = out.interval;
        float[] t = out.sums;
        for (int r = r0; r < r1; r++) {
            long off = (long) r * dim;
            float scale = scales.get(LE_FLOAT, (long) r * 8);
            float err = scales.get(LE_FLOAT, (long) r * 8 + 4);
            if (nq == 1) {
                t[0] = l2one(codes, off, dim, scale, q0);
            } else {
                l2four(codes, off, dim, scale, q0, q1, q2, q3, t);
            }
            for (int j = 0; j < nq; j++) {
                if (CodeBounds.l2(t[j], err, g, a, b, out.bar[qOff + j], iv)) {
                    out.offer(qOff + j, base + r, iv[0], iv[1]);
                }
            }
        }
    }

    private static float l2one(MemorySegment codes, long off, int dim, float scale, float[] q0) {
        int vec = dim - dim % L;
        FloatVector sv = FloatVector.broadcast(S, scale);
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        int d = 0;
        for (; d + L < vec; d += 2 * L) {
            FloatVector e0 = widen(codes, off + d).fma(sv, FloatVector.fromArray(S, q0, d));
            FloatVector e1 = widen(codes, off + d + L).fma(sv, FloatVector.fromArray(S, q0, d + L));
            s0 = e0.fma(e0, s0);
            s1 = e1.fma(e1, s1);
        }
        if (d < vec) {
            FloatVector e0 = widen(codes, off + d).fma(sv, FloatVector.fromArray(S, q0, d));
            s0 = e0.fma(e0, s0);
        }
        float t = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float e = Math.fma(codes.get(ValueLayout.JAVA_BYTE, off + i), scale, q0[i]);
            t = Math.fma(e, e, t);
        }
        return t;
    }

    private static void l2four(MemorySegment codes, long off, int dim, float scale, float[] q0, float[] q1, float[] q2,
            float[] q3, float[] t) {
        int vec = dim - dim % L;
        FloatVector sv = FloatVector.broadcast(S, scale);
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        for (int d = 0; d < vec; d += L) {
            FloatVector x = widen(codes, off + d);
            FloatVector e0 = x.fma(sv, FloatVector.fromArray(S, q0, d));
            FloatVector e1 = x.fma(sv, FloatVector.fromArray(S, q1, d));
            FloatVector e2 = x.fma(sv, FloatVector.fromArray(S, q2, d));
            FloatVector e3 = x.fma(sv, FloatVector.fromArray(S, q3, d));
            s0 = e0.fma(e0, s0);
            s1 = e1.fma(e1, s1);
            s2 = e2.fma(e2, s2);
            s3 = e3.fma(e3, s3);
        }
        float t0 = s0.reduceLanes(VectorOperators.ADD);
        float t1 = s1.reduceLanes(VectorOperators.ADD);
        float t2 = s2.reduceLanes(VectorOperators.ADD);
        float t3 = s3.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < dim; i++) {
            float c = codes.get(ValueLayout.JAVA_BYTE, off + i);
            float e0 = Math.fma(c, scale, q0[i]);
            float e1 = Math.fma(c, scale, q1[i]);
            float e2 = Math.fma(c, scale, q2[i]);
            float e3 = Math.fma(c, scale, q3[i]);
            t0 = Math.fma(e0, e0, t0);
            t1 = Math.fma(e1, e1, t1);
            t2 = Math.fma(e2, e2, t2);
            t3 = Math.fma(e3, e3, t3);
        }
        t[0] = t0;
        t[1] = t1;
        t[2] = t2;
        t[3] = t3;
    }
}
