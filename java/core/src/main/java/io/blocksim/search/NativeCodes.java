package io.blocksim.search;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The compressed scan's code dot products on the CPU's integer dot-product instructions (AVX-512
 * VNNI, {@code vpdpwssd}): {@code native/cpu/bs_cpu_codes.c}, shipped compiled in this jar
 * ({@code libblocksim_cpu.so}, Linux x86-64) and called through the FFM API. The Java Vector API
 * has no such instruction: at 8 queries its float kernels ({@link CodeKernels}) spend about 66 ns a
 * row on one core of the machine the README names, this about 19 (both counted from memory).
 *
 * <p>The queries are scaled by a power of two t and rounded to int16 ({@link #quantize}); the
 * kernel's int32 sums are exact, so the only new error is the query's rounding r = q - cq/t, which
 * {@link CodeBounds} adds as |c| |r| (Cauchy-Schwarz) to the bound's growth term. Used only when the
 * library loads, its ABI matches, the CPU and OS support AVX-512 VNNI, and native access is enabled
 * for this module ({@code --enable-native-access=ALL-UNNAMED}: without it the JVM would print a
 * warning, so blocksim keeps to Java); {@code -Dblocksim.cpu.native=false} or
 * {@code BLOCKSIM_CPU_NATIVE=0} turns it off. Otherwise {@link #available()} is false and
 * {@link #why()} says why, and the Java kernels run: the same answers.
 *
 * <p>Thread safety: the kernel is reentrant; the handles are immutable.
 */
final class NativeCodes {
    /** {@code BS_CPU_ABI} in the C source. */
    static final int ABI = 3;
    /** Largest dimension: the sums of squared codes stay exact in int32 (16129 x 65536 < 2^31). */
    static final int MAX_DIM = 1 << 16;
    private static final String RESOURCE = "native/linux-x86_64/libblocksim_cpu.so";

    private static final MethodHandle SCAN;
    private static final String WHY;

    static {
        MethodHandle scan = null;
        String why;
        try {
            why = unusable();
            if (why == null) {
                Linker linker = Linker.nativeLinker();
                SymbolLookup lib = load();
                MethodHandle abi = linker.downcallHandle(lib.findOrThrow("bs_cpu_abi"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                MethodHandle usable = linker.downcallHandle(lib.findOrThrow("bs_cpu_usable"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                int got = (int) abi.invokeExact();
                if (got != ABI) {
                    why = "libblocksim_cpu.so has ABI " + got + ", this code needs " + ABI;
                } else if ((int) usable.invokeExact() != 1) {
                    why = "the CPU (or the OS) lacks AVX-512 VNNI (or BMI2)";
                } else {
                    // critical: a short call that may be handed heap arrays (the per-worker output)
                    scan = linker.downcallHandle(lib.findOrThrow("bs_codes_scan"),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                                    ValueLayout.ADDRESS, ValueLayout.ADDRESS),
                            Linker.Option.critical(true));
                }
            }
        } catch (Throwable t) {
            why = "libblocksim_cpu.so did not load: " + t;
            scan = null;
        }
        SCAN = scan;
        WHY = scan == null ? why : null;
    }

    private NativeCodes() {
    }

    /** Whether the native kernel runs on this machine and JVM. */
    static boolean available() {
        return SCAN != null;
    }

    /** Why {@link #available()} is false (one line), or null when it is true. */
    static String why() {
        return WHY;
    }

    private static String unusable() {
        if (off(System.getProperty("blocksim.cpu.native")) || off(System.getenv("BLOCKSIM_CPU_NATIVE"))) {
            return "turned off by blocksim.cpu.native or BLOCKSIM_CPU_NATIVE";
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "no native kernel for " + os + " " + arch;
        }
        if (!NativeCodes.class.getModule().isNativeAccessEnabled()) {
            return "native access is not enabled for blocksim's module (--enable-native-access=ALL-UNNAMED on the"
                    + " class path)";
        }
        if (NativeCodes.class.getResource(RESOURCE) == null) {
            return RESOURCE + " is not on the class path";
        }
        return null;
    }

    /** 0, false, no or off (any case): the setting turns the native kernel off. */
    private static boolean off(String v) {
        return v != null && java.util.Set.of("0", "false", "no", "off").contains(v.trim().toLowerCase(Locale.ROOT));
    }

    /**
     * Copies the library out of the jar, opens it and deletes the copy (the mapping stays): in the
     * temporary directory, or where that cannot hold code (mounted noexec) in {@code
     * ~/.cache/blocksim}; {@code -Dblocksim.cpu.native.dir=DIR} names the directory to use.
     */
    private static SymbolLookup load() throws IOException {
        String chosen = System.getProperty("blocksim.cpu.native.dir");
        java.util.List<Path> dirs = chosen != null ? java.util.List.of(Path.of(chosen))
                : java.util.List.of(Path.of(System.getProperty("java.io.tmpdir")),
                        Path.of(System.getProperty("user.home"), ".cache", "blocksim"));
        IOException first = null;
        RuntimeException refused = null;
        for (Path dir : dirs) {
            try {
                Files.createDirectories(dir);
                Path tmp = Files.createTempFile(dir, "blocksim-cpu-", ".so");
                try {
                    try (InputStream in = NativeCodes.class.getResourceAsStream(RESOURCE)) {
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    }
                    return SymbolLookup.libraryLookup(tmp, Arena.global());
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                first = first == null ? e : first;
            } catch (IllegalArgumentException e) {  // dlopen refused the file (a noexec mount)
                refused = refused == null ? e : refused;
            }
        }
        if (refused != null) {
            throw refused;
        }
        throw first;
    }

    /** {@link #scan}'s per-group parameters: where in its double array each value sits. */
    static final int PARAM_G = 0;
    static final int PARAM_TINY = 1;
    static final int PARAM_INV = 2;
    static final int PARAM_QQ = 10;
    static final int PARAM_QN = 18;
    static final int PARAMS = 26;

    /**
     * One group of 1 to 8 queries as the kernel reads them: int16 [nq, stride] (stride = dim
     * rounded up to 32, zeros past dim; 64-byte aligned so no load crosses a cache line), with per
     * query the inverse scale {@code inv[j] = 1/t} (a power of two: {@code sum * inv} is exact in
     * double) and {@code err[j] >= |q_j - cq_j / t|}, rounded up.
     */
    record Quantized(MemorySegment q, int dim, int nq, double[] inv, double[] err) {
    }

    /**
     * Rounds {@code q} (each {@code dim} long, finite) to int16 at the largest power-of-two scale t
     * that keeps |cq| within both 32767 and (2^31 - 1) / (128 stride): every partial sum of the
     * kernel then fits in int32, whatever int8 codes it meets. A zero query gets t = 1 and no error.
     *
     * @throws IllegalArgumentException for a value that is not finite (callers validate queries first)
     */
    static Quantized quantize(float[][] q, int dim, Arena arena) {
        int stride = stride(dim);
        int nq = q.length;
        MemorySegment out = arena.allocate((long) nq * stride * Short.BYTES, 64);
        // 128: a code file written elsewhere may hold -128 (RowCodes writes -127 to 127)
        double limit = Math.min(Short.MAX_VALUE, Math.floor((double) Integer.MAX_VALUE / (128.0 * stride)));
        double[] inv = new double[nq];
        double[] err = new double[nq];
        for (int j = 0; j < nq; j++) {
            double max = 0;
            for (int d = 0; d < dim; d++) {
                if (!Float.isFinite(q[j][d])) {
                    throw new IllegalArgumentException("query " + j + " has a value that is not finite at " + d);
                }
                max = Math.max(max, Math.abs(q[j][d]));
            }
            double t = 1;
            if (max > 0) {
                t = Math.scalb(1.0, Math.getExponent(limit / max));
                while (max * t > limit) {
                    t *= 0.5;
                }
            }
            double sum = 0;
            for (int d = 0; d < dim; d++) {
                double c = Math.rint(q[j][d] * t);  // q t is exact (a power of two), |c| <= limit
                out.set(ValueLayout.JAVA_SHORT, ((long) j * stride + d) * Short.BYTES, (short) c);
                double r = q[j][d] - c / t;  // exact in double: both are multiples of q's last bit or of 1/t
                sum += r * r;
            }
            inv[j] = 1 / t;
            // the double sum of squares rounds at most (dim + 1) 2^-53 relative, the root 2^-53
            err[j] = Math.sqrt(sum) * (1 + 0x1p-30);
        }
        return new Quantized(out, dim, nq, inv, err);
    }

    /** The most rows per call: a critical call holds off safepoints (GC) while it runs. */
    static int maxRows(int dim) {
        return Math.max(1, Math.min(1 << 23, (1 << 20) / Math.max(1, dim)));  // 1 MiB of codes; hits hold r << 8
    }

    private static void check(int rows, int dim, Quantized q, int[] out, int[] squares) {
        if (dim != q.dim() || dim > MAX_DIM || rows > maxRows(dim) || q.nq() < 1 || q.nq() > 8) {
            throw new IllegalArgumentException("bad call: dim " + dim + " (queries " + q.dim() + "), rows " + rows
                    + ", queries " + q.nq());
        }
        java.util.Objects.checkFromIndexSize(0, rows * q.nq(), out.length);
        if (squares != null) {
            java.util.Objects.checkFromIndexSize(0, rows, squares.length);
        }
    }

    /** The kernel's row stride of the queries: {@code dim} rounded up to 32. */
    static int stride(int dim) {
        return (dim + 31) / 32 * 32;
    }

    /**
     * The exact integer dot products of rows {@code [r0, r0 + rows)} of {@code codes} (int8
     * [*, dim]) with the group's queries into {@code out[j rows + i]} (query-major), and (when
     * {@code squares} is not null) each row's sum of squared codes into {@code squares[i]}; then
     * each row's quick rejection against the bars:
     * {@link CodeBounds#cosineCannotReach} (with {@link CodeBounds#cosineRowSlack}) when {@code norms}
     * is not null, else {@link CodeBounds#l2CannotReach} (then {@code squares} is needed), the same
     * double arithmetic in C. Writes to {@code hits} each row that some query may still reach, as
     * (local row << 8) | the mask of those queries, and returns their count.
     *
     * @param scales the shard's scales file (float [rows, 2]); {@code norms} its norms (float [rows])
     * @param param {@link #PARAMS} doubles: G, tiny, then per query 1/t, |q|^2 and |q| (L2)
     * @param bar the group's bars now (a row rejected against a bar stays rejected as bars rise)
     */
    static int scan(MemorySegment codes, MemorySegment scales, MemorySegment norms, long r0, int rows, int dim,
            Quantized q, double[] param, float[] bar, int barOff, int[] out, int[] squares, int[] hits) {
        if (rows <= 0) {
            return 0;
        }
        check(rows, dim, q, out, squares);
        // the kernel writes these heap arrays in a critical call: nothing may be short
        java.util.Objects.checkFromIndexSize(0, rows, hits.length);
        java.util.Objects.checkFromIndexSize(barOff, q.nq(), bar.length);
        java.util.Objects.checkFromIndexSize(0, PARAMS, param.length);
        if (norms == null && squares == null) {
            throw new IllegalArgumentException("L2 needs the squares array");
        }
        MemorySegment from = codes.asSlice(r0 * dim, (long) rows * dim);
        MemorySegment sc = scales.asSlice(r0 * 8, (long) rows * 8);
        MemorySegment nm = norms == null ? MemorySegment.NULL : norms.asSlice(r0 * 4, (long) rows * 4);
        MemorySegment sq = squares == null ? MemorySegment.NULL : MemorySegment.ofArray(squares);
        MemorySegment bars = MemorySegment.ofArray(bar).asSlice((long) barOff * Float.BYTES);
        try {
            return (int) SCAN.invokeExact(from, (long) rows, dim, q.q(), q.nq(), sc, nm, MemorySegment.ofArray(param),
                    bars, MemorySegment.ofArray(out), sq, MemorySegment.ofArray(hits));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("bs_codes_scan threw a checked exception", t);
        }
    }
}
