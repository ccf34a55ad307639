package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.search.Backends;


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

        v = CudaProbe.decide(h100().withKernels(null, 1, "summary"));  // a fatbin from before the raw keys
        assertFalse(v.usable());
        assertTrue(v.reason().contains("ABI version 1, this host expects 2"), v.reason());

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

    /** On this machine (no GPU) the real probe fails: auto says so in one line, cuda is refused by kind. */
    @Test
    void realProbeWithoutAGpu() {
        CudaProbe.Outcome o = CudaProbe.probe();
        Assumptions.assumeFalse(o.verdict().usable(), "a usable GPU is present: " + o.verdict().reason());
        assertTrue(Backends.installed().stream().anyMatch(p -> p instanceof CudaBackendProvider),
                "ServiceLoader finds the CUDA provider: " + Backends.installed());
        Backends.Choice c = Backends.open("auto");
        try (var b = c.backend()) {
            assertEquals("cpu", b.name());
            assertTrue(c.reason().startsWith("cpu (auto: cuda unavailable: "), c.reason());
            assertFalse(c.reason().contains("\n"), c.reason());
        }
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Backends.open("cuda"));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("the cuda backend is unavailable: "), e.getMessage());
        assertFalse(e.getMessage().contains("--"), "library messages name no CLI flags: " + e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> Backends.open("gpu"));
        assertEquals(o, CudaProbe.probe(), "the probe runs once per process");
    }
}
