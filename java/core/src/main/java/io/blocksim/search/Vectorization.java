package io.blocksim.search;

import java.lang.management.ManagementFactory;

import com.sun.management.HotSpotDiagnosticMXBean;

/**
 * Which CPU search code this process runs, decided once when the class initializes, and the shape
 * of the kernels (lanes, tile sizes, fold tables) that both kinds share.
 *
 * <p>The Vector API kernels ({@link CpuKernels}, {@link CpuKernelTiles}, {@link VectorNorms}) run
 * when the module {@code jdk.incubator.vector} is in the boot layer (the JVM was started with
 * {@code --add-modules jdk.incubator.vector}) and those classes initialize. Otherwise the search runs
 * {@link ScalarKernels} and {@link Norms} runs its scalar loop, and one line on stderr says so,
 * once per process. This class and everything the scalar path loads name no {@code jdk.incubator.vector}
 * type: the classes that do are touched only after {@link #VECTOR_API} is known to be true, so a
 * JVM without the module never resolves them (it would fail with a linkage error).
 *
 * <p>The scalar code repeats the vector code's arithmetic lane by lane, in the same order, at the
 * width the Vector API would pick on this JVM (read from the VM's {@code UseAVX}, {@code UseSVE} and
 * {@code MaxVectorSize} flags, as HotSpot derives the preferred species from them), so both give
 * bit-identical scores and norms. Where the flags cannot be read (no {@code jdk.management}, not
 * HotSpot) it assumes 256-bit vectors; on a machine where the Vector API would pick another width,
 * scores and norms then differ from the vector path's by the float rounding of another summation
 * order (of the order of 1e-6 for cosine), and rows whose scores differ by less may swap places.
 *
 * <p>Thread safety: immutable after class initialization.
 */
final class Vectorization {
    // The kernels' shape. Compile-time constants on purpose: CpuKernels reads them while this class
    // is still initializing (javac inlines them), and tools/codegen/gen_cpu_kernels.py reads them
    // from this file to unroll CpuKernelTiles.

    /** Rows per gemm tile. */
    static final int GEMM_ROWS = 6;
    /** Query vectors (of {@link #LANES} queries each) per gemm tile. */
    static final int GEMM_VECTORS = 4;
    /** Accumulators per query of the narrow kernel for groups of 1 query (split by chunk). */
    static final int NARROW1_ACCUMULATORS = 4;
    /** Accumulators per query of the narrow kernel for groups of 4 queries. */
    static final int NARROW4_ACCUMULATORS = 2;
    /** Accumulators per query of the narrow kernel for groups of 8 queries. */
    static final int NARROW8_ACCUMULATORS = 1;

    /** The module whose presence decides. */
    static final String MODULE = "jdk.incubator.vector";

    /** True when the Vector API kernels run; false when the scalar ones do. */
    static final boolean VECTOR_API;
    /** Float lanes of the kernels' vectors (8 or 16): the layout of the narrow query groups. */
    static final int LANES;
    /** Queries in one gemm group ({@code GEMM_VECTORS * LANES}). */
    static final int QP;
    /** Double lanes of {@link Norms}' accumulators (the preferred vector width / 64). */
    static final int NORM_LANES;
    /** The one line printed when the scalar code runs; null on the vector path. */
    static final String WARNING;

    static {
        boolean vector = false;
        int lanes = 0;
        int normLanes = 0;
        String why = null;
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            why = MODULE + " is not enabled; the CPU search runs scalar code (start the JVM with --add-modules "
                    + MODULE + " for full speed)";
        } else {
            try {
                // the first touch of a class that names Vector API types
                lanes = CpuKernels.L;
                normLanes = VectorNorms.DOUBLE_LANES;
                vector = true;
            } catch (LinkageError | RuntimeException e) {
                why = MODULE + " failed to initialize (" + e.toString().replace('\n', ' ')
                        + "); the CPU search runs scalar code";
            }
        }
        if (!vector) {
            int bits = preferredVectorBits();
            lanes = kernelLanes(bits);
            normLanes = Math.max(1, bits / Double.SIZE);
        }
        VECTOR_API = vector;
        LANES = lanes;
        QP = GEMM_VECTORS * lanes;
        NORM_LANES = normLanes;
        WARNING = vector ? null : "blocksim: " + why;
        if (WARNING != null) {
            System.err.println(WARNING);
        }
    }

    private Vectorization() {
    }

    /**
     * The kernels' float lanes for a preferred vector width in bits: CpuKernels uses the widest
     * species up to 512 bits and at least 256 (its fold needs 8 lanes).
     */
    static int kernelLanes(int preferredBits) {
        return Math.clamp(preferredBits, 256, 512) / Float.SIZE;
    }

    /**
     * The bit size of the Vector API's preferred shape on this JVM, from the VM flags it derives
     * from (HotSpot: the largest vector C2 supports for every element type, byte included), or 256
     * where they cannot be read.
     */
    static int preferredVectorBits() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            int maxBytes = Integer.parseInt(vm.getVMOption("MaxVectorSize").getValue());
            String avx = flag(vm, "UseAVX");
            String sve = flag(vm, "UseSVE");
            int capBytes;
            if (avx != null) {
                // x86: SSE and AVX1 give 16-byte byte vectors, AVX2 32, AVX-512 64
                int level = Integer.parseInt(avx);
                capBytes = level > 1 ? 8 << level : 16;
            } else if (sve != null && Integer.parseInt(sve) > 0) {
                capBytes = maxBytes;  // SVE: MaxVectorSize is the hardware vector length
            } else {
                capBytes = 16;  // NEON and the rest
            }
            // below 64 bits the Vector API still reports a 64-bit shape
            return Math.max(64, Math.min(capBytes, maxBytes) * Byte.SIZE);
        } catch (RuntimeException | LinkageError e) {
            return 256;
        }
    }

    private static String flag(HotSpotDiagnosticMXBean vm, String name) {
        try {
            return vm.getVMOption(name).getValue();
        } catch (IllegalArgumentException e) {
            return null;  // not a flag of this platform
        }
    }

    /** Accumulators per query of the narrow kernel for {@code groupSize} (1, 4 or 8) queries. */
    static int narrowAccumulators(int groupSize) {
        return switch (groupSize) {
            case 1 -> NARROW1_ACCUMULATORS;
            case 4 -> NARROW4_ACCUMULATORS;
            case 8 -> NARROW8_ACCUMULATORS;
            default -> throw new IllegalArgumentException("no narrow kernel for groups of " + groupSize);
        };
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
