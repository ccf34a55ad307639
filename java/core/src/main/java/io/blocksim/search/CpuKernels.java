package io.blocksim.search;

import io.blocksim.Metric;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU search's inner loops: score a range of rows of one shard against one group of queries and
 * hand every score that could enter a query's top-k to {@link Candidates}. Keys are "larger is
 * better": cosine similarity, or the negated squared L2 distance.
 *
 * <p>Two shapes, chosen by the number of queries:
 * <ul>
 * <li>"narrow" (up to 16 queries; memory-bound): one row at a time, vectorized along the dimension
 * like a dot-product routine. Each chunk of the row is loaded once and multiplied into every query
 * of the group (1, 4 or 8 queries; 4, 2 or 1 accumulators per query, split by chunk, so there are
 * always 8 independent FMA chains; 2 queries run as a padded group of 4). Rows are read one at a
 * time, in order. On the development machine (Zen 5, 2 cores, 4 KiB pages) a 4-query kernel that
 * scored two rows half a range apart (two streams per core) ran at the floor while the memory was
 * busy but 1.34x when it was quiet (one row at a time: 1.26x), and two neighbouring rows side by
 * side measured 1.5x to 2x slower: the hardware prefetcher follows one ascending stream, and a
 * core keeps only as many row loads in flight as its load queue holds among the query loads. So
 * with the memory quiet the 8-query kernel (8 query loads per row load) runs about 1.35x the floor
 * where the same loop with its queries in registers runs 1.1x; query loads can only be shared by
 * reading rows side by side, which costs more (session 5, README "Measured"). The 8-query kernel
 * reads its queries from a native segment, at offsets computed in long from the loop index (an int
 * product widened afterwards kept a bounds check on every query load), and the shards are native
 * segments too ({@link Segments#plain}); the 1-query kernel is faster from an array. A row's
 * accumulators are folded into one vector by a fixed tree of two-vector shuffles and adds (never
 * reduceLanes) whose indexes are ints applied to the floats' bits: float index vectors are
 * converted and range-checked on every use, which had made the 8-query fold cost as much as the
 * row's FMAs.
 * <li>"gemm" (more queries; compute-bound): vectorized across queries, like a GEMM micro-kernel.
 * The group's queries are transposed ({@code qt[d * QP + j]}); each row value is broadcast and
 * multiplied into {@link #GEMM_VECTORS} (4) query vectors, for a tile of {@link #GEMM_ROWS} (6) rows:
 * 24 accumulators and no cross-lane
 * work at all. The tile's sums go through a small scratch array to a loop that does the selection,
 * which keeps the tile method small enough for both JIT compilers. L2 runs the same dot-product
 * tile and rescores exactly only the rows whose bound from |q|^2 + |x|^2 - 2 q.x could enter the
 * top-k: a tile of (q - x)^2 terms needs twice the vector operations, and its larger method
 * sometimes lost the JIT's store intrinsic (a 2x slower compile, one run in three).
 * </ul>
 * Each row's exact score is computed by the same operations in the same order wherever the row falls
 * (tile or tail, any thread, interpreted or compiled: the Vector API's lanewise ops are exact IEEE
 * and Math.fma, and no reduceLanes is used), so identical rows get identical scores and ties go to
 * the lower row id.
 *
 * <p>This class holds the kernels' constants, the selection loops and the entry points
 * ({@code gemmDot}, {@code narrowDot1}, ...: a range of rows, cut into tiles or rows); the unrolled
 * tiles themselves are generated into {@link CpuKernelTiles} by
 * {@code tools/codegen/gen_cpu_kernels.py} from the shape in {@link Vectorization}. This class
 * names Vector API types: only code that runs once {@link Vectorization#VECTOR_API} is true may
 * touch it ({@link ScalarKernels} stands in for it otherwise).
 */
final class CpuKernels {
    /** The widest float species up to 512 bits, at least 256 (the fold needs 8 lanes). */
    static final VectorSpecies<Float> S = pickSpecies();
    /** Set before the fold tables below, which {@link Vectorization} may read while this class initializes. */
    static final int L = S.length();
    /** The int species of the same shape: the fold moves float bits with int index vectors. */
    private static final VectorSpecies<Integer> I = S.withLanes(int.class);
    /** Rows per gemm tile and query vectors per gemm tile (compile-time constants, as the tiles are unrolled). */
    static final int GEMM_ROWS = Vectorization.GEMM_ROWS;
    static final int GEMM_VECTORS = Vectorization.GEMM_VECTORS;
    /** Queries in one gemm group: the transposed block is {@code dim x QP}. */
    static final int QP = GEMM_VECTORS * L;
    static final float EPS = (float) Metric.NORM_EPS;
    static final ValueLayout.OfFloat LE_FLOAT = Norms.LE_FLOAT;

    // The narrow kernels' fold: level n pairs vectors that each hold 2^(n-1) parts and yields
    // vectors of 2^n parts (L / 2^n lanes each), adding the two halves of every input part (int
    // indexes applied to the floats' bits; see the class comment).
    static final IntVector FOLD1_LO = foldIndexes(1, false);
    static final IntVector FOLD1_HI = foldIndexes(1, true);
    static final IntVector FOLD2_LO = foldIndexes(2, false);
    static final IntVector FOLD2_HI = foldIndexes(2, true);
    static final IntVector FOLD3_LO = foldIndexes(3, false);
    static final IntVector FOLD3_HI = foldIndexes(3, true);
    static final VectorShuffle<Float> SWAP1 = swap(1);
    static final VectorShuffle<Float> SWAP2 = swap(2);
    static final VectorShuffle<Float> SWAP4 = swap(4);
    static final VectorShuffle<Float> SWAP8 = swap(8);

    private CpuKernels() {
    }

    private static VectorSpecies<Float> pickSpecies() {
        VectorSpecies<Float> p = FloatVector.SPECIES_PREFERRED;
        if (p.vectorBitSize() > 512) {
            return FloatVector.SPECIES_512;
        }
        return p.vectorBitSize() < 256 ? FloatVector.SPECIES_256 : p;
    }

    private static VectorShuffle<Float> swap(int bit) {
        return VectorShuffle.fromOp(S, i -> bit < L ? i ^ bit : i);
    }

    /** Index vectors for {@code selectFrom(u, w)} ({@link Vectorization#foldIndexes}). */
    private static IntVector foldIndexes(int level, boolean high) {
        return IntVector.fromArray(I, Vectorization.foldIndexes(L, level, high), 0);
    }

    /** Selection after a gemm tile: {@code s.scratch} holds {@code rows x GEMM_VECTORS} vectors of sums. */
    static void selectCosine(Candidates s, MemorySegment norms, int local, int base, int rows, int qOff) {
        float[] acc = s.scratch;
        float[] thr = s.threshold;
        for (int r = 0; r < rows; r++) {
            float n = Math.max(norms.get(LE_FLOAT, (long) (local + r) * Float.BYTES), EPS);
            for (int v = 0; v < GEMM_VECTORS; v++) {
                FloatVector k = FloatVector.fromArray(S, acc, (r * GEMM_VECTORS + v) * L).div(n);
                if (!k.compare(VectorOperators.LT, FloatVector.fromArray(S, thr, qOff + v * L)).allTrue()) {
                    s.offerLanes(k.toArray(), qOff + v * L, base + local + r);
                }
            }
        }
    }

    /**
     * Selection after an L2 gemm tile, whose sums are dot products q.x. The key -|q-x|^2 is first
     * bounded from above by 2 q.x - |q|^2 - |x|^2 plus a rounding slack (relative to |q|^2 + |x|^2,
     * which covers the float error of the dot product, the stored norm and this sum; the absolute
     * term covers subnormals); a query only gets an exact key where that bound can reach its
     * threshold, which after the first rows is rare. The group's squared query norms follow its
     * transposed queries in {@code qt}.
     */
    static void selectL2(Candidates s, MemorySegment v, MemorySegment norms, long o0, int local, int base,
            int rows, int dim, float[] qt, int qOff) {
        float[] acc = s.scratch;
        float[] thr = s.threshold;
        int qn = dim * QP;
        float slack = (3 * dim + 16) * 0x1p-24f;
        float tiny = 4 * dim * Float.MIN_NORMAL;
        long rb = (long) dim * Float.BYTES;
        for (int r = 0; r < rows; r++) {
            float n = norms.get(LE_FLOAT, (long) (local + r) * Float.BYTES);
            float nx = n * n;
            for (int g = 0; g < GEMM_VECTORS; g++) {
                FloatVector sum = FloatVector.fromArray(S, qt, qn + g * L).add(nx);
                FloatVector upper = FloatVector.fromArray(S, acc, (r * GEMM_VECTORS + g) * L).mul(2f).sub(sum)
                        .add(sum.mul(slack).add(tiny));
                if (!upper.compare(VectorOperators.LT, FloatVector.fromArray(S, thr, qOff + g * L)).allTrue()) {
                    rescoreL2(s, upper.toArray(), v, o0 + r * rb, dim, qt, g * L, qOff + g * L, base + local + r);
                }
            }
        }
    }

    /**
     * The exact key of each lane whose bound passed: the squared distance summed over d by one fma
     * chain, as a dedicated L2 kernel would (so identical rows still get identical keys).
     */
    private static void rescoreL2(Candidates s, float[] upper, MemorySegment v, long o, int dim, float[] qt, int lane0,
            int qOff, int row) {
        float[] thr = s.threshold;
        for (int i = 0; i < upper.length; i++) {
            if (upper[i] < thr[qOff + i]) {
                continue;
            }
            float a = 0f;
            for (int d = 0; d < dim; d++) {
                float e = qt[d * QP + lane0 + i] - v.get(LE_FLOAT, o + (long) d * Float.BYTES);
                a = Math.fma(e, e, a);
            }
            s.offerKey(qOff + i, -a, row);
        }
    }

    // The entry points: rows r0..r1-1 of one shard (global row = rowBase + local row) against one
    // group of queries. The narrow ones take the tile without leftover chunks when dim allows it.
    static void gemmDot(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + GEMM_ROWS <= r1; r += GEMM_ROWS) {
            CpuKernelTiles.gemmDotTile(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            CpuKernelTiles.gemmDotRow(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    static void gemmL2(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        int r = r0;
        for (; r + GEMM_ROWS <= r1; r += GEMM_ROWS) {
            CpuKernelTiles.gemmL2Tile(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
        for (; r < r1; r++) {
            CpuKernelTiles.gemmL2Row(s, v, norms, r * rb, r, rowBase, dim, q, qOff);
        }
    }

    static void narrowDot1(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW1_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot1Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot1(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }

    static void narrowL21(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW1_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL21Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL21(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }

    static void narrowDot4(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW4_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot4Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot4(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }

    static void narrowL24(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            float[] q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW4_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL24Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL24(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }

    static void narrowDot8(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            MemorySegment q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW8_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot8Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowDot8(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }

    static void narrowL28(Candidates s, MemorySegment v, MemorySegment norms, int r0, int r1, int rowBase, int dim,
            MemorySegment q, int qOff) {
        long rb = (long) dim * Float.BYTES;
        if (dim % (Vectorization.NARROW8_ACCUMULATORS * L) == 0) {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL28Exact(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                CpuKernelTiles.rowL28(s, v, norms, r * rb, r, rowBase + r, dim, q, qOff);
            }
        }
    }
}
