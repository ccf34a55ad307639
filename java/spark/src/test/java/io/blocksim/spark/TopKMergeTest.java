package io.blocksim.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blocksim.Metric;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The sharded search's exactness without Spark: a set cut into row ranges, each searched alone
 * with rows shifted back, merged, is the whole set's search, rows and scores, ties included.
 */
class TopKMergeTest {
    static final int DIM = 8;

    /** rows x DIM floats from a few distinct values, so that equal scores (ties) are common. */
    static VectorSet set(Arena arena, int rows, int shardRows, long seed) {
        Random rnd = new Random(seed);
        List<VectorShard> shards = new ArrayList<>();
        for (int first = 0; first < rows; first += shardRows) {
            int n = Math.min(shardRows, rows - first);
            MemorySegment v = arena.allocate((long) n * DIM * Float.BYTES, 64);
            for (long i = 0; i < (long) n * DIM; i++) {
                v.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, rnd.nextInt(3) - 1);
            }
            shards.add(new VectorShard(v, null, first, n));
        }
        return new VectorSet(DIM, shards);
    }

    @Test
    void mergedRangesAreTheWholeSearch() {
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend cpu = new CpuSearchBackend()) {
            VectorSet all = set(arena, 1000, 128, 1);
            float[][] q = new float[5][DIM];
            Random rnd = new Random(2);
            for (float[] row : q) {
                for (int d = 0; d < DIM; d++) {
                    row[d] = rnd.nextInt(3) - 1;
                }
            }
            for (Metric m : Metric.values()) {
                for (int parts : new int[] {1, 3, 7, 64}) {
                    int k = 25;
                    SearchResult whole = cpu.search(all, q, k, m);
                    TopKMerge merged = null;
                    for (int[] r : ShardedSearchBackend.ranges(all.rows(), parts)) {
                        VectorSet part = RowRangeSearch.slice(all, r[0], r[1]);
                        assertEquals(r[1] - r[0], part.rows());
                        SearchResult pr = cpu.search(part, q, Math.min(k, part.rows()), m);
                        int[][] rows = new int[q.length][];
                        for (int j = 0; j < q.length; j++) {
                            rows[j] = pr.rows()[j].clone();
                            for (int i = 0; i < rows[j].length; i++) {
                                rows[j][i] += r[0];
                            }
                        }
                        TopKMerge t = new TopKMerge(rows, pr.scores());
                        merged = merged == null ? t : TopKMerge.merge(t, merged, k, m);  // any order
                    }
                    for (int j = 0; j < q.length; j++) {
                        assertArrayEquals(whole.rows()[j], merged.rows()[j], m + ", " + parts + " parts, query " + j);
                        assertArrayEquals(whole.scores()[j], merged.scores()[j], m + ", " + parts + " parts, query " + j);
                    }
                }
            }
        }
    }

    @Test
    void tiesGoToTheLowerRowAndNanLast() {
        TopKMerge a = new TopKMerge(new int[][] {{5, 9}}, new float[][] {{0.5f, Float.NaN}});
        TopKMerge b = new TopKMerge(new int[][] {{2, 7}}, new float[][] {{0.5f, -0.0f}});
        TopKMerge bL2 = new TopKMerge(new int[][] {{7, 2}}, new float[][] {{-0.0f, 0.5f}});  // each list best first
        TopKMerge l2 = TopKMerge.merge(a, bL2, 4, Metric.L2);
        assertArrayEquals(new int[] {7, 2, 5, 9}, l2.rows()[0]);
        TopKMerge cos = TopKMerge.merge(b, a, 3, Metric.COSINE);
        assertArrayEquals(new int[] {2, 5, 7}, cos.rows()[0]);
        TopKMerge zeros = TopKMerge.merge(new TopKMerge(new int[][] {{4}}, new float[][] {{0.0f}}),
                new TopKMerge(new int[][] {{3}}, new float[][] {{-0.0f}}), 2, Metric.L2);
        assertArrayEquals(new int[] {3, 4}, zeros.rows()[0], "-0.0 and 0.0 are one score: the lower row first");
        assertThrows(IllegalArgumentException.class, () -> TopKMerge.merge(a, new TopKMerge(new int[0][], new float[0][]), 1,
                Metric.L2));
    }

    @Test
    void rangesCoverEveryRowOnce() {
        for (int rows : new int[] {1, 5, 1000, 858_923}) {
            for (int parts : new int[] {1, 2, 7, 2000}) {
                List<int[]> r = ShardedSearchBackend.ranges(rows, parts);
                assertEquals(Math.min(rows, parts), r.size());
                int next = 0;
                for (int[] x : r) {
                    assertEquals(next, x[0]);
                    org.junit.jupiter.api.Assertions.assertTrue(x[1] > x[0]);
                    next = x[1];
                }
                assertEquals(rows, next);
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> RowRangeSearch.slice(new VectorSet(DIM, List.of()), 0, 1));
    }
}
