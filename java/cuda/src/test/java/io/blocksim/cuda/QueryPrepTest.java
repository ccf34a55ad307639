package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blocksim.Metric;

import org.junit.jupiter.api.Test;

class QueryPrepTest {
    @Test
    void cosineNormalizesInDoubleAndL2PassesRawValues() {
        float[][] q = {{3f, 4f, 0f, 0f}, {0f, 0f, 0f, 0f}, {1e-30f, 0f, 0f, 0f}, {1e20f, 1e20f, 0f, 0f}};
        float[] c = QueryPrep.prepare(q, Metric.COSINE);
        assertArrayEquals(new float[] {0.6f, 0.8f, 0f, 0f}, java.util.Arrays.copyOfRange(c, 0, 4));
        assertArrayEquals(new float[4], java.util.Arrays.copyOfRange(c, 4, 8));  // zero query stays zero
        assertEquals((float) (1e-30f / 1e-8), c[8]);  // |q| clamped at 1e-8
        // 1e20^2 overflows float but not double
        assertEquals((float) (1 / Math.sqrt(2)), c[12]);
        float[] l2 = QueryPrep.prepare(q, Metric.L2);
        assertArrayEquals(new float[] {3f, 4f, 0f, 0f}, java.util.Arrays.copyOfRange(l2, 0, 4));
        assertEquals(1e20f, l2[12]);
    }

    @Test
    void equalReportedDistancesListTheLowerRowFirst() {
        int[] rows = {5, 9, 2, 7, 1};
        float[] s = {1f, 2f, 2f, 2f, 3f};
        QueryPrep.lowerRowFirstAmongEqual(rows, s);
        assertArrayEquals(new int[] {5, 2, 7, 9, 1}, rows);
    }
}
