package io.blocksim.search;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU search's inner loops: score a range of rows of one shard against one group of queries and
 * hand every score that could enter a query's top-k to {@link Candidates}. Keys are "larger is
 * better": cosine similarity, or the negated squared L2 distance.
 *
 * <p>Two shapes, chosen by the number of queries:
 * <ul>
 * <li>"narrow" (few queries): vectorized along the dimension, like a dot-product routine. A tile of
 * 4 rows x 4 queries loads each row chunk once and feeds 16 accumulators; every
 * accumulator is then summed across lanes by a fixed tree. Memory-bound for up to ~16 queries.
 * <li>"gemm" (many queries): vectorized across queries, like a GEMM micro-kernel. The group's
 * queries are transposed ({@code qt[d * QP + j]}), each row value is broadcast and multiplied into
 * 4 query vectors, for a tile of 6 rows: 24 accumulators, no cross-lane work at all.
 * </ul>
 * Each row's score is computed by the same operations in the same order wherever the row falls
 * (tile or tail, any thread, interpreted or compiled: the Vector API's lanewise ops are exact IEEE
 * and Math.fma), so identical rows get identical scores and ties go to the lower row id.
 *
 * <p>Generated-style unrolling: every accumulator must be its own local for the JIT to keep it in a
 * register.
 */
final class CpuKernels {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows per gemm tile and query vectors per gemm tile. */
    static final int GEMM_ROWS = 6;
    static final int GEMM_VECTORS = 4;
    /** Queries in one gemm group: the transposed block is {@code dim x QP}. */
    static final int QP = 4 * L;
    /** Queries in one narrow group. */
    static final int NARROW_QUERIES = 4;
    static final float EPS = (float) Metric.NORM_EPS;
    private static final ValueLayout.OfFloat LE_FLOAT = Norms.LE_FLOAT;

    private static final VectorShuffle<Float> X1 = swap(1);
    private static final VectorShuffle<Float> X2 = swap(2);
    private static final VectorShuffle<Float> X4 = swap(4);
    private static final VectorShuffle<Float> X8 = swap(8);

    private CpuKernels() {
    }

    private static VectorShuffle<Float> swap(int bit) {
        return VectorShuffle.fromOp(S, i -> bit < L ? i ^ bit : i);
    }

