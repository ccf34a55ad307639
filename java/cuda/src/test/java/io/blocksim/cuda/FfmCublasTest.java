package io.blocksim.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM cuBLAS binding without a GPU: the lookup order, the fallback from a candidate that fails
 * to the next, the message when none works, and the downcall signatures end to end against a
 * stand-in library (src/test/c/fake_cublas.c, built here with the C compiler) that does SGEMM on
 * host memory.
 */
class FfmCublasTest {
    private static final Path FAKES = Path.of("target", "fake-cublas").toAbsolutePath();
    private static Path good;    // a working stand-in named libcublas.so.12
    private static Path broken;  // one whose cublasCreate_v2 fails, named libcublas.so.13

    @BeforeAll
    static void buildFakes() throws Exception {
        good = compile("good/libcublas.so.12");
        broken = compile("broken/libcublas.so.13", "-DFAIL_CREATE");
    }

    private static Path compile(String name, String... defines) throws Exception {
        Path out = FAKES.resolve(name);
        Files.createDirectories(out.getParent());
        List<String> cmd = new java.util.ArrayList<>(List.of("cc", "-O1", "-shared", "-fPIC", "-o", out.toString()));
        cmd.addAll(List.of(defines));
        cmd.add(Path.of("src/test/c/fake_cublas.c").toAbsolutePath().toString());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no C compiler (cc) to build the stand-in cuBLAS: " + e.getMessage());
            return null;
        }
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed: " + log);
        return out;
    }

    @Test
    void lookupOrderIs13Then12LoaderPathFirstThenCudaThenPython(@TempDir Path tmp) throws IOException {
        Path cuda = tmp.resolve("cuda");
        Path venv = tmp.resolve("venv");
        Path site = venv.resolve("lib/python3.12/site-packages");
        for (Path f : List.of(cuda.resolve("lib64/libcublas.so.12"), cuda.resolve("lib64/libcublas.so.13"),
                site.resolve("nvidia/cu13/lib/libcublas.so.13"), site.resolve("nvidia/cublas/lib/libcublas.so.12"),
                site.resolve("nvidia/cublas/lib/libcublasLt.so.12"))) {
            Files.createDirectories(f.getParent());
            Files.writeString(f, "not a library");
        }
        List<Path> prefixes = FfmCublas.pythonPrefixes(Map.of("VIRTUAL_ENV", venv.toString()), tmp.resolve("home"));
        assertEquals(venv, prefixes.get(0));
        List<FfmCublas.Candidate> c = FfmCublas.candidates(null, Map.of("CUDA_HOME", cuda.toString()), List.of(venv));
        List<String> where = c.stream().map(FfmCublas.Candidate::where).toList();
        int n13 = where.indexOf("libcublas.so.13 on the loader path");
        int cuda13 = where.indexOf(cuda.resolve("lib64/libcublas.so.13").toString());
        int py13 = where.indexOf(site.resolve("nvidia/cu13/lib/libcublas.so.13").toString());
        int n12 = where.indexOf("libcublas.so.12 on the loader path");
        int cuda12 = where.indexOf(cuda.resolve("lib64/libcublas.so.12").toString());
        int py12 = where.indexOf(site.resolve("nvidia/cublas/lib/libcublas.so.12").toString());
        assertTrue(n13 == 0 && n13 < cuda13 && cuda13 < py13 && py13 < n12 && n12 < cuda12 && cuda12 < py12, where.toString());
        assertTrue(where.stream().noneMatch(w -> w.contains("libcublasLt")), where.toString());

        // a named library replaces the lookup
        List<FfmCublas.Candidate> only = FfmCublas.candidates("/x/libcublas.so.13", Map.of("CUDA_HOME", cuda.toString()), List.of(venv));
        assertEquals(List.of(new FfmCublas.Candidate("libcublas.so.13", Path.of("/x/libcublas.so.13"))), only);

        // the files above are not libraries: each is tried and named in the message
        Cublas.CublasUnavailableException e = assertThrows(Cublas.CublasUnavailableException.class,
                () -> FfmCublas.open(0, c.stream().filter(x -> x.path() != null).toList()));
        assertTrue(e.getMessage().contains(cuda.resolve("lib64/libcublas.so.13").toString()), e.getMessage());
        assertTrue(e.getMessage().contains(site.resolve("nvidia/cublas/lib/libcublas.so.12").toString()), e.getMessage());
    }

    @Test
    void noneFoundSaysWhatToSet() {
        Cublas.CublasUnavailableException e = assertThrows(Cublas.CublasUnavailableException.class, () -> FfmCublas.open(0, List.of()));
        assertTrue(e.getMessage().contains("no libcublas.so.13 or libcublas.so.12 found"), e.getMessage());
        assertTrue(e.getMessage().contains("LD_LIBRARY_PATH") && e.getMessage().contains(FfmCublas.LIBRARY_PROPERTY), e.getMessage());
    }

    @Test
    void aLibraryWithoutTheSymbolsIsSkipped() {
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        Assumptions.assumeTrue(Files.isRegularFile(libm), "no " + libm);
        Cublas.CublasUnavailableException e = assertThrows(Cublas.CublasUnavailableException.class,
                () -> FfmCublas.open(0, List.of(new FfmCublas.Candidate("libcublas.so.13", libm))));
        assertTrue(e.getMessage().contains("no symbol cublasCreate_v2"), e.getMessage());
    }

    @Test
    void aFailingCandidateFallsThroughToTheNext() {
        FfmCublas.Candidate bad = new FfmCublas.Candidate("libcublas.so.13", broken);
        FfmCublas.Candidate ok = new FfmCublas.Candidate("libcublas.so.12", good);
        try (FfmCublas c = FfmCublas.open(0x5000, List.of(bad, ok))) {
            assertTrue(c.describe().startsWith("cuBLAS 13.1.2 through FFM (" + good), c.describe());
        }
        Cublas.CublasUnavailableException e = assertThrows(Cublas.CublasUnavailableException.class,
                () -> FfmCublas.open(0, List.of(bad)));
        assertTrue(e.getMessage().contains("cublasCreate_v2 returned CUBLAS_STATUS_NOT_INITIALIZED"), e.getMessage());
    }

    @Test
    void sgemmArgumentsReachTheLibraryAsCublasReadsThem() throws Throwable {
        SymbolLookup fake = SymbolLookup.libraryLookup(good, Arena.global());
        Linker linker = Linker.nativeLinker();
        MethodHandle created = linker.downcallHandle(fake.find("fake_created").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        MethodHandle destroyed = linker.downcallHandle(fake.find("fake_destroyed").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        MethodHandle math = linker.downcallHandle(fake.find("fake_math_mode").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        MethodHandle stream = linker.downcallHandle(fake.find("fake_last_stream").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        int created0 = (int) created.invokeExact();
        int destroyed0 = (int) destroyed.invokeExact();
        Random rnd = new Random(18);
        FfmCublas c = FfmCublas.open(0xABC000L, List.of(new FfmCublas.Candidate("libcublas.so.12", good)));
        assertEquals(created0 + 1, (int) created.invokeExact());
        assertEquals(0, (int) math.invokeExact(), "default math mode: no TF32");
        assertEquals(0xABC000L, ((MemorySegment) stream.invokeExact()).address());
        // as the backend calls it: S (rows x nq, ld tileRows) = X^T Q, X rows of D floats, Q nq rows of D
        int[][] shapes = {{1, 1, 1, 1}, {7, 3, 5, 9}, {33, 17, 13, 40}, {2, 64, 384, 2}};
        try (Arena a = Arena.ofConfined()) {
            for (int[] sh : shapes) {
                int rows = sh[0];
                int nq = sh[1];
                int dim = sh[2];
                int ld = sh[3];
                MemorySegment x = a.allocate((long) rows * dim * 4, 16);
                MemorySegment q = a.allocate((long) nq * dim * 4, 16);
                MemorySegment s = a.allocate((long) ld * nq * 4, 16);
                for (long i = 0; i < (long) rows * dim; i++) {
                    x.setAtIndex(JAVA_FLOAT, i, (float) rnd.nextGaussian());
                }
                for (long i = 0; i < (long) nq * dim; i++) {
                    q.setAtIndex(JAVA_FLOAT, i, (float) rnd.nextGaussian());
                }
                s.fill((byte) 0x7f);  // beta = 0 must overwrite, not scale, what was there
                c.sgemmTN(rows, nq, dim, x.address(), dim, q.address(), dim, s.address(), ld);
                for (int j = 0; j < nq; j++) {
                    for (int i = 0; i < rows; i++) {
                        double ref = 0;
                        for (int l = 0; l < dim; l++) {
                            ref += (double) x.getAtIndex(JAVA_FLOAT, (long) i * dim + l) * q.getAtIndex(JAVA_FLOAT, (long) j * dim + l);
                        }
                        assertEquals((float) ref, s.getAtIndex(JAVA_FLOAT, (long) j * ld + i), 0.0f,
                                "S[" + i + "," + j + "] of " + java.util.Arrays.toString(sh));
                    }
                }
            }
        }
        CudaFailure bad = assertThrows(CudaFailure.class, () -> c.sgemmTN(-1, 1, 1, 0, 1, 0, 1, 0, 1));
        assertTrue(bad.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE"), bad.getMessage());
        c.close();
        c.close();  // twice is once
        assertEquals(destroyed0 + 1, (int) destroyed.invokeExact());
        assertThrows(IllegalStateException.class, () -> c.sgemmTN(1, 1, 1, 0, 1, 0, 1, 0, 1));
    }

    @Test
    void modes() {
        DeviceHandles.Stream s = new DeviceHandles.Stream();
        Cublas.CublasUnavailableException e = assertThrows(Cublas.CublasUnavailableException.class, () -> Cublas.open("sometimes", s));
        assertTrue(e.getMessage().contains("auto, ffm, jcublas, false"), e.getMessage());
        assertThrows(Cublas.CublasUnavailableException.class, () -> Cublas.open("false", s));
        // a bad library path is "no cuBLAS" too, never an exception the backend does not expect
        String old = System.getProperty(FfmCublas.LIBRARY_PROPERTY);
        System.setProperty(FfmCublas.LIBRARY_PROPERTY, "/");
        try {
            Cublas.CublasUnavailableException bad = assertThrows(Cublas.CublasUnavailableException.class, () -> Cublas.open("ffm", s));
            assertTrue(bad.getMessage().startsWith("cuBLAS via FFM"), bad.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(FfmCublas.LIBRARY_PROPERTY);
            } else {
                System.setProperty(FfmCublas.LIBRARY_PROPERTY, old);
            }
        }
    }
}
