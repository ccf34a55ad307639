package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** Runs of equal reported scores list the lower row first; everything else keeps its place. */
class SearchRulesTest {
    @Test
    void lowerRowFirstAmongEqualScores() {
        int[] rows = {9, 4, 7, 2, 8, 1, 0, 5};
        float[] scores = {1f, 1f, 1f, 2f, 3f, 3f, 4f, 4f};
        SearchRules.lowerRowFirstAmongEqual(rows, scores);
        assertArrayEquals(new int[] {4, 7, 9, 2, 1, 8, 0, 5}, rows);
        assertArrayEquals(new float[] {1f, 1f, 1f, 2f, 3f, 3f, 4f, 4f}, scores, "scores are left as they are");

        int[] distinct = {5, 3, 1};
        SearchRules.lowerRowFirstAmongEqual(distinct, new float[] {0.1f, 0.2f, 0.3f});
        assertArrayEquals(new int[] {5, 3, 1}, distinct, "distinct scores keep the given order");

        int[] one = {3};
        SearchRules.lowerRowFirstAmongEqual(one, new float[] {1f});
        assertArrayEquals(new int[] {3}, one);
        int[] none = {};
        SearchRules.lowerRowFirstAmongEqual(none, new float[] {});
    }
}
