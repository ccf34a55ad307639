package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.search.CanonicalScores;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.search.Norms;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The host's test of the device's top-m (no GPU): adversarial key lists at the boundary, and the
 * whole protocol against the CPU backend with the kernels' float keys simulated on the host.
 */
class BoundaryCheckTest {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int D = 384;

    /** Ids 0..m-1 (the boundary check reads ids only for missing entries). */
    private static int[] ids(int m) {
        int[] ids = new int[m];
        Arrays.setAll(ids, i -> i);
        return ids;
    }

    /** k keys falling from {@code top} by {@code step}, then m - k keys equal to {@code last}. */
    private static float[] keys(int k, int m, float top, float step, float last) {
        float[] keys = new float[m];
        for (int j = 0; j < k; j++) {
            keys[j] = top - j * step;
        }
        Arrays.fill(keys, k, m, last);
        return keys;
    }

    @Test
    void candidatesAreKPlusMaxOf16AndKCappedAtMaxKAndRows() {
        assertEquals(17, BoundaryCheck.candidates(1, 1_000_000));
        assertEquals(26, BoundaryCheck.candidates(10, 1_000_000));
        assertEquals(32, BoundaryCheck.candidates(16, 1_000_000));
        assertEquals(200, BoundaryCheck.candidates(100, 1_000_000));
        assertEquals(1024, BoundaryCheck.candidates(512, 1_000_000));
        assertEquals(LaunchPlan.MAX_K, BoundaryCheck.candidates(600, 1_000_000));
        assertEquals(LaunchPlan.MAX_K, BoundaryCheck.candidates(LaunchPlan.MAX_K, 1_000_000), "k = 1024: no room");
        assertEquals(12, BoundaryCheck.candidates(10, 12));
        assertEquals(5, BoundaryCheck.candidates(5, 5));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.candidates(0, 10));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.candidates(11, 10));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.candidates(LaunchPlan.MAX_K + 1, 1 << 20));
    }

    @Test
    void theMthKeyMustLieStrictlyBelowTheBound() {
        int k = 10;
        int m = BoundaryCheck.candidates(k, 5000);
        float t = 0.5f - (k - 1) * 0.01f;
        float bound = CanonicalScores.lowestKeyInTopK(Metric.COSINE, D, t);
        assertTrue(bound < t);
        assertTrue(BoundaryCheck.certain(keys(k, m, 0.5f, 0.01f, Math.nextDown(bound)), ids(m), k, 5000, Metric.COSINE, D));
        assertFalse(BoundaryCheck.certain(keys(k, m, 0.5f, 0.01f, bound), ids(m), k, 5000, Metric.COSINE, D),
                "a row left out may have the m-th key, and a key equal to the bound may be in the top-k");
        assertFalse(BoundaryCheck.certain(keys(k, m, 0.5f, 0.01f, t), ids(m), k, 5000, Metric.COSINE, D), "ties with the k-th");
    }

    @Test
    void everyRowTiedFallsBackUnlessEveryRowWasReturned() {
        // a zero cosine query, or exact duplicates: every key equal
        for (int k : new int[] {1, 10, 300}) {
            int m = BoundaryCheck.candidates(k, 5000);
            float[] flat = new float[m];
            assertFalse(BoundaryCheck.certain(flat, ids(m), k, 5000, Metric.COSINE, D));
            Arrays.fill(flat, 0.875f);
            assertFalse(BoundaryCheck.certain(flat, ids(m), k, 5000, Metric.COSINE, D));
            Arrays.fill(flat, -3f);
            assertFalse(BoundaryCheck.certain(flat, ids(m), k, 5000, Metric.L2, D));
            assertTrue(BoundaryCheck.certain(flat, ids(m), k, m, Metric.L2, D), "m == rows: every row is a candidate");
            assertTrue(BoundaryCheck.certain(new float[m], ids(m), k, m, Metric.COSINE, D));
        }
    }

    @Test
    void missingEntriesAndNaNAreNeverCertain() {
        int k = 4;
        int m = BoundaryCheck.candidates(k, 1000);
        float[] keys = keys(k, m, 0.9f, 0.1f, -1f);
        assertTrue(BoundaryCheck.certain(keys, ids(m), k, 1000, Metric.COSINE, D));
        for (int at : new int[] {0, k - 1, k, m - 1}) {
            float[] nan = keys.clone();
            nan[at] = Float.NaN;
            assertFalse(BoundaryCheck.certain(nan, ids(m), k, 1000, Metric.COSINE, D), "NaN at " + at);
            assertFalse(BoundaryCheck.certain(nan, ids(m), k, m, Metric.COSINE, D), "NaN at " + at + ", m == rows");
            int[] missing = ids(m);
            missing[at] = -1;
            assertFalse(BoundaryCheck.certain(keys, missing, k, 1000, Metric.COSINE, D), "id -1 at " + at);
            assertFalse(BoundaryCheck.certain(keys, missing, k, m, Metric.COSINE, D), "id -1 at " + at + ", m == rows");
        }
        float[] allMissing = new float[m];
        Arrays.fill(allMissing, Float.NaN);
        int[] none = new int[m];
        Arrays.fill(none, -1);
        assertFalse(BoundaryCheck.certain(allMissing, none, k, 1000, Metric.L2, D));
    }

    @Test
    void kPast1008CannotBeProvedOnTheDevice() {
        assertTrue(BoundaryCheck.provable(1_008, 1_000_000));
        assertFalse(BoundaryCheck.provable(1_009, 1_000_000));
        assertFalse(BoundaryCheck.provable(1_024, 1_000_000));
        assertTrue(BoundaryCheck.provable(1_024, 1_024));  // every row returned
        assertTrue(BoundaryCheck.provable(1_020, 1_024));  // every row returned (m = rows)
        assertTrue(BoundaryCheck.provable(1, 1));
    }

    /** The compressed scan returns padding (id -1, NaN) when fewer rows survive than it was asked for. */
    @Test
    void aTailOfPaddingMeansEveryCandidateWasReturned() {
        int k = 4;
        int m = BoundaryCheck.candidates(k, 1000);
        for (int n = 0; n <= m; n++) {
            float[] keys = keys(k, m, 0.5f, 0f, 0.5f);  // all tied: certain only through padding
            int[] ids = ids(m);
            for (int j = n; j < m; j++) {
                keys[j] = Float.NaN;
                ids[j] = -1;
            }
            boolean expected = n >= k && n < m;
            assertEquals(expected, BoundaryCheck.certain(keys, ids, k, 1000, Metric.COSINE, D), "padding from " + n);
        }
        // padding must be both: an id -1 with a real key, or a NaN key with a real id, is not padding
        float[] keys = keys(k, m, 0.5f, 0f, 0.5f);
        int[] ids = ids(m);
        ids[m - 1] = -1;
        assertFalse(BoundaryCheck.certain(keys, ids, k, 1000, Metric.COSINE, D));
        keys[m - 1] = Float.NaN;
        ids[m - 1] = m - 1;
        assertFalse(BoundaryCheck.certain(keys, ids, k, 1000, Metric.COSINE, D));
    }

    @Test
    void cosineNearOne() {
        // self matches and near duplicates: keys at and just below 1
        float e2 = (float) (2 * (D + 16.0) * 0x1p-23);
        int k = 3;
        int m = BoundaryCheck.candidates(k, 100_000);
        float[] keys = keys(k, m, 1f, 0f, Math.nextDown(1f - e2));
        assertEquals(1f - e2, CanonicalScores.lowestKeyInTopK(Metric.COSINE, D, 1f));
        assertTrue(BoundaryCheck.certain(keys, ids(m), k, 100_000, Metric.COSINE, D));
        keys[m - 1] = 1f - e2;
        assertFalse(BoundaryCheck.certain(keys, ids(m), k, 100_000, Metric.COSINE, D));
        keys[m - 1] = Math.nextDown(1f);  // one ulp below the k-th: well within the rounding
        assertFalse(BoundaryCheck.certain(keys, ids(m), k, 100_000, Metric.COSINE, D));
        // the kernels' key may round above 1
        float[] over = keys(k, m, Math.nextUp(1f), 0f, 1f - e2);
        assertTrue(BoundaryCheck.certain(over, ids(m), k, 100_000, Metric.COSINE, D));
    }

    @Test
    void l2KeysHugeTinyAndZero() {
        int k = 5;
        int rows = 10_000;
        int m = BoundaryCheck.candidates(k, rows);
        // huge: relative slack (D = 384: 1.43e-4)
        assertTrue(BoundaryCheck.certain(keys(k, m, -1e30f, 0f, -1.001e30f), ids(m), k, rows, Metric.L2, D));
        assertFalse(BoundaryCheck.certain(keys(k, m, -1e30f, 0f, -1.0001e30f), ids(m), k, rows, Metric.L2, D));
        // a k-th key whose relaxed value overflows, or an infinite one, keeps every row: no bound
        assertEquals(Float.NEGATIVE_INFINITY, CanonicalScores.lowestKeyInTopK(Metric.L2, D, -Float.MAX_VALUE));
        assertFalse(BoundaryCheck.certain(keys(k, m, -Float.MAX_VALUE, 0f, Float.NEGATIVE_INFINITY), ids(m), k, rows, Metric.L2, D));
        assertFalse(BoundaryCheck.certain(keys(k, m, Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY), ids(m), k, rows,
                Metric.L2, D));
        assertTrue(BoundaryCheck.certain(keys(k, m, Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY), ids(m), k, m,
                Metric.L2, D), "m == rows");
        // tiny (subnormal): the absolute underflow term (D + 4) 2^-147 = 1552 x 2^-149 dominates
        float tiny = -Float.MIN_VALUE;
        float bound = CanonicalScores.lowestKeyInTopK(Metric.L2, D, tiny);
        assertTrue(bound <= -1552 * Float.MIN_VALUE, "bound " + bound);
        assertFalse(BoundaryCheck.certain(keys(k, m, tiny, 0f, -1000 * Float.MIN_VALUE), ids(m), k, rows, Metric.L2, D));
        assertTrue(BoundaryCheck.certain(keys(k, m, tiny, 0f, Math.nextDown(bound)), ids(m), k, rows, Metric.L2, D));
        // zero: k exact matches (distance 0); a fifth-ulp-away key is still inside the underflow term
        float zeroBound = CanonicalScores.lowestKeyInTopK(Metric.L2, D, 0f);
        assertTrue(zeroBound < 0);
        for (float z : new float[] {0f, -0f}) {
            assertFalse(BoundaryCheck.certain(keys(k, m, z, 0f, z), ids(m), k, rows, Metric.L2, D));
            assertFalse(BoundaryCheck.certain(keys(k, m, z, 0f, -Float.MIN_VALUE), ids(m), k, rows, Metric.L2, D));
            assertFalse(BoundaryCheck.certain(keys(k, m, z, 0f, zeroBound), ids(m), k, rows, Metric.L2, D));
            assertTrue(BoundaryCheck.certain(keys(k, m, z, 0f, Math.nextDown(zeroBound)), ids(m), k, rows, Metric.L2, D));
            assertTrue(BoundaryCheck.certain(keys(k, m, z, 0f, -1e-6f), ids(m), k, rows, Metric.L2, D));
        }
    }

    @Test
    void kEqualToMIsCertainOnlyWhenEveryRowWasReturned() {
        // k = 1024 leaves no extra candidates: the k-th key is the m-th, never below its own bound
        int k = LaunchPlan.MAX_K;
        int m = BoundaryCheck.candidates(k, 50_000);
        assertEquals(k, m);
        float[] keys = new float[m];
        for (int j = 0; j < m; j++) {
            keys[j] = 1f - j * 0.001f;  // gaps far wider than the slack
        }
        assertFalse(BoundaryCheck.certain(keys, ids(m), k, 50_000, Metric.COSINE, D));
        assertTrue(BoundaryCheck.certain(keys, ids(m), k, m, Metric.COSINE, D));
        // k == m below the cap: only when the set has m rows
        assertTrue(BoundaryCheck.certain(new float[] {0.5f, 0.2f}, ids(2), 2, 2, Metric.COSINE, D));
        assertFalse(BoundaryCheck.certain(new float[] {0.5f, 0.2f}, ids(2), 2, 3, Metric.COSINE, D));
    }

    @Test
    void badArgumentsThrow() {
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.certain(new float[3], ids(2), 1, 10, Metric.L2, D));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.certain(new float[3], ids(3), 4, 10, Metric.L2, D));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.certain(new float[3], ids(3), 0, 10, Metric.L2, D));
        assertThrows(IllegalArgumentException.class, () -> BoundaryCheck.certain(new float[3], ids(3), 1, 2, Metric.L2, D));
    }

    /**
     * The whole protocol with the kernels' keys simulated in float (summed in reverse order with
     * fma, another order than the canonical one): whenever the check passes, the canonical top-k
     * of the m candidates is the CPU backend's answer, bit for bit. The data holds a family of
     * near duplicates (ulps apart), small clusters 1e-7 apart, exact duplicates, zero rows and a
     * zero query, so both outcomes occur, the device's own top-k differs from the canonical one
     * for some queries, and the extra candidates settle some of those.
     */
    @Test
    void whenCertainTheCandidatesHoldTheCanonicalTopK() {
        int dim = 64;
        int rows = 1500;
        SplittableRandom rnd = new SplittableRandom(14);
        float[][] data = new float[rows][dim];
        float[] base = new float[dim];
        for (int d = 0; d < dim; d++) {
            base[d] = (float) rnd.nextGaussian();
        }
        for (int r = 0; r < rows; r++) {
            if (r % 3 == 0) {
                data[r] = base.clone();  // near duplicates of base: a few ulps off in a few places
                for (int i = 0; i < 1 + r % 4; i++) {
                    int d = rnd.nextInt(dim);
                    data[r][d] = rnd.nextBoolean() ? Math.nextUp(data[r][d]) : Math.nextDown(data[r][d]);
                }
            } else if (r % 50 == 1) {
                data[r] = data[r - 1].clone();  // exact duplicates
            } else if (r % 97 == 2) {
                data[r] = new float[dim];  // zero rows
            } else {
                for (int d = 0; d < dim; d++) {
                    data[r][d] = (float) rnd.nextGaussian();
                }
            }
        }
        // ten clusters of 4 rows 1e-7 apart, whose order by float key is partly noise: the extra
        // candidates settle these near ties where the device's own top-k gets them wrong
        float[][] centers = new float[10][dim];
        for (int c = 0; c < centers.length; c++) {
            for (int d = 0; d < dim; d++) {
                centers[c][d] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < 4; i++) {
                float[] row = new float[dim];
                for (int d = 0; d < dim; d++) {
                    row[d] = centers[c][d] + (float) (1e-7 * rnd.nextGaussian());
                }
                data[1000 + 4 * c + i] = row;
            }
        }
        float[][] queries = new float[40][];
        for (int q = 0; q < queries.length; q++) {
            queries[q] = new float[dim];
            if (q == 0) {
                continue;  // a zero query
            }
            for (int d = 0; d < dim; d++) {
                queries[q][d] = switch (q % 4) {
                    case 0, 2 -> base[d] + (float) (0.01 * rnd.nextGaussian());
                    case 1 -> centers[q / 4][d] + (float) (0.001 * rnd.nextGaussian());
                    default -> (float) rnd.nextGaussian();
                };
            }
        }
        try (Arena arena = Arena.ofConfined(); CpuSearchBackend cpu = new CpuSearchBackend(1)) {
            MemorySegment v = arena.allocate((long) rows * dim * Float.BYTES, 64);
            for (int r = 0; r < rows; r++) {
                for (int d = 0; d < dim; d++) {
                    v.set(LE, ((long) r * dim + d) * Float.BYTES, data[r][d]);
                }
            }
            MemorySegment norms = Norms.compute(v, rows, dim, arena);
            VectorSet set = new VectorSet(dim, List.of(new VectorShard(v, norms, 0, rows)));
            int certain = 0;
            int uncertain = 0;
            int deviceTopKWrong = 0;
            int fixed = 0;  // certain although the device's own top-k was not the canonical one
            for (Metric metric : Metric.values()) {
                float[] prepared = QueryPrep.prepare(queries, metric);
                for (int k : new int[] {1, 10, 100}) {
                    SearchResult want = cpu.search(set, queries, k, metric, ScanMode.FLOAT32);
                    int m = BoundaryCheck.candidates(k, rows);
                    for (int q = 0; q < queries.length; q++) {
                        float[] qv = Arrays.copyOfRange(prepared, q * dim, q * dim + dim);
                        float[] all = new float[rows];
                        Integer[] order = new Integer[rows];
                        for (int r = 0; r < rows; r++) {
                            all[r] = kernelKey(data[r], norms.get(LE, (long) r * Float.BYTES), qv, metric) + 0f;
                            order[r] = r;
                        }
                        // the kernels' packed order: larger key first, equal keys to the lower row
                        Arrays.sort(order, (a, b) -> all[a] != all[b] ? Float.compare(all[b], all[a]) : Integer.compare(a, b));
                        float[] keys = new float[m];
                        int[] ids = new int[m];
                        for (int j = 0; j < m; j++) {
                            ids[j] = order[j];
                            keys[j] = all[order[j]];
                        }
                        int[] deviceTopK = Arrays.copyOf(ids, k);
                        Arrays.sort(deviceTopK);
                        int[] wantRows = want.rows()[q].clone();
                        Arrays.sort(wantRows);
                        boolean wrong = !Arrays.equals(deviceTopK, wantRows);
                        if (wrong) {
                            deviceTopKWrong++;
                        }
                        if (!BoundaryCheck.certain(keys, ids, k, rows, metric, dim)) {
                            uncertain++;
                            continue;
                        }
                        certain++;
                        if (wrong) {
                            fixed++;
                        }
                        int[] gotRows = new int[k];
                        float[] gotScores = new float[k];
                        QueryPrep.finish(set, queries[q], q, metric, k, ids, gotRows, gotScores);
                        assertArrayEquals(want.rows()[q], gotRows, metric + " k=" + k + " q" + q);
                        assertArrayEquals(want.scores()[q], gotScores, metric + " k=" + k + " q" + q);
                    }
                }
            }
            assertTrue(certain > 0 && uncertain > 0, certain + " certain, " + uncertain + " not");
            assertTrue(deviceTopKWrong > 0, "the float keys' top-k should differ from the canonical one somewhere");
            assertTrue(fixed > 0, "the extra candidates should settle some query whose device top-k was wrong");
        }
    }

    /** The kernels' key in float: cosine x . q' / |x|, L2 -(squared distance); summed in reverse with fma. */
    private static float kernelKey(float[] x, float norm, float[] q, Metric metric) {
        float acc = 0f;
        for (int d = x.length - 1; d >= 0; d--) {
            if (metric == Metric.COSINE) {
                acc = Math.fma(x[d], q[d], acc);
            } else {
                float e = x[d] - q[d];
                acc = Math.fma(e, e, acc);
            }
        }
        return metric == Metric.COSINE ? acc / Math.max(norm, 1e-8f) : -acc;
    }
}
