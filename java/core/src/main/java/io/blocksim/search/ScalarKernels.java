package io.blocksim.search;

import io.blocksim.Metric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The CPU search's kernels without the Vector API, for JVMs started without
 * {@code jdk.incubator.vector} (see {@link Vectorization}). Same arguments, query layouts and
 * {@link Candidates} protocol as {@link CpuKernels}' entry points, and the same keys to the bit:
 * each kernel repeats its vector twin's arithmetic lane by lane, for vectors of {@code lanes}
 * floats, in the same order, with {@link Math#fma} where the vector code fuses (the Vector API's
 * lanewise operations are IEEE float operations, so equal inputs in equal order give equal bits).
 * Given the same lane count, a search therefore returns the same rows, order and scores on both
 * paths. Rows whose keys pass a query's threshold are offered to the heap one key at a time.
 *
 * <p>Hand-written rather than generated: plain loops over lanes and accumulators need no
 * unrolling, since nothing here depends on the JIT keeping vectors in registers. They run several
 * times slower than the vector kernels.
 *
 * <p>Thread safety: stateless; each call works on its own scratch arrays and the caller's
 * {@link Candidates} (one per worker).
 */
final class ScalarKernels {
    private static final ValueLayout.OfFloat LE_FLOAT = Norms.LE_FLOAT;
    private static final float EPS = (float) Metric.NORM_EPS;

    private ScalarKernels() {
    }

    /**
     * Scores rows {@code r0..r1-1} of one shard (global row {@code rowBase + r}) against one group of
     * queries prepared as CpuSearchBackend prepares it for the vector kernels, with this JVM's
     * {@link Vectorization#LANES}.
     *
     * @param gemm the group is transposed ({@code group}, {@code dim x QP}, squared norms after);
     *     otherwise it is a narrow group of {@code groupSize} (1, 4 or 8) interleaved queries, in
     *     {@code group} or else in {@code nativeGroup} (little-endian floats, the same layout)
     * @param norms the rows' norms (cosine); unused for L2
     */
    static void score(Candidates out, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            Metric metric, boolean gemm, float[] group, MemorySegment nativeGroup, int groupSize, int qOff) {
        boolean l2 = metric == Metric.L2;
        int lanes = Vectorization.LANES;
        if (gemm) {
            gemm(out, v, norms, r0, r1, rowBase, dim, group, qOff, l2, lanes);
        } else {
            float[] q = group != null ? group : nativeGroup.toArray(LE_FLOAT);
            narrow(out, v, norms, r0, r1, rowBase, dim, q, qOff, groupSize, l2, lanes);
        }
    }

