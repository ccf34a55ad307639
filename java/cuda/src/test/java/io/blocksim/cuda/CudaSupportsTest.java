package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * What the CUDA backend says it runs itself: requests outside this go to the CPU through
 * {@code Backends.routed}, and the result says so (it used to run them on the CPU quietly and
 * still say "cuda").
 */
class CudaSupportsTest {
    @Test
    void theKernelsContract() {
        assertTrue(CudaSearchBackend.kernelsRun(384, 10));
        assertTrue(CudaSearchBackend.kernelsRun(4, 1));
        assertTrue(CudaSearchBackend.kernelsRun(4096, LaunchPlan.MAX_K));
        assertFalse(CudaSearchBackend.kernelsRun(385, 10), "dim not a multiple of 4");
        assertFalse(CudaSearchBackend.kernelsRun(4100, 10), "dim above 4096");
        assertFalse(CudaSearchBackend.kernelsRun(384, LaunchPlan.MAX_K + 1), "k above the select's limit");
        assertFalse(CudaSearchBackend.kernelsRun(0, 10));
    }
}
