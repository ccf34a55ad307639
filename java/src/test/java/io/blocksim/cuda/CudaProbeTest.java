package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.UserError;
import io.blocksim.cli.Main;
import io.blocksim.search.Backends;
import io.blocksim.search.CpuSearchBackend;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The probe's decisions from injected facts, and what Backends does with them. */
class CudaProbeTest {
    private static CudaProbe.Facts h100() {
        return CudaProbe.Facts.device(1, "NVIDIA H100 80GB HBM3", 9, 0, 13000);
    }

    @Test
    void decisions() {
        CudaProbe.Verdict v = CudaProbe.decide(CudaProbe.Facts.noLibrary("libcuda.so.1 not found"));
        assertFalse(v.usable());
        assertEquals("no CUDA driver: libcuda.so.1 not found", v.reason());

        v = CudaProbe.decide(CudaProbe.Facts.deviceFailed("CUDA_ERROR_NO_DEVICE (no CUDA device visible)", 13000));
        assertFalse(v.usable());
        assertTrue(v.reason().contains("CUDA 13.0") && v.reason().contains("CUDA_ERROR_NO_DEVICE"), v.reason());

        v = CudaProbe.decide(CudaProbe.Facts.device(0, null, 0, 0, 12040));
        assertEquals(new CudaProbe.Verdict(false, "no CUDA device found"), v);

        v = CudaProbe.decide(CudaProbe.Facts.device(1, "Tesla T4", 7, 5, 13000));
        assertFalse(v.usable());
        assertTrue(v.reason().startsWith("Tesla T4 (sm_75)") && v.reason().contains("8.0"), v.reason());

        v = CudaProbe.decide(CudaProbe.Facts.device(1, "NVIDIA A100", 8, 0, 12040).withKernels("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", -1, null));
        assertFalse(v.usable());
        assertTrue(v.reason().contains("CUDA 12.4") && v.reason().contains("R580"), v.reason());

        v = CudaProbe.decide(h100().withKernels(null, 2, "summary"));
        assertFalse(v.usable());
        assertTrue(v.reason().contains("ABI version 2"), v.reason());

        v = CudaProbe.decide(h100().withKernels(null, CudaProbe.ABI_VERSION, "NVIDIA H100 (sm_90, 132 SMs)"));
        assertEquals(new CudaProbe.Verdict(true, "NVIDIA H100 (sm_90, 132 SMs)"), v);

        v = CudaProbe.decide(CudaProbe.Facts.disabled("-Dblocksim.cuda.disable=true"));
        assertFalse(v.usable());
        assertTrue(v.reason().contains("disabled"));
    }

    @Test
    void errorLinesAreOneLine() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.0.0-linux-x86_64\"\n"
                + "Operating system name: Linux\n---(start of nested stack traces)---\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.0.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory\n");
        assertEquals("libcuda.so.1 not found", CudaErrors.oneLine(e));
        assertTrue(CudaErrors.oneLine(new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver"))
                .startsWith("JCuda failed to initialize earlier"));
        assertEquals("IllegalStateException: first", CudaErrors.oneLine(new IllegalStateException("first\nsecond")));
        assertTrue(CudaErrors.explain("CUDA_ERROR_OUT_OF_MEMORY").contains("device memory exhausted"));
        assertEquals("CUDA_ERROR_SOMETHING_NEW", CudaErrors.explain("CUDA_ERROR_SOMETHING_NEW"));
    }

    @Test
    void injectedFailureFallsBackOrRefuses() {
        CudaProbe.Facts f = CudaProbe.Facts.noLibrary("libcuda.so.1 not found");
        CudaProbe.Outcome none = new CudaProbe.Outcome(CudaProbe.decide(f), f, null);
        Backends.Choice c = Backends.open("auto", () -> none);
        try (var b = c.backend()) {
            assertInstanceOf(CpuSearchBackend.class, b);
            assertEquals("cpu (auto: CUDA unavailable: no CUDA driver: libcuda.so.1 not found)", c.reason());
        }
        UserError e = assertThrows(UserError.class, () -> Backends.open("cuda", () -> none));
        assertEquals(UserError.USAGE, e.exitCode());
        assertEquals("--device cuda: CUDA unavailable: no CUDA driver: libcuda.so.1 not found; use --device cpu or auto",
                e.getMessage());
        assertEquals("cpu (requested)", Backends.open("cpu", () -> {
            throw new AssertionError("cpu must not probe");
        }).reason());
        assertThrows(UserError.class, () -> Backends.open("tpu", () -> none));
    }

    /** On this machine (no GPU) the real probe fails: auto says so in one line, cuda is a UserError. */
    @Test
    void realProbeWithoutAGpu() {
        CudaProbe.Outcome o = CudaProbe.probe();
        Assumptions.assumeFalse(o.verdict().usable(), "a usable GPU is present: " + o.verdict().reason());
        Backends.Choice c = Backends.open("auto");
        try (var b = c.backend()) {
            assertEquals("cpu", b.name());
            assertTrue(c.reason().startsWith("cpu (auto: CUDA unavailable: "), c.reason());
            assertFalse(c.reason().contains("\n"), c.reason());
        }
        UserError e = assertThrows(UserError.class, () -> Backends.open("cuda"));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("--device cuda: CUDA unavailable: "), e.getMessage());
        assertEquals(o, CudaProbe.probe(), "the probe runs once per process");
    }

    @Test
    void benchSearchDeviceCudaWithoutAGpuIsOneLineError() {
        Assumptions.assumeFalse(CudaProbe.probe().verdict().usable(), "a usable GPU is present");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = Main.execute("bench", "search", "--device", "cuda", "--rows", "1000", "--dim", "8");
        } finally {
            System.setErr(oldErr);
        }
        String text = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(UserError.USAGE, rc, text);
        assertTrue(text.startsWith("blocksim: --device cuda: CUDA unavailable: "), text);
        assertEquals(1, text.lines().count(), text);
    }
}