    /**
     * The gemm kernels' keys: per query one fma chain over d in order (the vector tile keeps one
     * query per lane and adds {@code q[d] * x[d]} into it for d = 0, 1, ...), divided by the row's
     * norm (cosine); for L2 the exact rescoring's chain of {@code (q - x)^2}, negated. The vector L2
     * path computes that exact key only where a bound says the row could enter the top-k; here every
     * row gets it, which offers the heap the same keys for every row that could enter.
     *
     * @param qt {@code dim x (GEMM_VECTORS * lanes)} transposed queries, slot j being query qOff + j
     */
    static void gemm(Candidates out, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] qt, int qOff, boolean l2, int lanes) {
        int qp = Vectorization.GEMM_VECTORS * lanes;
        int real = Math.clamp(out.queries() - qOff, 0, qp);  // slots past the real queries are padding
        float[] qs = new float[real * dim];
        for (int j = 0; j < real; j++) {
            for (int d = 0; d < dim; d++) {
                qs[j * dim + d] = qt[d * qp + j];
            }
        }
        float[] x = new float[dim];
        long rb = (long) dim * Float.BYTES;
        for (int r = r0; r < r1; r++) {
            MemorySegment.copy(v, LE_FLOAT, r * rb, x, 0, dim);
            int row = rowBase + r;
            if (l2) {
                for (int j = 0; j < real; j++) {
                    float a = 0f;
                    for (int d = 0, at = j * dim; d < dim; d++, at++) {
                        float e = qs[at] - x[d];
                        a = Math.fma(e, e, a);
                    }
                    out.offerKey(qOff + j, -a, row);
                }
            } else {
                float n = Math.max(norms.get(LE_FLOAT, (long) r * Float.BYTES), EPS);
                for (int j = 0; j < real; j++) {
                    float a = 0f;
                    for (int d = 0, at = j * dim; d < dim; d++, at++) {
                        a = Math.fma(qs[at], x[d], a);
                    }
                    out.offerKey(qOff + j, a / n, row);
                }
            }
        }
    }

    /**
     * The narrow kernels' keys for a group of {@code nq} queries with
     * {@link Vectorization#narrowAccumulators} accumulators of {@code lanes} floats per query: whole
     * chunks of {@code lanes} values go round robin into the accumulators (those past the last
     * complete round, and the zero-padded partial chunk, into the first), each query's accumulators
     * are added pairwise, the queries' vectors folded by the same index tables and the result
     * swap-added until every lane of a query's part holds its sum, which is divided by the row's
     * norm (cosine) or negated (L2).
     *
     * @param q the group interleaved by chunk: value {@code c * lanes + i} of query j at
     *     {@code (c * nq + j) * lanes + i}, zero past dim
     */
    static void narrow(Candidates out, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff, int nq, boolean l2, int lanes) {
        int u = Vectorization.narrowAccumulators(nq);
        int full = dim - dim % lanes;
        int upper = full - full % (u * lanes);
        int per = lanes / nq;
        int[][] foldLo = new int[4][];
        int[][] foldHi = new int[4][];
        for (int level = 1; 1 << (level - 1) < nq; level++) {
            foldLo[level] = Vectorization.foldIndexes(lanes, level, false);
            foldHi[level] = Vectorization.foldIndexes(lanes, level, true);
        }
        float[] x = new float[(dim + lanes - 1) / lanes * lanes];  // past dim stays 0, like a masked load
        float[] acc = new float[nq * u * lanes];  // accumulator a of query j at (j * u + a) * lanes
        float[] t = new float[lanes];
        long rb = (long) dim * Float.BYTES;
        for (int r = r0; r < r1; r++) {
            MemorySegment.copy(v, LE_FLOAT, r * rb, x, 0, dim);
            Arrays.fill(acc, 0f);
            for (int c = 0; c < dim; c += lanes) {
                int a = c < upper ? c / lanes % u : 0;
                for (int j = 0; j < nq; j++) {
                    int ab = (j * u + a) * lanes;
                    int qb = c * nq + j * lanes;
                    if (l2) {
                        for (int i = 0; i < lanes; i++) {
                            float e = x[c + i] - q[qb + i];
                            acc[ab + i] = Math.fma(e, e, acc[ab + i]);
                        }
                    } else {
                        for (int i = 0; i < lanes; i++) {
                            acc[ab + i] = Math.fma(x[c + i], q[qb + i], acc[ab + i]);
                        }
                    }
                }
            }
            // each query's accumulators, pairwise: (a0 + a1) + (a2 + a3)
            for (int j = 0; j < nq; j++) {
                for (int step = 1; step < u; step *= 2) {
                    for (int k = 0; k + step < u; k += 2 * step) {
                        addInto(acc, (j * u + k) * lanes, (j * u + k + step) * lanes, lanes);
                    }
                }
            }
            // the fold: level n pairs query vectors j and j + 2^(n-1)
            for (int stride = 1, level = 1; stride < nq; stride *= 2, level++) {
                int[] lo = foldLo[level];
                int[] hi = foldHi[level];
                for (int j = 0; j + stride < nq; j += 2 * stride) {
                    int xb = j * u * lanes;
                    int yb = (j + stride) * u * lanes;
                    for (int i = 0; i < lanes; i++) {
                        float l = lo[i] < lanes ? acc[xb + lo[i]] : acc[yb + lo[i] - lanes];
                        float h = hi[i] < lanes ? acc[xb + hi[i]] : acc[yb + hi[i] - lanes];
                        t[i] = l + h;
                    }
                    System.arraycopy(t, 0, acc, xb, lanes);
                }
            }
            // swap-and-add within each query's part (lane i plus lane i ^ bit)
            for (int bit = 8; bit >= 1; bit /= 2) {
                if (per > bit) {
                    for (int i = 0; i < lanes; i++) {
                        t[i] = acc[i] + acc[i ^ bit];
                    }
                    System.arraycopy(t, 0, acc, 0, lanes);
                }
            }
            int row = rowBase + r;
            float n = l2 ? 0f : Math.max(norms.get(LE_FLOAT, (long) r * Float.BYTES), EPS);
            for (int j = 0; j < nq; j++) {
                float sum = acc[j * per];
                out.offerKey(qOff + j, l2 ? -sum : sum / n, row);
            }
        }
    }

    private static void addInto(float[] a, int to, int from, int n) {
        for (int i = 0; i < n; i++) {
            a[to + i] += a[from + i];
        }
    }
}
