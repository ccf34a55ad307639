package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.bench.GemmRate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@code bench similars}' GEMM rate times the CPU kernels' own tile shape, so the job's share of it means something. */
class GemmRateShapeTest {
    @Test
    void theTileIsTheKernelsTile() {
        assertEquals(Vectorization.GEMM_ROWS, GemmRate.ROWS);
        assertEquals(Vectorization.GEMM_VECTORS, GemmRate.VECTORS);
        Assumptions.assumeTrue(Vectorization.VECTOR_API, "the kernels' lanes are those of the Vector API path");
        assertEquals(Vectorization.QP, GemmRate.groupQueries());
    }

    @Test
    void measuresAPositiveRateOnEveryThread() {
        GemmRate.Rate r = GemmRate.measure(2, 32, 3, 20);
        assertEquals(3, r.rounds().length);
        for (double x : r.rounds()) {
            assertTrue(x > 0, java.util.Arrays.toString(r.rounds()));
        }
        assertTrue(r.gflopPerS() >= java.util.Arrays.stream(r.rounds()).min().orElseThrow());
        assertEquals(2, r.threads());
    }
}
