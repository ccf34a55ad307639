package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

/**
 * The embeddings search against a float64 reference over the concatenated vectors, on tables with
 * large norms and near-identical tokens: the expanded {@code |x|^2 + |q|^2 - 2 x.q} cancels to noise
 * there; distances from differences do not.
 */
class EmbeddingSearchTest {
    static final int L = 4;
    static final int V = 5;
    static final int D = 16;

    /** Token 1 is token 0 moved by {@code tiny} in one coordinate, at every position; norms about {@code big}. */
    static float[][][] table(float big, float tiny, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][][] t = new float[L][V][D];
        for (int p = 0; p < L; p++) {
            for (int a = 0; a < V; a++) {
                t[p][a][0] = big;  // a large norm shared by every token; the tokens differ in small coordinates
                for (int i = 1; i < D; i++) {
                    t[p][a][i] = (float) rnd.nextGaussian();
                }
            }
            t[p][1] = t[p][0].clone();
            t[p][1][3] += tiny;
        }
        return t;
    }

    static double[] reference(float[][][] t, byte[] x, byte[] q, Metric m) {
        double dot = 0, xx = 0, qq = 0, d2 = 0;
        for (int p = 0; p < L; p++) {
            for (int i = 0; i < D; i++) {
                double a = t[p][x[p]][i];
                double b = t[p][q[p]][i];
                dot += a * b;
                xx += a * a;
                qq += b * b;
                d2 += (a - b) * (a - b);
            }
        }
        return new double[] {m == Metric.COSINE ? Math.clamp(dot / (Math.sqrt(xx) * Math.sqrt(qq)), -1, 1) : Math.sqrt(d2)};
    }

    @Test
    void l2OfNearDuplicatesEqualsTheReference() {
        float big = 1e7f;
        float tiny = 1e-3f;  // distances of 1e-3 against norms of 2e7: the expanded form loses them in double rounding
        float[][][] t = table(big, tiny, 1);
        EmbeddingSearch es = new EmbeddingSearch(t);
        // every string of tokens 0..V-1, L positions
        int rows = (int) Math.pow(V, L);
        byte[][] strings = new byte[rows][L];
        for (int r = 0; r < rows; r++) {
            for (int p = 0, v = r; p < L; p++, v /= V) {
                strings[r][p] = (byte) (v % V);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) rows * L);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(strings[r], 0, seg, ValueLayout.JAVA_BYTE, (long) r * L, L);
            }
            byte[] q = {0, 0, 0, 0};
            for (Metric m : Metric.values()) {
                int k = 16;  // the 16 strings of tokens 0 and 1 only, then the rest
                SearchResult got = es.search(seg, rows, new byte[][] {q}, k, m);
                Integer[] order = IntStream.range(0, rows).boxed().toArray(Integer[]::new);
                double[] ref = new double[rows];
                for (int r = 0; r < rows; r++) {
                    ref[r] = (float) reference(t, strings[r], q, m)[0];
                }
                Comparator<Integer> byScore = m == Metric.COSINE
                        ? Comparator.comparingDouble((Integer r) -> -ref[r]) : Comparator.comparingDouble((Integer r) -> ref[r]);
                Arrays.sort(order, byScore.thenComparingInt(r -> r));
                int[] want = Arrays.stream(order).limit(k).mapToInt(Integer::intValue).toArray();
                assertArrayEquals(want, got.rows()[0], m + ": rows as the float64 reference ranks them");
                for (int i = 0; i < k; i++) {
                    assertEquals(ref[want[i]], got.scores()[0][i], Math.abs(ref[want[i]]) * 1e-6, m + " place " + i);
                }
                if (m == Metric.L2) {
                    assertEquals(0f, got.scores()[0][0], "the query's own string is at exactly 0");
                    assertEquals(tiny, got.scores()[0][1], tiny * 1e-3, "one position off by tiny");
                }
            }
        }
    }
}
