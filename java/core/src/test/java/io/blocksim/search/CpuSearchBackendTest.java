package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CpuSearchBackendTest {
    /** Three threads and small chunks: many workers' candidates are merged even on small data. */
    private static CpuSearchBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuSearchBackend(3, 97);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static Stream<Arguments> queryCounts() {
        return Stream.of(1, 2, 3, 5, 8, 16, 17, 64).flatMap(q -> Stream.of(Metric.COSINE, Metric.L2).map(m -> Arguments.of(q, m)));
    }

    /** Uneven shards, rows a multiple of no tile, chunk or shard size; k = 1 and a middling k. */
    @ParameterizedTest(name = "Q={0} {1}")
    @MethodSource("queryCounts")
    void matchesReferenceOverUnevenShards(int nq, Metric metric) {
        int dim = 384;
        float[][] data = TestVectors.gaussian(2083, dim, 11 + nq);
        float[][] queries = TestVectors.queries(data, nq, 7 + nq);
        int[] sizes = {1000, 1, 37, 0, 1045};
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, sizes, true);
            for (int k : new int[] {1, 10, 129}) {
                Reference ref = Reference.search(data, queries, k + 1, metric);
                ref.assertMatches(backend.search(set, queries, k, metric), k, metric, "k=" + k);
            }
        }
    }

    /**
     * The L2 gemm path bounds distances from |q|^2 + |x|^2 - 2 q.x before rescoring exactly: on data
     * far from the origin (distances a millionth of the norms) the bound must let every true neighbor
     * through, and on tiny values (products near the subnormal range) too.
     */
    @ParameterizedTest(name = "offset={0} scale={1}")
    @MethodSource("awkwardScales")
    void l2GemmBoundHoldsFarFromTheOriginAndOnTinyValues(float offset, float scale) {
        int dim = 64;
        float[][] data = TestVectors.gaussian(331, dim, 5);
        float[][] queries = TestVectors.queries(data, 20, 6);
        for (float[][] m : new float[][][] {data, queries}) {
            for (float[] row : m) {
                for (int d = 0; d < dim; d++) {
                    row[d] = offset + scale * row[d];
                }
            }
        }
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {200, 131}, true);
            for (int k : new int[] {1, 10, data.length}) {
                Reference ref = Reference.search(data, queries, Math.min(k + 1, data.length), Metric.L2);
                ref.assertMatches(backend.search(set, queries, k, Metric.L2), k, Metric.L2, "k=" + k);
            }
        }
    }

    static Stream<Arguments> awkwardScales() {
        return Stream.of(Arguments.of(1000f, 1f), Arguments.of(0f, 1e-19f), Arguments.of(-3e4f, 0.5f));
    }

    /** k = rows: the whole ordering, on dims with a partial last vector (and below one vector). */
    @ParameterizedTest(name = "dim={0}")
    @MethodSource("dims")
    void fullOrderingOnOddDims(int dim) {
        float[][] data = TestVectors.gaussian(301, dim, dim);
        for (Metric metric : Metric.values()) {
            for (int nq : new int[] {3, 17}) {
                float[][] queries = TestVectors.queries(data, nq, dim * 31L + nq);
                try (Arena arena = Arena.ofShared()) {
                    VectorSet set = TestVectors.shards(arena, data, new int[] {150, 151}, true);
                    Reference ref = Reference.search(data, queries, data.length, metric);
                    ref.assertMatches(backend.search(set, queries, data.length, metric), data.length, metric,
                            metric + " dim=" + dim + " Q=" + nq);
                }
            }
        }
    }

    static Stream<Integer> dims() {
        return Stream.of(1, 5, 16, 37, 100);
    }

    /** Copies of one row in several shards tie exactly: lower row ids first, on both kernel shapes. */
    @Test
    void duplicatedRowsTieToTheLowerRow() {
        int dim = 384;
        float[][] data = TestVectors.gaussian(1500, dim, 3);
        int[] copies = {5, 499, 500, 1001, 1499};
        int[] copies2 = {20, 21, 777};
        for (int r : copies) {
            data[r] = data[copies[0]].clone();
        }
        for (int r : copies2) {
            data[r] = data[copies2[0]].clone();
        }
        float[][] queries = new float[20][];
        for (int q = 0; q < queries.length; q++) {
            int src = q % 2 == 0 ? copies[0] : copies2[0];
            queries[q] = data[src].clone();
            queries[q][q] += 0.25f;  // near, not equal
        }
        queries[19] = data[copies[0]].clone();  // exactly equal: L2 distance 0
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {500, 500, 500}, true);
            for (Metric metric : Metric.values()) {
                for (int nq : new int[] {2, 20}) {
                    float[][] qs = Arrays.copyOfRange(queries, queries.length - nq, queries.length);
                    Reference ref = Reference.search(data, qs, 9, metric);
                    SearchResult got = backend.search(set, qs, 8, metric);
                    ref.assertMatches(got, 8, metric, metric + " Q=" + nq);
                    for (int q = 0; q < nq; q++) {
                        int src = queries.length - nq + q;
                        int[] want = src % 2 == 0 || src == 19 ? copies : copies2;
                        assertArrayEquals(want, Arrays.copyOf(got.rows()[q], want.length), metric + " query " + q);
                    }
                }
            }
            float[][] exact = {data[copies[0]].clone()};
            SearchResult l2 = backend.search(set, exact, 5, Metric.L2);
            assertArrayEquals(copies, l2.rows()[0]);
            assertArrayEquals(new float[5], l2.scores()[0]);
        }
    }

    /**
     * Copies tying at the k-th place, within one chunk and across workers, on every narrow group
     * size: a key equal to the k-th best reaches the heap, which keeps the lower rows whatever order
     * the rows were scored in.
     */
    @Test
    void tiesAtTheKthPlaceGoToTheLowerRow() {
        int dim = 384;
        float[][] data = TestVectors.gaussian(1000, dim, 9);
        int[] copies = {10, 20, 50, 51, 52, 600};  // chunks are 97 rows: 600 lies in another
        for (int r : copies) {
            data[r] = data[copies[0]].clone();
        }
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {1000}, true);
            for (Metric metric : Metric.values()) {
                for (int nq : new int[] {1, 2, 5, 8}) {
                    float[][] qs = new float[nq][];
                    for (int q = 0; q < nq; q++) {
                        qs[q] = data[copies[0]].clone();
                        qs[q][q] += 0.01f * q;
                    }
                    for (int k : new int[] {1, 3, 5}) {
                        SearchResult got = backend.search(set, qs, k, metric);
                        for (int q = 0; q < nq; q++) {
                            assertArrayEquals(Arrays.copyOf(copies, k), got.rows()[q], metric + " Q=" + nq + " k=" + k);
                        }
                    }
                }
            }
        }
    }

    /** Zero rows score exactly 0 under cosine (norm clamped at 1e-8) and |q| under L2. */
    @Test
    void zeroVectors() {
        int dim = 40;
        float[][] data = TestVectors.gaussian(230, dim, 5);
        for (float[] row : data) {
            for (int d = 0; d < dim; d++) {
                row[d] = Math.abs(row[d]) + 0.1f;  // every other row has a clearly positive cosine
            }
        }
        int[] zeros = {0, 7, 100, 229};
        for (int r : zeros) {
            data[r] = new float[dim];
        }
        float[][] queries = TestVectors.queries(data, 17, 9);
        for (float[] q : queries) {
            for (int d = 0; d < dim; d++) {
                q[d] = Math.abs(q[d]);
            }
        }
        queries[16] = new float[dim];  // a zero query: every cosine is 0, so rows come in order
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {113, 117}, true);
            for (int nq : new int[] {1, 3, 17}) {
                float[][] qs = Arrays.copyOfRange(queries, queries.length - nq, queries.length);
                for (Metric metric : Metric.values()) {
                    Reference ref = Reference.search(data, qs, data.length, metric);
                    SearchResult got = backend.search(set, qs, data.length, metric);
                    ref.assertMatches(got, data.length, metric, metric + " Q=" + nq);
                    if (metric == Metric.COSINE && nq == 3) {
                        // for a non-zero query, the zero rows are the last four, in row order, with score 0
                        int n = data.length;
                        assertArrayEquals(zeros, Arrays.copyOfRange(got.rows()[0], n - 4, n));
                        assertArrayEquals(new float[4], Arrays.copyOfRange(got.scores()[0], n - 4, n));
                    }
                }
            }
            SearchResult zeroQuery = backend.search(set, new float[][] {new float[dim]}, 10, Metric.COSINE);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, zeroQuery.rows()[0]);
            assertArrayEquals(new float[10], zeroQuery.scores()[0]);
        }
    }

    /** Norms missing from the shards are computed by the backend with the same result. */
    @Test
    void computesMissingNorms() {
        float[][] data = TestVectors.gaussian(700, 64, 8);
        float[][] queries = TestVectors.queries(data, 5, 1);
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {300, 400}, false);
            Reference ref = Reference.search(data, queries, 21, Metric.COSINE);
            ref.assertMatches(backend.search(set, queries, 20, Metric.COSINE), 20, Metric.COSINE, "no norms");
            ref.assertMatches(backend.search(set, queries, 20, Metric.COSINE), 20, Metric.COSINE, "again");
        }
    }

    /** A confined arena's segments can only be read by their owner: the search stays on the caller's thread. */
    @Test
    void confinedSegmentsAreSearchedOnTheCallingThread() {
        float[][] data = TestVectors.gaussian(1000, 48, 4);
        float[][] queries = TestVectors.queries(data, 17, 2);
        try (Arena arena = Arena.ofConfined()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {999, 1}, true);
            for (Metric metric : Metric.values()) {
                Reference ref = Reference.search(data, queries, 11, metric);
                ref.assertMatches(backend.search(set, queries, 10, metric), 10, metric, "confined " + metric);
            }
        }
    }

    /** One thread and the default chunking give the same answer as many threads and small chunks. */
    @Test
    void threadCountDoesNotChangeTheAnswer() {
        float[][] data = TestVectors.gaussian(5000, 384, 21);
        float[][] queries = TestVectors.queries(data, 64, 22);
        try (Arena arena = Arena.ofShared(); CpuSearchBackend one = new CpuSearchBackend(1);
                CpuSearchBackend many = new CpuSearchBackend(4, 50)) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {2500, 2500}, true);
            for (Metric metric : Metric.values()) {
                for (int nq : new int[] {8, 64}) {
                    float[][] qs = Arrays.copyOf(queries, nq);
                    SearchResult a = one.search(set, qs, 50, metric);
                    SearchResult b = many.search(set, qs, 50, metric);
                    for (int q = 0; q < nq; q++) {
                        assertArrayEquals(a.rows()[q], b.rows()[q]);
                        assertArrayEquals(a.scores()[q], b.scores()[q]);
                    }
                }
            }
        }
    }

    /** A damaged row (NaN) never displaces a real score: it ranks last, on both kernel shapes. */
    @Test
    void nanRowsRankLast() {
        float[][] data = TestVectors.gaussian(200, 32, 6);
        data[3][5] = Float.NaN;
        data[150][0] = Float.NaN;
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {100, 100}, true);
            for (Metric metric : Metric.values()) {
                for (int nq : new int[] {1, 17}) {
                    float[][] queries = TestVectors.queries(data, nq, 3);
                    SearchResult got = backend.search(set, queries, 200, metric);
                    for (int q = 0; q < nq; q++) {
                        assertEquals(3, got.rows()[q][198], metric + " Q=" + nq);
                        assertEquals(150, got.rows()[q][199], metric + " Q=" + nq);
                        assertTrue(Float.isNaN(got.scores()[q][199]));
                        assertTrue(Float.isFinite(got.scores()[q][197]));
                    }
                    SearchResult top = backend.search(set, queries, 5, metric);
                    for (int q = 0; q < nq; q++) {
                        assertArrayEquals(Arrays.copyOf(got.rows()[q], 5), top.rows()[q]);
                    }
                }
            }
        }
    }

    @Test
    void rejectsBadInput() {
        float[][] data = TestVectors.gaussian(10, 8, 1);
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.oneShard(arena, data);
            float[][] ok = {data[0].clone()};
            assertUsage(() -> backend.search(set, ok, 0, Metric.COSINE), "k must be between 1 and 10");
            assertUsage(() -> backend.search(set, ok, 11, Metric.L2), "k must be between 1 and 10");
            assertUsage(() -> backend.search(set, new float[0][], 1, Metric.COSINE), "no queries");
            assertUsage(() -> backend.search(set, null, 1, Metric.COSINE), "no queries");
            assertData(() -> backend.search(set, new float[][] {new float[7]}, 1, Metric.COSINE),
                    "query 0 has 7 values but the vectors have dimension 8");
            float[][] nan = {data[1].clone(), data[2].clone()};
            nan[1][3] = Float.NaN;
            assertData(() -> backend.search(set, nan, 1, Metric.L2), "query 1 holds a non-finite value (NaN) at position 3");
            float[][] inf = {data[1].clone()};
            inf[0][0] = Float.NEGATIVE_INFINITY;
            assertData(() -> backend.search(set, inf, 1, Metric.COSINE), "non-finite value (-Infinity) at position 0");
            VectorSet empty = new VectorSet(8, java.util.List.of());
            assertData(() -> backend.search(empty, ok, 1, Metric.COSINE), "empty");
        }
        assertThrows(InvalidArgumentException.class, () -> new CpuSearchBackend(0));
    }

    private static void assertUsage(Runnable r, String message) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static void assertData(Runnable r, String message) {
        InvalidDataException e = assertThrows(InvalidDataException.class, r::run);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
