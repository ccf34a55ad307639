package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.ShardCodes;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.store.RowCodes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Issue 16: the compressed scan's answer is the float32 scan's, bit for bit (rows, order, scores),
 * on adversarial data: outlier dimensions, near-duplicates a few ulps apart, exact ties and
 * duplicated rows, zero rows and zero queries, huge (1e19) and tiny (1e-30, 1e-21: subnormal
 * squares) magnitudes and mixes of them, k up to the row count; cosine and L2; one or several
 * shards, with and without stored norms; 1 to 9 queries (single and grouped kernels, padded
 * groups); dimensions with and without a vector tail; 1 and 3 threads, small chunks; the Java
 * kernels and (where it loads) the native one ({@link NativeCodes}).
 */
class CodeScanPropertyTest {
    @Property(tries = 150)
    void theCompressedScanAnswersExactlyAsTheFloat32Scan(@ForAll long seed, @ForAll @IntRange(min = 1, max = 200) int rows,
            @ForAll @IntRange(min = 1, max = 9) int nq, @ForAll @IntRange(min = 0, max = 9) int kind,
            @ForAll boolean cosine) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Metric metric = cosine ? Metric.COSINE : Metric.L2;
        int[] dims = {1, 3, 8, 16, 24, 37, 64, 131};
        int dim = dims[rnd.nextInt(dims.length)];
        float[][] data = data(rnd, rows, dim, kind);
        float[][] queries = new float[nq][];
        for (int q = 0; q < nq; q++) {
            int pick = rnd.nextInt(4);
            queries[q] = pick == 0 ? data[rnd.nextInt(rows)].clone()
                    : pick == 1 ? near(rnd, data[rnd.nextInt(rows)])
                    : pick == 2 && rnd.nextInt(4) == 0 ? new float[dim]
                    : data(rnd, 1, dim, kind)[0];
        }
        int k = rnd.nextInt(4) == 0 ? rows : 1 + rnd.nextInt(Math.min(rows, 12));
        try (Arena arena = Arena.ofShared()) {
            int[] sizes = rnd.nextBoolean() ? new int[] {rows} : new int[] {rows / 3, 0, rows - rows / 3};
            VectorSet set = withCodes(arena, TestVectors.shards(arena, data, sizes, rnd.nextBoolean()));
            for (int run = 0; run < 4; run++) {
                int threads = run < 2 ? 1 : 3;
                boolean nativeKernel = run % 2 == 1;  // the native kernel where it loads, and the Java kernels
                try (CpuSearchBackend b = new CpuSearchBackend(threads, 1 + rnd.nextInt(64), nativeKernel)) {
                    SearchResult want = b.search(set, queries, k, metric, ScanMode.FLOAT32);
                    SearchResult got = b.search(set, queries, k, metric, ScanMode.CODES);
                    assertEquals("float32", want.scan());
                    assertNull(want.rescored());
                    assertEquals("codes", got.scan());
                    for (int q = 0; q < nq; q++) {
                        String what = metric + " kind " + kind + " dim " + dim + " rows " + rows + " k " + k + " threads "
                                + threads + (nativeKernel ? " native" : " java") + " query " + q;
                        assertArrayEquals(want.rows()[q], got.rows()[q], what);
                        assertArrayEquals(want.scores()[q], got.scores()[q], what);
                        assertTrue(got.rescored()[q] >= k && got.rescored()[q] <= rows, what + " rescored "
                                + got.rescored()[q]);
                    }
                }
            }
        }
    }

    /**
     * Pass 2's cut by float32 kernel keys ({@link CodeScan#cut}) never drops a row of the canonical
     * top-k: on the adversarial kinds, with every row a survivor (the worst case), or a random
     * superset of the canonical top-k, for k from 1 to all rows; and the answer from the cut set
     * equals the answer from all rows, bit for bit.
     */
    @Property(tries = 120)
    void theCutKeepsTheCanonicalTopK(@ForAll long seed, @ForAll @IntRange(min = 257, max = 1500) int rows,
            @ForAll @IntRange(min = 0, max = 9) int kind, @ForAll boolean cosine) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Metric metric = cosine ? Metric.COSINE : Metric.L2;
        int dim = new int[] {1, 7, 16, 37, 96}[rnd.nextInt(5)];
        float[][] data = data(rnd, rows, dim, kind);
        float[] query = rnd.nextInt(3) == 0 ? near(rnd, data[rnd.nextInt(rows)]) : data(rnd, 1, dim, kind)[0];
        int k = rnd.nextInt(5) == 0 ? rows : 1 + rnd.nextInt(Math.min(rows, 20));
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {rows / 2, 0, rows - rows / 2}, true);
            int[] all = new int[rows];
            for (int r = 0; r < rows; r++) {
                all[r] = r;
            }
            int[] wantRows = new int[k];
            float[] wantScores = new float[k];
            CanonicalScores.topK(set, query, 0, metric, k, all, wantRows, wantScores);
            int[] candidates = all;
            if (rnd.nextBoolean()) {  // the top-k and some others, shuffled
                java.util.Set<Integer> pick = new java.util.LinkedHashSet<>();
                for (int r : wantRows) {
                    pick.add(r);
                }
                for (int r = 0; r < rows; r++) {
                    if (rnd.nextInt(3) == 0) {
                        pick.add(r);
                    }
                }
                List<Integer> shuffled = new ArrayList<>(pick);
                java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
                candidates = shuffled.stream().mapToInt(Integer::intValue).toArray();
            }
            MemorySegment[] norms = new MemorySegment[set.shards().size()];
            for (int i = 0; i < norms.length; i++) {
                norms[i] = set.shards().get(i).norms();
            }
            float[] prepared = cosine ? CpuSearchBackend.prepareQueries(new float[][] {query}, metric)[0] : query;
            int[] kept = CodeScan.cut(set.shards(), norms, prepared, metric, dim, k, candidates.clone());
            java.util.Set<Integer> keptSet = new java.util.HashSet<>();
            for (int r : kept) {
                keptSet.add(r);
            }
            String what = metric + " kind " + kind + " dim " + dim + " rows " + rows + " k " + k + " candidates "
                    + candidates.length + " kept " + kept.length;
            for (int r : wantRows) {
                assertTrue(keptSet.contains(r), what + ": row " + r + " of the canonical top-k was cut");
            }
            int[] gotRows = new int[k];
            float[] gotScores = new float[k];
            CanonicalScores.topK(set, query, 0, metric, k, kept, gotRows, gotScores);
            assertArrayEquals(wantRows, gotRows, what);
            assertArrayEquals(wantScores, gotScores, what);
        }
    }

    /** Many rows inside the codes' bounds (near-duplicates of one row): pass 2 cuts them and still answers exactly. */
    @Test
    void manySurvivorsAreCutAndTheAnswerStaysExact() {
        SplittableRandom rnd = new SplittableRandom(11);
        int rows = 5000;
        int dim = 64;
        float[] base = new float[dim];
        for (int d = 0; d < dim; d++) {
            base[d] = (float) rnd.nextGaussian();
        }
        float[][] data = new float[rows][];
        for (int r = 0; r < rows; r++) {
            data[r] = base.clone();
            for (int d = 0; d < dim; d++) {
                data[r][d] += (float) (rnd.nextGaussian() * 0.03);  // cosines 1 - 5e-4: inside the codes' error, not Slack's
            }
        }
        float[][] queries = {base.clone(), data[17].clone()};
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = withCodes(arena, TestVectors.shards(arena, data, new int[] {2000, 3000}, true));
            int[] all = new int[rows];
            for (int r = 0; r < rows; r++) {
                all[r] = r;
            }
            MemorySegment[] norms = {set.shards().get(0).norms(), set.shards().get(1).norms()};
            float[] prepared = CpuSearchBackend.prepareQueries(new float[][] {data[17]}, Metric.COSINE)[0];
            int kept = CodeScan.cut(set.shards(), norms, prepared, Metric.COSINE, dim, 10, all).length;
            assertTrue(kept >= 10 && kept < rows / 10, "the cut kept " + kept + " of " + rows);
            for (boolean nativeKernel : new boolean[] {false, true}) {
                try (CpuSearchBackend b = new CpuSearchBackend(2, 512, nativeKernel)) {
                    for (Metric m : Metric.values()) {
                        SearchResult want = b.search(set, queries, 10, m, ScanMode.FLOAT32);
                        SearchResult got = b.search(set, queries, 10, m, ScanMode.CODES);
                        for (int q = 0; q < queries.length; q++) {
                            assertArrayEquals(want.rows()[q], got.rows()[q], m + " query " + q);
                            assertArrayEquals(want.scores()[q], got.scores()[q], m + " query " + q);
                            assertTrue(got.rescored()[q] > CodeScan.CUT_MIN, m + " the bounds should leave many rows: "
                                    + got.rescored()[q]);
                        }
                    }
                }
            }
        }
    }

    /**
     * A query the native kernel's int16 rounding misleads, with exactly coded rows (E = 0) so that
     * only the rounding term keeps the bound honest (the review's construction): q_0 = 1, a values
     * of +-1/t (exact at the kernel's scale t), b values of +-0.5/t (ties, which round to 0: every
     * one is off by 0.5/t); row 0 agrees with the query where it rounds away and disagrees where it
     * is exact, row 1 the reverse. The rounded query prefers row 1, the exact one row 0. Dimensions
     * of 8,001 bring the kernel's scale down to 2^11, where dropping the rounding term from
     * {@link CodeBounds#integerGrowth} loses row 0.
     */
    @Test
    void aQueryTheInt16RoundingMisleadsStillGetsTheExactAnswer() {
        for (int[] ab : new int[][] {{20, 60}, {200, 600}, {2000, 6000}}) {
            int a = ab[0];
            int b = ab[1];
            int dim = 1 + a + b;
            double limit = Math.min(Short.MAX_VALUE, Math.floor((double) Integer.MAX_VALUE / (128.0 * NativeCodes.stride(dim))));
            float t = (float) Math.scalb(1.0, Math.getExponent(limit));
            SplittableRandom rnd = new SplittableRandom(a);
            float[] q = new float[dim];
            float[][] data = new float[6][dim];
            q[0] = 1;
            data[0][0] = 127;
            data[1][0] = 127;
            for (int d = 1; d < dim; d++) {
                float sign = rnd.nextBoolean() ? 1 : -1;
                boolean exact = d <= a;
                q[d] = sign * (exact ? 1 : 0.5f) / t;
                data[0][d] = exact ? -sign : sign;  // the true best
                data[1][d] = exact ? sign : -sign;  // the rounded query's best
            }
            for (int r = 2; r < data.length; r++) {
                for (int d = 0; d < dim; d++) {
                    data[r][d] = rnd.nextInt(-100, 101);
                }
            }
            try (Arena arena = Arena.ofShared()) {
                VectorSet set = withCodes(arena, TestVectors.shards(arena, data, new int[] {data.length}, true));
                for (boolean nativeKernel : new boolean[] {false, true}) {
                    try (CpuSearchBackend bk = new CpuSearchBackend(1, 64, nativeKernel)) {
                        for (Metric m : Metric.values()) {
                            SearchResult want = bk.search(set, new float[][] {q}, 1, m, ScanMode.FLOAT32);
                            SearchResult got = bk.search(set, new float[][] {q}, 1, m, ScanMode.CODES);
                            String what = m + " a " + a + " b " + b + (nativeKernel ? " native" : " java");
                            assertEquals(0, want.rows()[0][0], what + ": the construction");
                            assertArrayEquals(want.rows()[0], got.rows()[0], what);
                            assertArrayEquals(want.scores()[0], got.scores()[0], what);
                        }
                    }
                }
            }
        }
    }

    /** On plain gaussian rows the bound excludes most rows: the scan re-scores few (the bound is not vacuous). */
    @Test
    void theBoundExcludesMostRowsOfOrdinaryData() {
        float[][] data = TestVectors.gaussian(4000, 96, 5);
        float[][] queries = TestVectors.queries(data, 6, 6);
        try (Arena arena = Arena.ofShared(); CpuSearchBackend b = new CpuSearchBackend(2)) {
            VectorSet set = withCodes(arena, TestVectors.shards(arena, data, new int[] {1500, 2500}, true));
            for (Metric m : Metric.values()) {
                SearchResult r = b.search(set, queries, 10, m, ScanMode.CODES);
                SearchResult f = b.search(set, queries, 10, m, ScanMode.FLOAT32);
                for (int q = 0; q < queries.length; q++) {
                    assertArrayEquals(f.rows()[q], r.rows()[q]);
                    assertArrayEquals(f.scores()[q], r.scores()[q]);
                    assertTrue(r.rescored()[q] < 400, m + " query " + q + " rescored " + r.rescored()[q]);
                }
            }
        }
    }

    @Test
    void autoTakesTheCodesForFewQueriesAndTheFloatsForMany() {
        float[][] data = TestVectors.gaussian(300, 16, 1);
        try (Arena arena = Arena.ofShared(); CpuSearchBackend b = new CpuSearchBackend(2)) {
            VectorSet plain = TestVectors.oneShard(arena, data);
            VectorSet coded = withCodes(arena, plain);
            float[][] few = TestVectors.queries(data, 2, 2);
            float[][] many = TestVectors.queries(data, b.autoCodesMaxQueries(16) + 1, 3);
            assertEquals("codes", b.search(coded, few, 5, Metric.COSINE).scan());
            assertEquals("codes", b.search(coded, few, 5, Metric.COSINE, ScanMode.AUTO).scan());
            assertEquals("float32", b.search(coded, many, 5, Metric.COSINE, ScanMode.AUTO).scan());
            assertEquals("codes", b.search(coded, many, 5, Metric.L2, ScanMode.CODES).scan());
            assertEquals("float32", b.search(plain, few, 5, Metric.COSINE, ScanMode.AUTO).scan());
            try (CpuSearchBackend java = new CpuSearchBackend(2, CpuSearchBackend.DEFAULT_CHUNK_ROWS, false)) {
                assertEquals(CpuSearchBackend.AUTO_CODES_MAX_QUERIES, java.autoCodesMaxQueries(16));
            }
            assertEquals(NativeCodes.available() ? CpuSearchBackend.AUTO_CODES_MAX_QUERIES_NATIVE
                    : CpuSearchBackend.AUTO_CODES_MAX_QUERIES, b.autoCodesMaxQueries(16));
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> b.search(plain, few, 5, Metric.COSINE, ScanMode.CODES));
            assertTrue(e.getMessage().contains("blocksim index"), e.getMessage());
        }
    }

    /** {@code set} with each shard's {@link RowCodes}, as a store holds them. */
    static VectorSet withCodes(Arena arena, VectorSet set) {
        List<VectorShard> out = new ArrayList<>();
        for (VectorShard s : set.shards()) {
            MemorySegment c = arena.allocate(Math.max(1, (long) s.rows() * set.dim()), 64);
            MemorySegment sc = arena.allocate(Math.max(1, (long) s.rows() * 2 * Float.BYTES), 64);
            RowCodes.encode(s.vectors(), s.rows(), set.dim(), c, sc);
            out.add(new VectorShard(s.vectors(), s.norms(), s.firstRow(), s.rows(), new ShardCodes(c, sc)));
        }
        return new VectorSet(set.dim(), out);
    }

    private static float[] near(SplittableRandom rnd, float[] v) {
        float[] out = v.clone();
        for (int d = 0; d < out.length; d++) {
            out[d] += Math.ulp(out[d]) * rnd.nextInt(-3, 4);
        }
        return out;
    }

    /**
     * Kinds: 0 gaussian; 1 x 1e19; 2 x 1e-30; 3 small integers (ties) with zero rows; 4 duplicated
     * rows; 5 a mix of 1e19, 1 and 1e-30 rows; 6 near-duplicates an ulp or two apart; 7 x 1e-21;
     * 8 one outlier dimension 1e4 times the others; 9 rows that differ only in their outlier's sign
     * or in one small value (near ties that the codes cannot tell apart).
     */
    static float[][] data(SplittableRandom rnd, int rows, int dim, int kind) {
        float[][] out = new float[rows][dim];
        int outlier = rnd.nextInt(dim);
        for (int r = 0; r < rows; r++) {
            if ((kind == 6 || kind == 9) && r >= 3) {
                out[r] = out[rnd.nextInt(3)].clone();
                for (int n = rnd.nextInt(4); n > 0; n--) {
                    int d = rnd.nextInt(dim);
                    out[r][d] = kind == 9 && d == outlier ? -out[r][d]
                            : rnd.nextBoolean() ? Math.nextUp(out[r][d]) : Math.nextDown(out[r][d]);
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
            if (kind == 8 || kind == 9) {
                out[r][outlier] *= 1e4f;
            }
        }
        if (rows > 0 && rnd.nextInt(6) == 0) {
            Arrays.fill(out[rnd.nextInt(rows)], 0f);  // a zero row in any kind
        }
        return out;
    }
}
