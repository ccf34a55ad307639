package io.blocksim.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * cuBLAS bound through FFM downcalls, so that the SGEMM path runs on CUDA 13 machines (whose
 * cuBLAS is {@code libcublas.so.13}, which JCublas 12 cannot link) as well as CUDA 12 ones.
 *
 * <p>The library is looked up in {@link #candidates() this order}: {@code -Dblocksim.cuda.cublasLibrary}
 * alone when set; else for {@code libcublas.so.13}, then {@code .so.12}: by name on the loader path
 * ({@code LD_LIBRARY_PATH}, the ld.so cache), {@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64},
 * {@code /usr/local/cuda/lib64}, {@code /usr/local/cuda/targets/x86_64-linux/lib}, then the
 * {@code nvidia/cublas/lib}, {@code nvidia/cu13/lib} (or {@code cu12}) and {@code torch/lib}
 * folders of the Python environments on {@code PYTHONPATH}, {@code VIRTUAL_ENV},
 * {@code CONDA_PREFIX}, {@code ~/.local}, {@code /usr/local}, {@code /usr} and {@code /opt/*}.
 * The first candidate that loads, has the symbols and creates a handle wins.
 */
final class FfmCublas implements Cublas {
    /** A path to the cuBLAS library to use instead of the lookup. */
    static final String LIBRARY_PROPERTY = "blocksim.cuda.cublasLibrary";

    private static final Linker LINKER = Linker.nativeLinker();
    private static final int OP_N = 0;
    private static final int OP_T = 1;
    private static final int DEFAULT_MATH = 0;

    /** One place to try: a file, or (path == null) a name for the dynamic loader. */
    record Candidate(String library, Path path) {
        String where() {
            return path == null ? library + " on the loader path" : path.toString();
        }
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment one;
    private final MemorySegment zero;
    private final MethodHandle sgemm;
    private final MethodHandle destroy;
    private final String description;
    private boolean closed;

    private FfmCublas(MemorySegment handle, MethodHandle sgemm, MethodHandle destroy, String description) {
        this.handle = handle;
        this.sgemm = sgemm;
        this.destroy = destroy;
        this.description = description;
        this.one = arena.allocateFrom(JAVA_FLOAT, 1.0f);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0.0f);
    }

    /** The lookup order for this process (system property, environment, file system). */
    static List<Candidate> candidates() {
        String explicit = System.getProperty(LIBRARY_PROPERTY);
        return candidates(explicit, System.getenv(), pythonPrefixes(System.getenv(), Path.of(System.getProperty("user.home", "/"))));
    }

    /**
     * The lookup order: {@code explicit} alone when set; else for each of {@code libcublas.so.13} and
     * {@code .so.12}, the loader path, the CUDA folders ({@code CUDA_HOME}, {@code CUDA_PATH},
     * {@code /usr/local/cuda}), then the Python folders under {@code prefixes}. Existing files only,
     * except the loader-path names.
     */
    static List<Candidate> candidates(String explicit, Map<String, String> env, List<Path> prefixes) {
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit.strip());
            return List.of(new Candidate(p.getFileName() == null ? p.toString() : p.getFileName().toString(), p));
        }
        List<Candidate> out = new ArrayList<>();
        for (String major : List.of("13", "12")) {
            String lib = "libcublas.so." + major;
            out.add(new Candidate(lib, null));
            Set<Path> dirs = new LinkedHashSet<>();
            for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
                String v = env.get(var);
                if (v != null && !v.isBlank()) {
                    dirs.add(Path.of(v.strip(), "lib64"));
                }
            }
            dirs.add(Path.of("/usr/local/cuda/lib64"));
            dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
            for (Path site : sitePackages(env, prefixes)) {
                dirs.add(site.resolve("nvidia/cublas/lib"));
                dirs.add(site.resolve("nvidia/cu" + major + "/lib"));
                dirs.add(site.resolve("torch/lib"));
            }
            for (Path d : dirs) {
                Path f = d.resolve(lib);
                if (Files.isRegularFile(f)) {
                    out.add(new Candidate(lib, f));
                }
            }
        }
        return out;
    }

    /** Where Python environments may live: the environment's, the user's, the system's, each /opt/*. */
    static List<Path> pythonPrefixes(Map<String, String> env, Path home) {
        List<Path> out = new ArrayList<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) {
                out.add(Path.of(v.strip()));
            }
        }
        out.add(home.resolve(".local"));
        out.add(Path.of("/usr/local"));
        out.add(Path.of("/usr"));
        for (Path opt : list(Path.of("/opt"))) {
            out.add(opt);
            out.add(opt.resolve(".venv"));
        }
        return out;
    }

    /** PYTHONPATH's entries, then each prefix's {@code lib/python3*}{@code /site-packages} and {@code dist-packages}. */
    static List<Path> sitePackages(Map<String, String> env, List<Path> prefixes) {
        List<Path> out = new ArrayList<>();
        String pp = env.get("PYTHONPATH");
        if (pp != null) {
            for (String s : pp.split(":")) {
                if (!s.isBlank()) {
                    out.add(Path.of(s.strip()));
                }
            }
        }
        for (Path prefix : prefixes) {
            for (Path py : list(prefix.resolve("lib"))) {
                if (py.getFileName().toString().startsWith("python3")) {
                    out.add(py.resolve("site-packages"));
                    out.add(py.resolve("dist-packages"));
                }
            }
        }
        return out;
    }

    private static List<Path> list(Path dir) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (Files.isDirectory(p)) {
                    out.add(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // an unreadable folder holds no candidates
        }
        out.sort(null);
        return out;
    }

    /**
     * Opens the first candidate that loads, exports the five calls and creates a handle on
     * {@code stream} (a {@code CUstream}; 0 is the legacy default stream). Throws
     * {@link Cublas.CublasUnavailableException} listing every candidate and why it failed.
     */
    static FfmCublas open(long stream, List<Candidate> candidates) {
        List<String> tried = new ArrayList<>();
        RuntimeException first = null;
        for (Candidate c : candidates) {
            try {
                return openOne(c, stream);
            } catch (RuntimeException e) {
                tried.add(c.where() + ": " + CudaErrors.oneLine(e));
                first = first == null ? e : first;
            }
        }
        String msg = "cuBLAS via FFM: " + (tried.isEmpty() ? "no libcublas.so.13 or libcublas.so.12 found" : String.join("; ", tried))
                + " (put the folder of libcublas.so.13 on LD_LIBRARY_PATH, or set -D" + LIBRARY_PROPERTY + "=/path/to/libcublas.so.13)";
        throw new Cublas.CublasUnavailableException(msg, first);
    }

    private static FfmCublas openOne(Candidate c, long stream) {
        SymbolLookup lib;
        if (c.path() == null) {
            lib = SymbolLookup.libraryLookup(c.library(), Arena.global());
        } else {
            // the wheel's libcublas needs libcublasLt from its own folder: load it first so the loader finds it by soname
            Path lt = c.path().resolveSibling(c.library().replace("libcublas.", "libcublasLt."));
            if (Files.isRegularFile(lt)) {
                SymbolLookup.libraryLookup(lt, Arena.global());
            }
            lib = SymbolLookup.libraryLookup(c.path(), Arena.global());
        }
        MethodHandle create = bind(lib, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle destroy = bind(lib, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = bind(lib, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle setMath = bind(lib, "cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        MethodHandle getVersion = bind(lib, "cublasGetVersion_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle sgemm = bind(lib, "cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        MemorySegment h;
        int version;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cublasCreate_v2", (int) create.invokeExact(out));
            h = out.get(ADDRESS, 0);
            try {
                check("cublasSetMathMode", (int) setMath.invokeExact(h, DEFAULT_MATH));
                check("cublasSetStream_v2", (int) setStream.invokeExact(h, MemorySegment.ofAddress(stream)));
                MemorySegment v = a.allocate(JAVA_INT);
                check("cublasGetVersion_v2", (int) getVersion.invokeExact(h, v));
                version = v.get(JAVA_INT, 0);
            } catch (Throwable t) {
                int ignored = (int) destroy.invokeExact(h);  // a half-made handle is freed before the next candidate
                throw t;
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        String desc = String.format(Locale.ROOT, "cuBLAS %d.%d.%d through FFM (%s)", version / 10000, version / 100 % 100, version % 100, c.where());
        return new FfmCublas(h, sgemm, destroy, desc);
    }

    private static MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor fd) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new IllegalStateException("not cuBLAS: no symbol " + name));
        return LINKER.downcallHandle(sym, fd);
    }

    private static void check(String call, int status) {
        if (status != 0) {
            throw new IllegalStateException(call + " returned " + Cublas.statusName(status) + " (" + status + ")");
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public synchronized void sgemmTN(int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        if (closed) {
            throw new IllegalStateException("the cuBLAS handle is closed");
        }
        int status;
        try {
            status = (int) sgemm.invokeExact(handle, OP_T, OP_N, m, n, k, one, MemorySegment.ofAddress(a), lda,
                    MemorySegment.ofAddress(b), ldb, zero, MemorySegment.ofAddress(c), ldc);
        } catch (Throwable t) {
            throw new CudaFailure("cublasSgemm_v2 could not be called: " + CudaErrors.oneLine(t), t);
        }
        if (status != 0) {
            throw new CudaFailure("cublasSgemm_v2 (" + m + " x " + n + " x " + k + ") returned " + Cublas.statusName(status), null);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        int status;
        try {
            status = (int) destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw new CudaFailure("cublasDestroy_v2 could not be called: " + CudaErrors.oneLine(t), t);
        } finally {
            arena.close();
        }
        if (status != 0) {
            throw new CudaFailure("cublasDestroy_v2 returned " + Cublas.statusName(status), null);
        }
    }
}