    /** Sum of the lanes by a fixed pairwise tree (never reduceLanes, whose order may change when the JIT kicks in). */
    static float sumLanes(FloatVector v) {
        if (L > 16) {
            float t = 0;
            for (float f : v.toArray()) {
                t += f;
            }
            return t;
        }
        if (L >= 16) {
            v = v.add(v.rearrange(X8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(X4));
        }
        if (L >= 4) {
            v = v.add(v.rearrange(X2));
        }
        if (L >= 2) {
            v = v.add(v.rearrange(X1));
        }
        return v.lane(0);
    }

    /** The cosine denominator of a row: its norm, clamped like torch. */
    static float norm(MemorySegment norms, int row) {
        return Math.max(norms.get(LE_FLOAT, (long) row * Float.BYTES), EPS);
    }

    static void gemmDot(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + 6 <= r1; r += 6) {
            gemmDot6(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            gemmDot1(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    static void gemmL2(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + 6 <= r1; r += 6) {
            gemmL26(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            gemmL21(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    static void narrowDot(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            narrowDot4(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            narrowDot1(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    static void narrowL2(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            narrowL24(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            narrowL21(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    private static void gemmDot6(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qt, int qOff) {
        long rb = (long) dim * Float.BYTES;
        long o1 = o0 + rb;
        long o2 = o1 + rb;
        long o3 = o2 + rb;
        long o4 = o3 + rb;
        long o5 = o4 + rb;
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S); FloatVector a11 = FloatVector.zero(S); FloatVector a12 = FloatVector.zero(S); FloatVector a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S); FloatVector a21 = FloatVector.zero(S); FloatVector a22 = FloatVector.zero(S); FloatVector a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S); FloatVector a31 = FloatVector.zero(S); FloatVector a32 = FloatVector.zero(S); FloatVector a33 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S); FloatVector a41 = FloatVector.zero(S); FloatVector a42 = FloatVector.zero(S); FloatVector a43 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S); FloatVector a51 = FloatVector.zero(S); FloatVector a52 = FloatVector.zero(S); FloatVector a53 = FloatVector.zero(S);
        for (int d = 0, t = 0; d < dim; d++, t += QP) {
            FloatVector q0 = FloatVector.fromArray(S, qt, t);
            FloatVector q1 = FloatVector.fromArray(S, qt, t + 1 * L);
            FloatVector q2 = FloatVector.fromArray(S, qt, t + 2 * L);
            FloatVector q3 = FloatVector.fromArray(S, qt, t + 3 * L);
            long od = (long) d * Float.BYTES;
            FloatVector x = FloatVector.broadcast(S, v.get(LE_FLOAT, o0 + od));
            a00 = q0.fma(x, a00);
            a01 = q1.fma(x, a01);
            a02 = q2.fma(x, a02);
            a03 = q3.fma(x, a03);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o1 + od));
            a10 = q0.fma(x, a10);
            a11 = q1.fma(x, a11);
            a12 = q2.fma(x, a12);
            a13 = q3.fma(x, a13);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o2 + od));
            a20 = q0.fma(x, a20);
            a21 = q1.fma(x, a21);
            a22 = q2.fma(x, a22);
            a23 = q3.fma(x, a23);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o3 + od));
            a30 = q0.fma(x, a30);
            a31 = q1.fma(x, a31);
            a32 = q2.fma(x, a32);
            a33 = q3.fma(x, a33);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o4 + od));
            a40 = q0.fma(x, a40);
            a41 = q1.fma(x, a41);
            a42 = q2.fma(x, a42);
            a43 = q3.fma(x, a43);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o5 + od));
            a50 = q0.fma(x, a50);
            a51 = q1.fma(x, a51);
            a52 = q2.fma(x, a52);
            a53 = q3.fma(x, a53);
        }
        float n = norm(norms, local + 0);
        s.check(a00.div(n), qOff + 0 * L, base + local + 0);
        s.check(a01.div(n), qOff + 1 * L, base + local + 0);
        s.check(a02.div(n), qOff + 2 * L, base + local + 0);
        s.check(a03.div(n), qOff + 3 * L, base + local + 0);
        n = norm(norms, local + 1);
        s.check(a10.div(n), qOff + 0 * L, base + local + 1);
        s.check(a11.div(n), qOff + 1 * L, base + local + 1);
        s.check(a12.div(n), qOff + 2 * L, base + local + 1);
        s.check(a13.div(n), qOff + 3 * L, base + local + 1);
        n = norm(norms, local + 2);
        s.check(a20.div(n), qOff + 0 * L, base + local + 2);
        s.check(a21.div(n), qOff + 1 * L, base + local + 2);
        s.check(a22.div(n), qOff + 2 * L, base + local + 2);
        s.check(a23.div(n), qOff + 3 * L, base + local + 2);
        n = norm(norms, local + 3);
        s.check(a30.div(n), qOff + 0 * L, base + local + 3);
        s.check(a31.div(n), qOff + 1 * L, base + local + 3);
        s.check(a32.div(n), qOff + 2 * L, base + local + 3);
        s.check(a33.div(n), qOff + 3 * L, base + local + 3);
        n = norm(norms, local + 4);
        s.check(a40.div(n), qOff + 0 * L, base + local + 4);
        s.check(a41.div(n), qOff + 1 * L, base + local + 4);
        s.check(a42.div(n), qOff + 2 * L, base + local + 4);
        s.check(a43.div(n), qOff + 3 * L, base + local + 4);
        n = norm(norms, local + 5);
        s.check(a50.div(n), qOff + 0 * L, base + local + 5);
        s.check(a51.div(n), qOff + 1 * L, base + local + 5);
        s.check(a52.div(n), qOff + 2 * L, base + local + 5);
        s.check(a53.div(n), qOff + 3 * L, base + local + 5);
    }

    private static void gemmDot1(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qt, int qOff) {
        long rb = (long) dim * Float.BYTES;
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        for (int d = 0, t = 0; d < dim; d++, t += QP) {
            FloatVector q0 = FloatVector.fromArray(S, qt, t);
            FloatVector q1 = FloatVector.fromArray(S, qt, t + 1 * L);
            FloatVector q2 = FloatVector.fromArray(S, qt, t + 2 * L);
            FloatVector q3 = FloatVector.fromArray(S, qt, t + 3 * L);
            long od = (long) d * Float.BYTES;
            FloatVector x = FloatVector.broadcast(S, v.get(LE_FLOAT, o0 + od));
            a00 = q0.fma(x, a00);
            a01 = q1.fma(x, a01);
            a02 = q2.fma(x, a02);
            a03 = q3.fma(x, a03);
        }
        float n = norm(norms, local + 0);
        s.check(a00.div(n), qOff + 0 * L, base + local + 0);
        s.check(a01.div(n), qOff + 1 * L, base + local + 0);
        s.check(a02.div(n), qOff + 2 * L, base + local + 0);
        s.check(a03.div(n), qOff + 3 * L, base + local + 0);
    }

    private static void gemmL26(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qt, int qOff) {
        long rb = (long) dim * Float.BYTES;
        long o1 = o0 + rb;
        long o2 = o1 + rb;
        long o3 = o2 + rb;
        long o4 = o3 + rb;
        long o5 = o4 + rb;
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S); FloatVector a11 = FloatVector.zero(S); FloatVector a12 = FloatVector.zero(S); FloatVector a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S); FloatVector a21 = FloatVector.zero(S); FloatVector a22 = FloatVector.zero(S); FloatVector a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S); FloatVector a31 = FloatVector.zero(S); FloatVector a32 = FloatVector.zero(S); FloatVector a33 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S); FloatVector a41 = FloatVector.zero(S); FloatVector a42 = FloatVector.zero(S); FloatVector a43 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S); FloatVector a51 = FloatVector.zero(S); FloatVector a52 = FloatVector.zero(S); FloatVector a53 = FloatVector.zero(S);
        for (int d = 0, t = 0; d < dim; d++, t += QP) {
            FloatVector q0 = FloatVector.fromArray(S, qt, t);
            FloatVector q1 = FloatVector.fromArray(S, qt, t + 1 * L);
            FloatVector q2 = FloatVector.fromArray(S, qt, t + 2 * L);
            FloatVector q3 = FloatVector.fromArray(S, qt, t + 3 * L);
            long od = (long) d * Float.BYTES;
            FloatVector x = FloatVector.broadcast(S, v.get(LE_FLOAT, o0 + od));
            FloatVector e = q0.sub(x);
            a00 = e.fma(e, a00);
            e = q1.sub(x);
            a01 = e.fma(e, a01);
            e = q2.sub(x);
            a02 = e.fma(e, a02);
            e = q3.sub(x);
            a03 = e.fma(e, a03);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o1 + od));
            e = q0.sub(x);
            a10 = e.fma(e, a10);
            e = q1.sub(x);
            a11 = e.fma(e, a11);
            e = q2.sub(x);
            a12 = e.fma(e, a12);
            e = q3.sub(x);
            a13 = e.fma(e, a13);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o2 + od));
            e = q0.sub(x);
            a20 = e.fma(e, a20);
            e = q1.sub(x);
            a21 = e.fma(e, a21);
            e = q2.sub(x);
            a22 = e.fma(e, a22);
            e = q3.sub(x);
            a23 = e.fma(e, a23);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o3 + od));
            e = q0.sub(x);
            a30 = e.fma(e, a30);
            e = q1.sub(x);
            a31 = e.fma(e, a31);
            e = q2.sub(x);
            a32 = e.fma(e, a32);
            e = q3.sub(x);
            a33 = e.fma(e, a33);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o4 + od));
            e = q0.sub(x);
            a40 = e.fma(e, a40);
            e = q1.sub(x);
            a41 = e.fma(e, a41);
            e = q2.sub(x);
            a42 = e.fma(e, a42);
            e = q3.sub(x);
            a43 = e.fma(e, a43);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o5 + od));
            e = q0.sub(x);
            a50 = e.fma(e, a50);
            e = q1.sub(x);
            a51 = e.fma(e, a51);
            e = q2.sub(x);
            a52 = e.fma(e, a52);
            e = q3.sub(x);
            a53 = e.fma(e, a53);
        }
        s.check(a00.neg(), qOff + 0 * L, base + local + 0);
        s.check(a01.neg(), qOff + 1 * L, base + local + 0);
        s.check(a02.neg(), qOff + 2 * L, base + local + 0);
        s.check(a03.neg(), qOff + 3 * L, base + local + 0);
        s.check(a10.neg(), qOff + 0 * L, base + local + 1);
        s.check(a11.neg(), qOff + 1 * L, base + local + 1);
        s.check(a12.neg(), qOff + 2 * L, base + local + 1);
        s.check(a13.neg(), qOff + 3 * L, base + local + 1);
        s.check(a20.neg(), qOff + 0 * L, base + local + 2);
        s.check(a21.neg(), qOff + 1 * L, base + local + 2);
        s.check(a22.neg(), qOff + 2 * L, base + local + 2);
        s.check(a23.neg(), qOff + 3 * L, base + local + 2);
        s.check(a30.neg(), qOff + 0 * L, base + local + 3);
        s.check(a31.neg(), qOff + 1 * L, base + local + 3);
        s.check(a32.neg(), qOff + 2 * L, base + local + 3);
        s.check(a33.neg(), qOff + 3 * L, base + local + 3);
        s.check(a40.neg(), qOff + 0 * L, base + local + 4);
        s.check(a41.neg(), qOff + 1 * L, base + local + 4);
        s.check(a42.neg(), qOff + 2 * L, base + local + 4);
        s.check(a43.neg(), qOff + 3 * L, base + local + 4);
        s.check(a50.neg(), qOff + 0 * L, base + local + 5);
        s.check(a51.neg(), qOff + 1 * L, base + local + 5);
        s.check(a52.neg(), qOff + 2 * L, base + local + 5);
        s.check(a53.neg(), qOff + 3 * L, base + local + 5);
    }

    private static void gemmL21(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qt, int qOff) {
        long rb = (long) dim * Float.BYTES;
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        for (int d = 0, t = 0; d < dim; d++, t += QP) {
            FloatVector q0 = FloatVector.fromArray(S, qt, t);
            FloatVector q1 = FloatVector.fromArray(S, qt, t + 1 * L);
            FloatVector q2 = FloatVector.fromArray(S, qt, t + 2 * L);
            FloatVector q3 = FloatVector.fromArray(S, qt, t + 3 * L);
            long od = (long) d * Float.BYTES;
            FloatVector x = FloatVector.broadcast(S, v.get(LE_FLOAT, o0 + od));
            FloatVector e = q0.sub(x);
            a00 = e.fma(e, a00);
            e = q1.sub(x);
            a01 = e.fma(e, a01);
            e = q2.sub(x);
            a02 = e.fma(e, a02);
            e = q3.sub(x);
            a03 = e.fma(e, a03);
        }
        s.check(a00.neg(), qOff + 0 * L, base + local + 0);
        s.check(a01.neg(), qOff + 1 * L, base + local + 0);
        s.check(a02.neg(), qOff + 2 * L, base + local + 0);
        s.check(a03.neg(), qOff + 3 * L, base + local + 0);
    }

    private static void narrowDot4(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qd, int qOff) {
        long rb = (long) dim * Float.BYTES;
        long o1 = o0 + rb;
        long o2 = o1 + rb;
        long o3 = o2 + rb;
        int dp = S.loopBound(dim + L - 1);
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S); FloatVector a11 = FloatVector.zero(S); FloatVector a12 = FloatVector.zero(S); FloatVector a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S); FloatVector a21 = FloatVector.zero(S); FloatVector a22 = FloatVector.zero(S); FloatVector a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S); FloatVector a31 = FloatVector.zero(S); FloatVector a32 = FloatVector.zero(S); FloatVector a33 = FloatVector.zero(S);
        int full = S.loopBound(dim);
        int c = 0;
        for (; c < full; c += L) {
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x1 = FloatVector.fromMemorySegment(S, v, o1 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x2 = FloatVector.fromMemorySegment(S, v, o2 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x3 = FloatVector.fromMemorySegment(S, v, o3 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            a00 = x0.fma(q0, a00);
            a01 = x0.fma(q1, a01);
            a02 = x0.fma(q2, a02);
            a03 = x0.fma(q3, a03);
            a10 = x1.fma(q0, a10);
            a11 = x1.fma(q1, a11);
            a12 = x1.fma(q2, a12);
            a13 = x1.fma(q3, a13);
            a20 = x2.fma(q0, a20);
            a21 = x2.fma(q1, a21);
            a22 = x2.fma(q2, a22);
            a23 = x2.fma(q3, a23);
            a30 = x3.fma(q0, a30);
            a31 = x3.fma(q1, a31);
            a32 = x3.fma(q2, a32);
            a33 = x3.fma(q3, a33);
        }
        if (c < dim) {
            VectorMask<Float> tail = S.indexInRange(c, dim);
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x1 = FloatVector.fromMemorySegment(S, v, o1 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x2 = FloatVector.fromMemorySegment(S, v, o2 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x3 = FloatVector.fromMemorySegment(S, v, o3 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            a00 = x0.fma(q0, a00);
            a01 = x0.fma(q1, a01);
            a02 = x0.fma(q2, a02);
            a03 = x0.fma(q3, a03);
            a10 = x1.fma(q0, a10);
            a11 = x1.fma(q1, a11);
            a12 = x1.fma(q2, a12);
            a13 = x1.fma(q3, a13);
            a20 = x2.fma(q0, a20);
            a21 = x2.fma(q1, a21);
            a22 = x2.fma(q2, a22);
            a23 = x2.fma(q3, a23);
            a30 = x3.fma(q0, a30);
            a31 = x3.fma(q1, a31);
            a32 = x3.fma(q2, a32);
            a33 = x3.fma(q3, a33);
        }
        float n = norm(norms, local + 0);
        s.check(sumLanes(a00) / n, qOff + 0, base + local + 0);
        s.check(sumLanes(a01) / n, qOff + 1, base + local + 0);
        s.check(sumLanes(a02) / n, qOff + 2, base + local + 0);
        s.check(sumLanes(a03) / n, qOff + 3, base + local + 0);
        n = norm(norms, local + 1);
        s.check(sumLanes(a10) / n, qOff + 0, base + local + 1);
        s.check(sumLanes(a11) / n, qOff + 1, base + local + 1);
        s.check(sumLanes(a12) / n, qOff + 2, base + local + 1);
        s.check(sumLanes(a13) / n, qOff + 3, base + local + 1);
        n = norm(norms, local + 2);
        s.check(sumLanes(a20) / n, qOff + 0, base + local + 2);
        s.check(sumLanes(a21) / n, qOff + 1, base + local + 2);
        s.check(sumLanes(a22) / n, qOff + 2, base + local + 2);
        s.check(sumLanes(a23) / n, qOff + 3, base + local + 2);
        n = norm(norms, local + 3);
        s.check(sumLanes(a30) / n, qOff + 0, base + local + 3);
        s.check(sumLanes(a31) / n, qOff + 1, base + local + 3);
        s.check(sumLanes(a32) / n, qOff + 2, base + local + 3);
        s.check(sumLanes(a33) / n, qOff + 3, base + local + 3);
    }

    private static void narrowDot1(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qd, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int dp = S.loopBound(dim + L - 1);
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        int full = S.loopBound(dim);
        int c = 0;
        for (; c < full; c += L) {
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            a00 = x0.fma(q0, a00);
            a01 = x0.fma(q1, a01);
            a02 = x0.fma(q2, a02);
            a03 = x0.fma(q3, a03);
        }
        if (c < dim) {
            VectorMask<Float> tail = S.indexInRange(c, dim);
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            a00 = x0.fma(q0, a00);
            a01 = x0.fma(q1, a01);
            a02 = x0.fma(q2, a02);
            a03 = x0.fma(q3, a03);
        }
        float n = norm(norms, local + 0);
        s.check(sumLanes(a00) / n, qOff + 0, base + local + 0);
        s.check(sumLanes(a01) / n, qOff + 1, base + local + 0);
        s.check(sumLanes(a02) / n, qOff + 2, base + local + 0);
        s.check(sumLanes(a03) / n, qOff + 3, base + local + 0);
    }

    private static void narrowL24(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qd, int qOff) {
        long rb = (long) dim * Float.BYTES;
        long o1 = o0 + rb;
        long o2 = o1 + rb;
        long o3 = o2 + rb;
        int dp = S.loopBound(dim + L - 1);
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S); FloatVector a11 = FloatVector.zero(S); FloatVector a12 = FloatVector.zero(S); FloatVector a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S); FloatVector a21 = FloatVector.zero(S); FloatVector a22 = FloatVector.zero(S); FloatVector a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S); FloatVector a31 = FloatVector.zero(S); FloatVector a32 = FloatVector.zero(S); FloatVector a33 = FloatVector.zero(S);
        int full = S.loopBound(dim);
        int c = 0;
        for (; c < full; c += L) {
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x1 = FloatVector.fromMemorySegment(S, v, o1 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x2 = FloatVector.fromMemorySegment(S, v, o2 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector x3 = FloatVector.fromMemorySegment(S, v, o3 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            FloatVector e = x0.sub(q0);
            a00 = e.fma(e, a00);
            e = x0.sub(q1);
            a01 = e.fma(e, a01);
            e = x0.sub(q2);
            a02 = e.fma(e, a02);
            e = x0.sub(q3);
            a03 = e.fma(e, a03);
            e = x1.sub(q0);
            a10 = e.fma(e, a10);
            e = x1.sub(q1);
            a11 = e.fma(e, a11);
            e = x1.sub(q2);
            a12 = e.fma(e, a12);
            e = x1.sub(q3);
            a13 = e.fma(e, a13);
            e = x2.sub(q0);
            a20 = e.fma(e, a20);
            e = x2.sub(q1);
            a21 = e.fma(e, a21);
            e = x2.sub(q2);
            a22 = e.fma(e, a22);
            e = x2.sub(q3);
            a23 = e.fma(e, a23);
            e = x3.sub(q0);
            a30 = e.fma(e, a30);
            e = x3.sub(q1);
            a31 = e.fma(e, a31);
            e = x3.sub(q2);
            a32 = e.fma(e, a32);
            e = x3.sub(q3);
            a33 = e.fma(e, a33);
        }
        if (c < dim) {
            VectorMask<Float> tail = S.indexInRange(c, dim);
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x1 = FloatVector.fromMemorySegment(S, v, o1 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x2 = FloatVector.fromMemorySegment(S, v, o2 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector x3 = FloatVector.fromMemorySegment(S, v, o3 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            FloatVector e = x0.sub(q0);
            a00 = e.fma(e, a00);
            e = x0.sub(q1);
            a01 = e.fma(e, a01);
            e = x0.sub(q2);
            a02 = e.fma(e, a02);
            e = x0.sub(q3);
            a03 = e.fma(e, a03);
            e = x1.sub(q0);
            a10 = e.fma(e, a10);
            e = x1.sub(q1);
            a11 = e.fma(e, a11);
            e = x1.sub(q2);
            a12 = e.fma(e, a12);
            e = x1.sub(q3);
            a13 = e.fma(e, a13);
            e = x2.sub(q0);
            a20 = e.fma(e, a20);
            e = x2.sub(q1);
            a21 = e.fma(e, a21);
            e = x2.sub(q2);
            a22 = e.fma(e, a22);
            e = x2.sub(q3);
            a23 = e.fma(e, a23);
            e = x3.sub(q0);
            a30 = e.fma(e, a30);
            e = x3.sub(q1);
            a31 = e.fma(e, a31);
            e = x3.sub(q2);
            a32 = e.fma(e, a32);
            e = x3.sub(q3);
            a33 = e.fma(e, a33);
        }
        s.check(-sumLanes(a00), qOff + 0, base + local + 0);
        s.check(-sumLanes(a01), qOff + 1, base + local + 0);
        s.check(-sumLanes(a02), qOff + 2, base + local + 0);
        s.check(-sumLanes(a03), qOff + 3, base + local + 0);
        s.check(-sumLanes(a10), qOff + 0, base + local + 1);
        s.check(-sumLanes(a11), qOff + 1, base + local + 1);
        s.check(-sumLanes(a12), qOff + 2, base + local + 1);
        s.check(-sumLanes(a13), qOff + 3, base + local + 1);
        s.check(-sumLanes(a20), qOff + 0, base + local + 2);
        s.check(-sumLanes(a21), qOff + 1, base + local + 2);
        s.check(-sumLanes(a22), qOff + 2, base + local + 2);
        s.check(-sumLanes(a23), qOff + 3, base + local + 2);
        s.check(-sumLanes(a30), qOff + 0, base + local + 3);
        s.check(-sumLanes(a31), qOff + 1, base + local + 3);
        s.check(-sumLanes(a32), qOff + 2, base + local + 3);
        s.check(-sumLanes(a33), qOff + 3, base + local + 3);
    }

    private static void narrowL21(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base, int dim, float[] qd, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int dp = S.loopBound(dim + L - 1);
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S); FloatVector a02 = FloatVector.zero(S); FloatVector a03 = FloatVector.zero(S);
        int full = S.loopBound(dim);
        int c = 0;
        for (; c < full; c += L) {
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            FloatVector e = x0.sub(q0);
            a00 = e.fma(e, a00);
            e = x0.sub(q1);
            a01 = e.fma(e, a01);
            e = x0.sub(q2);
            a02 = e.fma(e, a02);
            e = x0.sub(q3);
            a03 = e.fma(e, a03);
        }
        if (c < dim) {
            VectorMask<Float> tail = S.indexInRange(c, dim);
            long oc = (long) c * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(S, v, o0 + oc, ByteOrder.LITTLE_ENDIAN, tail);
            FloatVector q0 = FloatVector.fromArray(S, qd, 0 * dp + c);
            FloatVector q1 = FloatVector.fromArray(S, qd, 1 * dp + c);
            FloatVector q2 = FloatVector.fromArray(S, qd, 2 * dp + c);
            FloatVector q3 = FloatVector.fromArray(S, qd, 3 * dp + c);
            FloatVector e = x0.sub(q0);
            a00 = e.fma(e, a00);
            e = x0.sub(q1);
            a01 = e.fma(e, a01);
            e = x0.sub(q2);
            a02 = e.fma(e, a02);
            e = x0.sub(q3);
            a03 = e.fma(e, a03);
        }
        s.check(-sumLanes(a00), qOff + 0, base + local + 0);
        s.check(-sumLanes(a01), qOff + 1, base + local + 0);
        s.check(-sumLanes(a02), qOff + 2, base + local + 0);
        s.check(-sumLanes(a03), qOff + 3, base + local + 0);
    }
}
