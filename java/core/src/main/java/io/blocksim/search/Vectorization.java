package io.blocksim.search;

/**
 * The shape of the CPU search's kernels: tile sizes and fold tables. Free of Vector API types.
 */
final class Vectorization {
    // Compile-time constants on purpose: javac inlines them into CpuKernels, and
    // tools/codegen/gen_cpu_kernels.py reads them from this file to unroll CpuKernelTiles.

    /** Rows per gemm tile. */
    static final int GEMM_ROWS = 6;
    /** Query vectors (of one float vector's lanes each) per gemm tile. */
    static final int GEMM_VECTORS = 4;
    /** Accumulators per query of the narrow kernel for groups of 1 query (split by chunk). */
    static final int NARROW1_ACCUMULATORS = 4;
    /** Accumulators per query of the narrow kernel for groups of 4 queries. */
    static final int NARROW4_ACCUMULATORS = 2;
    /** Accumulators per query of the narrow kernel for groups of 8 queries. */
    static final int NARROW8_ACCUMULATORS = 1;

    private Vectorization() {
    }

    /**
     * Lane indexes of the narrow kernels' fold for {@code selectFrom(u, w)} over two vectors of
     * {@code lanes} lanes (lanes of u are 0..lanes-1, lanes of w are lanes..2*lanes-1): level n
     * pairs vectors that each hold 2^(n-1) parts and yields vectors of 2^n parts (lanes / 2^n lanes
     * each); {@code high} picks the upper half of every input part, the low table the lower half.
     */
    static int[] foldIndexes(int lanes, int level, boolean high) {
        int[] idx = new int[lanes];
        int inParts = 1 << (level - 1);
        int part = lanes >> level;  // output part size
        for (int i = 0; i < lanes; i++) {
            int p = i / part;
            int o = i % part;
            int src = (p / inParts) * lanes + (p % inParts) * 2 * part;
            idx[i] = Math.min(2 * lanes - 1, src + (high ? part : 0) + o);
        }
        return idx;
    }
}
