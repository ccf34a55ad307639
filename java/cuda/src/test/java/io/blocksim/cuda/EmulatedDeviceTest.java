package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CUDA path without a GPU, as far as a CPU allows, in {@code mvn verify}:
 * <ul>
 * <li>the kernel harness (native/harness.cpp) with the kernels' source compiled as C++ into the
 *     block emulator ({@code blocksim_emu_check}): every kernel against a float64 reference, the
 *     compressed scan's bounds, tau and re-rank checked exactly;
 * <li>the Java backend end to end on an <b>emulated device</b>: native/emu/fake_libcuda.cpp is a
 *     libcuda.so.1 whose driver calls run those same kernels in the emulator, so a JVM that finds it
 *     first on its loader path runs {@link CudaSearchBackendGpuTest} (through {@link GpuTestMain})
 *     for real: uploads, residency and eviction, launch plans, merges, the boundary check, the
 *     compressed scan, the SGEMM path (with src/test/c/fake_cublas.c's host SGEMM standing in for
 *     cuBLAS), all compared with the CPU backend; then {@link SimilarStringsGpuTest}, the
 *     similar-strings job through the CUDA backend.
 * </ul>
 * What it cannot show: the kernels' speed, and behaviour that only real hardware has (warps
 * racing, the real cp.async, device memory limits of a real card). Skipped where no C++ compiler
 * is installed. Both builds take a few seconds; the test run about two minutes.
 */
class EmulatedDeviceTest {
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    private static final Path OUT = Path.of("target/emulated-device").toAbsolutePath();

    @BeforeEach
    void compilerPresent() throws Exception {
        Assumptions.assumeTrue(runs(List.of("c++", "--version")), "no C++ compiler (c++) on the PATH");
        Files.createDirectories(OUT);
    }

    @Test
    void kernelHarnessInTheEmulator() throws Exception {
        Path exe = OUT.resolve("blocksim_emu_check");
        List<String> cmd = cxx("-o", exe.toString());
        cmd.addAll(List.of(src("native/harness.cpp"), src("native/backend_emu.cpp")));
        cmd.addAll(emulatorObjects());
        cmd.add("-lpthread");
        build(cmd);
        Result r = run(List.of(exe.toString()), null, 900);
        assertEquals(0, r.exit, r.tail());
        Matcher m = Pattern.compile("correctness: (\\d+) PASS, (\\d+) FAIL").matcher(r.out);
        assertTrue(m.find(), r.tail());
        assertEquals("0", m.group(2), r.tail());
        assertTrue(Integer.parseInt(m.group(1)) >= 50, r.tail());
        assertTrue(r.out.contains("PASS codes cos") && r.out.contains("PASS codes l2"), r.tail());
    }

    @Test
    void backendEndToEndOnAnEmulatedDevice() throws Exception {
        Path lib = OUT.resolve("lib");
        Files.createDirectories(lib);
        List<String> cmd = cxx("-shared", "-Wl,-soname,libcuda.so.1", "-o", lib.resolve("libcuda.so.1").toString(),
                src("native/emu/fake_libcuda.cpp"));
        cmd.addAll(emulatorObjects());
        cmd.add("-lpthread");
        build(cmd);
        Path cublas = OUT.resolve("libfakecublas.so");
        build(List.of("cc", "-O2", "-shared", "-fPIC", "-o", cublas.toString(),
                Path.of("src/test/c/fake_cublas.c").toAbsolutePath().toString()));

        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-Dblocksim.cuda.cublasLibrary=" + cublas, "-cp", cp, GpuTestMain.class.getName()));
        Result r = run(java, lib.toString(), 1200);
        assertTrue(r.out.contains("emulated device"), "the JVM did not find the emulated libcuda:\n" + r.tail());
        assertEquals(0, r.exit, r.tail());
        Matcher m = Pattern.compile("CudaSearchBackendGpuTest: (\\d+) passed, (\\d+) skipped, (\\d+) failed").matcher(r.out);
        assertTrue(m.find(), r.tail());
        assertEquals("0", m.group(3), r.tail());
        assertEquals("0", m.group(2), "every GPU test runs on the emulated device (SGEMM included):\n" + r.tail());
        assertTrue(Integer.parseInt(m.group(1)) >= 12, r.tail());

        // the similar-strings job with --device cuda: the same rows and scores as on the CPU
        java.add(SimilarStringsGpuTest.class.getName());
        Result j = run(java, lib.toString(), 600);
        assertEquals(0, j.exit, j.tail());
        assertTrue(j.out.contains("SimilarStringsGpuTest: 1 passed, 0 skipped, 0 failed"), j.tail());
    }

    /** The emulator and the kernels as position-independent objects, built once for both tests. */
    private static synchronized List<String> emulatorObjects() throws Exception {
        Path emu = OUT.resolve("bs_emu.o");
        Path kernels = OUT.resolve("kernels_emu.o");
        if (!Files.exists(kernels)) {
            build(cxx("-c", "-o", emu.toString(), src("native/emu/bs_emu.cpp")));
            // as CMakeLists.txt builds them: the shim force-included, no FMA contraction of a * b + c
            build(cxx("-c", "-ffp-contract=off", "-DBS_EMU", "-include", src("native/emu/bs_emu.h"), "-o",
                    kernels.toString(), src("native/emu/kernels_emu.cpp")));
        }
        return List.of(emu.toString(), kernels.toString());
    }

    private static List<String> cxx(String... args) {
        List<String> cmd = new ArrayList<>(List.of("c++", "-std=c++17", "-O2", "-fPIC", "-Wall", "-Wno-unknown-pragmas"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static String src(String path) {
        return ROOT.resolve(path).toString();
    }

    private static void build(List<String> cmd) throws Exception {
        Result r = run(cmd, null, 600);
        assertEquals(0, r.exit, "build failed: " + String.join(" ", cmd) + "\n" + r.tail());
    }

    private record Result(int exit, String out) {
        String tail() {
            return out.length() > 6000 ? "..." + out.substring(out.length() - 6000) : out;
        }
    }

    private static boolean runs(List<String> cmd) {
        try {
            return run(cmd, null, 60).exit == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** Runs {@code cmd}, output to a file under target (large outputs never block the pipe). */
    private static Result run(List<String> cmd, String libraryPath, long timeoutSeconds)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile(Files.createDirectories(OUT), "run-", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if (libraryPath != null) {
            String old = System.getenv("LD_LIBRARY_PATH");
            pb.environment().put("LD_LIBRARY_PATH", libraryPath + (old == null || old.isEmpty() ? "" : ":" + old));
        }
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
            return new Result(-1, "timed out after " + timeoutSeconds + " s: " + String.join(" ", cmd) + "\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
