package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blocksim.Metric;

import org.junit.jupiter.api.Test;

/** The relaxed thresholds as the class comment derives them, including where they give up (keep every row). */
class SlackTest {
    @Test
    void cosineSubtractsTwiceTheDotProductBound() {
        Slack s = Slack.of(Metric.COSINE, 384);
        float e2 = (float) (2 * (384 + 16.0) * 0x1p-23);
        assertEquals(0.5f - e2, s.relax(0.5f));
        assertEquals(-1f - e2, s.relax(-1f));
        assertEquals(Float.NaN, s.relax(Float.NaN), "a heap not yet full lets everything through");
    }

    @Test
    void l2ScalesAndSubtractsTheUnderflowTerm() {
        Slack s = Slack.of(Metric.L2, 384);
        float factor = (float) (1 + 3 * (384 + 16.0) * 0x1p-23);
        float absolute = (float) ((384 + 4.0) * 0x1p-147);
        assertEquals(-4f * factor - absolute, s.relax(-4f));
        assertEquals(0f * factor - absolute, s.relax(0f));
        assertEquals(Float.NEGATIVE_INFINITY, s.relax(Float.NEGATIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, s.relax(-Float.MAX_VALUE), "a relaxed key that overflows keeps every row");
    }

    @Test
    void hugeDimensionsKeepEveryRow() {
        // cosine gives up when 2e >= 2, e = (D + 16) 2^-23: from D = 2^23 - 16
        assertEquals(Float.NEGATIVE_INFINITY, Slack.of(Metric.COSINE, (1 << 23) - 16).relax(0.9f));
        assertEquals(0.9f - (float) (2 * ((1 << 23) - 1.0) * 0x1p-23), Slack.of(Metric.COSINE, (1 << 23) - 17).relax(0.9f));
        // L2 when e >= 1/3: from D = 2,796,187
        assertEquals(Float.NEGATIVE_INFINITY, Slack.of(Metric.L2, 2_796_187).relax(-1f));
        float f = (float) (1 + 3 * (2_796_186 + 16.0) * 0x1p-23);
        assertEquals(-1f * f - (float) ((2_796_186 + 4.0) * 0x1p-147), Slack.of(Metric.L2, 2_796_186).relax(-1f));
    }

    @Test
    void noneIsTheIdentity() {
        assertEquals(0.25f, Slack.NONE.relax(0.25f));
        assertEquals(-7f, Slack.NONE.relax(-7f));
    }

    /** The public door the CUDA backend uses is exactly relax, bit for bit, for both metrics. */
    @Test
    void lowestKeyInTopKIsRelax() {
        float[] keys = {1f, 0.999f, 0.5f, 0f, -0f, -0.25f, -1f, -4f, -1e-30f, -Float.MIN_VALUE, -1e30f,
            -Float.MAX_VALUE, Float.NEGATIVE_INFINITY, Float.NaN};
        java.util.Random rnd = new java.util.Random(14);
        for (int dim : new int[] {1, 4, 384, 3840, 4096, 2_796_187, (1 << 23) - 16}) {
            for (Metric m : Metric.values()) {
                Slack s = Slack.of(m, dim);
                for (float t : keys) {
                    assertEquals(s.relax(t), CanonicalScores.lowestKeyInTopK(m, dim, t), m + " D=" + dim + " t=" + t);
                }
                for (int i = 0; i < 200; i++) {
                    float t = m == Metric.COSINE ? rnd.nextFloat(-1f, 1f) : -Math.scalb(rnd.nextFloat(), rnd.nextInt(-140, 120));
                    assertEquals(s.relax(t), CanonicalScores.lowestKeyInTopK(m, dim, t), m + " D=" + dim + " t=" + t);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> CanonicalScores.lowestKeyInTopK(Metric.L2, 0, -1f));
        assertThrows(NullPointerException.class, () -> CanonicalScores.lowestKeyInTopK(null, 4, -1f));
    }
}
