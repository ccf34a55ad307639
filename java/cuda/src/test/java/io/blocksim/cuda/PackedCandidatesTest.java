package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The packed order against a float64 reference order, including ties, -0 and NaN. */
class PackedCandidatesTest {
    private record Cand(float key, int id) {
    }

    /** Reference: larger key first (in double), NaN last, -0 == +0, then the lower id. */
    private static final Comparator<Cand> REFERENCE = (a, b) -> {
        double ka = Float.isNaN(a.key()) ? Double.NEGATIVE_INFINITY : (double) a.key();
        double kb = Float.isNaN(b.key()) ? Double.NEGATIVE_INFINITY : (double) b.key();
        if (ka != kb) {
            return ka > kb ? -1 : 1;
        }
        return Integer.compare(a.id(), b.id());
    };

    private static final Comparator<Long> PACKED = (a, b) -> Long.compareUnsigned(b, a);  // larger unsigned first

    @Test
    void orderEqualsTheFloat64Reference() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[] special = {0.0f, -0.0f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.MIN_VALUE,
            -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1.0f, -1.0f, 0.5f};
        List<Cand> cands = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            float key = switch (rnd.nextInt(4)) {
                case 0 -> special[rnd.nextInt(special.length)];
                case 1 -> (float) rnd.nextGaussian();
                case 2 -> -(float) (rnd.nextDouble() * 1e4);  // negated squared L2 distances
                default -> (float) (rnd.nextInt(5) - 2) / 4;  // many exact ties
            };
            cands.add(new Cand(key, rnd.nextInt(3) == 0 ? i : rnd.nextInt(Integer.MAX_VALUE)));
        }
        List<Cand> want = new ArrayList<>(cands);
        want.sort(REFERENCE);
        Long[] packed = cands.stream().map(c -> PackedCandidates.pack(c.key(), c.id())).toArray(Long[]::new);
        Arrays.sort(packed, PACKED);
        for (int i = 0; i < packed.length; i++) {
            Cand w = want.get(i);
            assertEquals(w.id(), PackedCandidates.id(packed[i]), "place " + i);
            float key = PackedCandidates.key(packed[i]);
            float expect = Float.isNaN(w.key()) ? Float.NEGATIVE_INFINITY : w.key() + 0.0f;
            assertEquals(Float.floatToIntBits(expect), Float.floatToIntBits(key), "place " + i);
        }
    }

    @Test
    void specialValues() {
        assertEquals(PackedCandidates.pack(0.0f, 3), PackedCandidates.pack(-0.0f, 3));
        assertEquals(PackedCandidates.pack(Float.NEGATIVE_INFINITY, 3), PackedCandidates.pack(Float.NaN, 3));
        assertEquals(0x80000000, PackedCandidates.orderedBits(0.0f));
        assertEquals(0x3f800000 | 0x80000000, PackedCandidates.orderedBits(1.0f));
        assertEquals(~0xbf800000, PackedCandidates.orderedBits(-1.0f));
        // the same key: the lower id is the better (larger) candidate
        assertTrue(PackedCandidates.better(PackedCandidates.pack(0.25f, 1), PackedCandidates.pack(0.25f, 2)));
        assertTrue(PackedCandidates.better(PackedCandidates.pack(0.25f, Integer.MAX_VALUE), PackedCandidates.pack(0.2f, 0)));
        // every real candidate, even NaN at the largest id, beats the padding value 0
        assertTrue(PackedCandidates.better(PackedCandidates.pack(Float.NaN, Integer.MAX_VALUE), PackedCandidates.NONE));
        assertEquals(-5, PackedCandidates.id(PackedCandidates.pack(1f, -5)));  // the contract's id = ~(int) p
        assertEquals(-2.5f, PackedCandidates.key(PackedCandidates.pack(PackedCandidates.keyOfSquaredL2(2.5f), 0)));
    }

    @Test
    void bestAndTheMergeRuleAgreeWithAFullSort() {
        SplittableRandom rnd = new SplittableRandom(9);
        int k = 16;
        int lists = 1500;  // 24,000 candidates: two merge rounds at chunk 8192
        long[] cand = new long[lists * k];
        for (int l = 0; l < lists; l++) {
            int n = rnd.nextInt(k + 1);  // short lists are padded with 0
            long[] list = new long[n];
            for (int j = 0; j < n; j++) {
                list[j] = PackedCandidates.pack((float) rnd.nextInt(200) / 8, rnd.nextInt(100_000));
            }
            long[] sorted = PackedCandidates.best(list, 0, n, k);
            System.arraycopy(sorted, 0, cand, l * k, k);
        }
        long[] all = PackedCandidates.best(cand, 0, cand.length, k);
        long[] merged = PackedCandidates.mergeLists(cand, cand.length, k, LaunchPlan.mergeChunk(k));
        assertArrayEquals(all, merged);
        for (int j = 1; j < k; j++) {
            assertTrue(Long.compareUnsigned(all[j - 1], all[j]) >= 0);
        }
        // fewer candidates than k: padded with NONE at the end
        long[] few = PackedCandidates.best(new long[] {PackedCandidates.pack(1f, 2), PackedCandidates.NONE}, 0, 2, 3);
        assertArrayEquals(new long[] {PackedCandidates.pack(1f, 2), 0, 0}, few);
    }
}
