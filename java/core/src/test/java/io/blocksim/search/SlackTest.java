package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
