package io.blocksim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Phases are recorded only once recording is on, in the order they end, with their wall time. */
class TimingsTest {
    @Test
    void recordsOnlyWhenOn() throws Exception {
        if (!Timings.enabled()) {
            int before = Timings.phases().size();
            try (Timings.Mark m = Timings.phase("ignored")) {
                Thread.sleep(1);
            }
            Timings.record("ignored too", 5);
            assertEquals(before, Timings.phases().size());
        }
        Timings.enable();
        try (Timings.Mark outer = Timings.phase("outer")) {
            try (Timings.Mark inner = Timings.phase("inner")) {
                Thread.sleep(20);
            }
        }
        List<Timings.Phase> p = Timings.phases();
        Timings.Phase inner = p.get(p.size() - 2);
        Timings.Phase outer = p.get(p.size() - 1);
        assertEquals("inner", inner.what());
        assertEquals("outer", outer.what());
        assertTrue(inner.ms() >= 19 && outer.ms() >= inner.ms(), p.toString());
    }
}
