package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class TopKTest {
    @Test
    void packedOrderIsLargerKeyThenLowerRowWithNaNLast() {
        float[] keys = {Float.NaN, Float.NEGATIVE_INFINITY, -3f, -0f, 0f, 1e-30f, 2f, Float.POSITIVE_INFINITY};
        for (int i = 0; i < keys.length; i++) {
            for (int j = 0; j < keys.length; j++) {
                long a = TopK.pack(keys[i], 5);
                long b = TopK.pack(keys[j], 5);
                int want = Float.isNaN(keys[i]) || Float.isNaN(keys[j])
                        ? Boolean.compare(Float.isNaN(keys[i]), Float.isNaN(keys[j]))
                        : keys[i] == keys[j] ? 0 : (keys[i] > keys[j] ? -1 : 1);
                assertEquals(want, Long.signum(Long.compare(a, b)), keys[i] + " vs " + keys[j]);
            }
        }
        assertTrue(TopK.pack(1f, 3) < TopK.pack(1f, 4));
        assertEquals(-3f, TopK.keyOf(TopK.pack(-3f, 7)));
        assertEquals(7, TopK.rowOf(TopK.pack(-3f, 7)));
        assertEquals(Integer.MAX_VALUE - 1, TopK.rowOf(TopK.pack(1f, Integer.MAX_VALUE - 1)));
        assertTrue(Float.isNaN(TopK.keyOf(TopK.pack(Float.NaN, 1))));
    }

    @Test
    void keepsTheBestK() {
        TopK top = new TopK(100);
        float[] keys = new float[1000];
        for (int r = 0; r < keys.length; r++) {
            keys[r] = (r * 7919) % 1000 / 10f;  // values repeat: ties between rows
            top.offer(TopK.pack(keys[r], r));
        }
        long[] held = new long[top.size()];
        top.drainTo(held, 0);
        Arrays.sort(held);
        long[] all = new long[keys.length];
        for (int r = 0; r < keys.length; r++) {
            all[r] = TopK.pack(keys[r], r);
        }
        Arrays.sort(all);
        assertEquals(100, held.length);
        for (int i = 0; i < 100; i++) {
            assertEquals(all[i], held[i]);
        }
        assertEquals(TopK.keyOf(all[99]), top.threshold());
    }
}
