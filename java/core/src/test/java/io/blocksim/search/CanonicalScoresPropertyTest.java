package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Issue 14, kind 5: a query's rows and scores do not depend on the batch it is searched in (split
 * at random points), the kernel (narrow 1, 4, 8 queries; gemm above 16), the thread count (1 and 4)
 * or the chunking: each answer is bit-identical to a brute-force top-k of {@link CanonicalScores}
 * over every row. Stores are random, and adversarial: magnitudes of 1e19 (float sums overflow),
 * 1e-30 (float squares underflow), zero rows, duplicated rows, small integers (many exact ties),
 * and k up to the row count.
 */
class CanonicalScoresPropertyTest {
    @Property(tries = 120)
    void answersAreCanonicalWhateverTheBatch(@ForAll long seed, @ForAll @IntRange(min = 1, max = 240) int rows,
            @ForAll @IntRange(min = 1, max = 100) int nq, @ForAll @IntRange(min = 0, max = 7) int kind,
            @ForAll boolean cosine) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Metric metric = cosine ? Metric.COSINE : Metric.L2;
        int[] dims = {1, 3, 8, 24, 37, 64};
        int dim = dims[rnd.nextInt(dims.length)];
        float[][] data = store(rnd, rows, dim, kind);
        float[][] queries = new float[nq][];
        for (int q = 0; q < nq; q++) {
            // half self matches (exact 1.0 for cosine), half new vectors of the same kind
            queries[q] = rnd.nextBoolean() ? data[rnd.nextInt(rows)].clone()
                    : kind == 6 ? near(rnd, data[rnd.nextInt(rows)]) : store(rnd, 1, dim, kind)[0];
        }
        int k = rnd.nextInt(4) == 0 ? rows : 1 + rnd.nextInt(Math.min(rows, 12));
        int[][] wantRows = new int[nq][k];
        float[][] wantScores = new float[nq][k];
        try (Arena arena = Arena.ofShared()) {
            int[] sizes = rnd.nextBoolean() ? new int[] {rows} : new int[] {rows / 3, 0, rows - rows / 3};
            VectorSet set = TestVectors.shards(arena, data, sizes, rnd.nextBoolean());
            for (int q = 0; q < nq; q++) {
                reference(set, queries[q], metric, k, wantRows[q], wantScores[q]);
            }
            for (int threads : new int[] {1, 4}) {
                try (CpuSearchBackend b = new CpuSearchBackend(threads, 1 + rnd.nextInt(64))) {
                    for (int[] batch : batches(rnd, nq)) {
                        float[][] part = Arrays.copyOfRange(queries, batch[0], batch[1]);
                        SearchResult r = b.search(set, part, k, metric);
                        for (int q = batch[0]; q < batch[1]; q++) {
                            String what = metric + " kind " + kind + " dim " + dim + " k " + k + " threads " + threads
                                    + " batch " + batch[0] + ".." + batch[1] + " query " + q;
                            assertArrayEquals(wantRows[q], r.rows()[q - batch[0]], what);
                            assertArrayEquals(wantScores[q], r.scores()[q - batch[0]], what);
                        }
                    }
                }
            }
        }
        if (metric == Metric.COSINE) {
            for (int q = 0; q < nq; q++) {
                for (float s : wantScores[q]) {
                    assertEquals(s, Math.clamp(s, -1f, 1f));
                }
            }
        }
    }

    /** Self matches of nonzero rows score exactly 1.0 in cosine, in any batch. */
    @Property(tries = 40)
    void selfMatchesScoreOne(@ForAll long seed, @ForAll @IntRange(min = 1, max = 100) int nq,
            @ForAll @IntRange(min = 0, max = 4) int kind) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int dim = 1 + rnd.nextInt(48);
        float[][] data = store(rnd, 120, dim, kind);
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend b = new CpuSearchBackend(2, 17)) {
            VectorSet set = TestVectors.oneShard(arena, data);
            float[][] queries = new float[nq][];
            int[] from = new int[nq];
            for (int q = 0; q < nq; q++) {
                from[q] = rnd.nextInt(data.length);
                queries[q] = data[from[q]];
            }
            SearchResult r = b.search(set, queries, 1, Metric.COSINE);
            for (int q = 0; q < nq; q++) {
                if (CanonicalScores.norm(data[from[q]]) >= Metric.NORM_EPS) {
                    assertEquals(1.0f, r.scores()[q][0], "query " + q);
                }
            }
        }
    }

    /** A copy of {@code v} with every value moved by up to 3 ulps. */
    private static float[] near(SplittableRandom rnd, float[] v) {
        float[] out = v.clone();
        for (int d = 0; d < out.length; d++) {
            out[d] += Math.ulp(out[d]) * rnd.nextInt(-3, 4);
        }
        return out;
    }

    /** Random split points: the batches in order, as [from, to) pairs. */
    private static List<int[]> batches(SplittableRandom rnd, int nq) {
        List<int[]> out = new ArrayList<>();
        int at = 0;
        while (at < nq) {
            int n = rnd.nextInt(3) == 0 ? nq - at : 1 + rnd.nextInt(Math.min(nq - at, 40));
            out.add(new int[] {at, at + n});
            at += n;
        }
        return out;
    }

    /** The brute-force canonical top-k over every row. */
    private static void reference(VectorSet set, float[] query, Metric metric, int k, int[] rows, float[] scores) {
        int[] all = new int[set.rows()];
        Arrays.setAll(all, i -> i);
        CanonicalScores.topK(set, query, 0, metric, k, all, rows, scores);
    }

    /**
     * Kinds: 0 gaussian; 1 gaussian x 1e19; 2 gaussian x 1e-30; 3 small integers (ties) with zero
     * rows; 4 duplicated rows; 5 a mix of 1e19, 1 and 1e-30 rows; 6 near ties: copies of a few
     * vectors with a few values moved by an ulp or two, so that the kernels' float rounding is
     * larger than the gaps between scores; 7 gaussian x 1e-21 (float squares are subnormal).
     */
    private static float[][] store(SplittableRandom rnd, int rows, int dim, int kind) {
        float[][] out = new float[rows][dim];
        for (int r = 0; r < rows; r++) {
            if (kind == 6 && r >= 3) {
                out[r] = out[rnd.nextInt(3)].clone();
                for (int n = rnd.nextInt(4); n > 0; n--) {
                    int d = rnd.nextInt(dim);
                    out[r][d] = rnd.nextBoolean() ? Math.nextUp(out[r][d]) : Math.nextDown(out[r][d]);
                }
                continue;
            }
            double scale = switch (kind) {
                case 1 -> 1e19;
                case 2 -> 1e-30;
                case 7 -> 1e-21;
                case 5 -> new double[] {1e19, 1, 1e-30}[rnd.nextInt(3)];
                default -> 1;
            };
            if (kind == 4 && r > 0 && rnd.nextBoolean()) {
                out[r] = out[rnd.nextInt(r)].clone();
                continue;
            }
            if (kind == 3 && rnd.nextInt(5) == 0) {
                continue;  // a zero row
            }
            for (int d = 0; d < dim; d++) {
                out[r][d] = kind == 3 ? rnd.nextInt(-2, 3) : (float) (rnd.nextGaussian() * scale);
            }
        }
        return out;
    }
}
