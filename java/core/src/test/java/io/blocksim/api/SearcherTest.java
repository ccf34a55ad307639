package io.blocksim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.store.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API end to end on an imported store, against a float64 reference. */
class SearcherTest {
    static final int ROWS = 1003;
    static final int DIM = 20;
    static float[][] data;
    static BlocksimStore store;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void makeStore() throws IOException {
        Random rnd = new Random(11);
        data = new float[ROWS][DIM];
        float[] flat = new float[ROWS * DIM];
        for (int r = 0; r < ROWS; r++) {
            for (int d = 0; d < DIM; d++) {
                data[r][d] = r == 17 ? 0f : r == 500 ? data[499][d] : (float) rnd.nextGaussian();
                flat[r * DIM + d] = data[r][d];
            }
        }
        Path vectors = tmp.resolve("v.npy");
        Npy.writeFloats(vectors, flat, ROWS, DIM);
        List<String> labels = new ArrayList<>();
        for (int r = 0; r < ROWS; r++) {
            labels.add("row " + r);
        }
        Path labelFile = tmp.resolve("labels.txt");
        Files.write(labelFile, labels, StandardCharsets.UTF_8);
        BlocksimStore.importVectors(vectors, labelFile, tmp.resolve("store"), "mine");
        store = BlocksimStore.open(tmp.resolve("store"));
    }

    @AfterAll
    static void close() {
        store.close();
    }

    @Test
    void storeDescribesItself() {
        assertTrue(store.imported());
        assertNull(store.modelSha256());
        assertEquals(ROWS, store.stringCount());
        assertEquals(List.of(new StoreEntry("mine", 0, 0, ROWS, DIM)), store.entries());
        assertEquals("row 42", store.string(42));
    }

    @Test
    void answersEqualAFloat64Reference() {
        Random rnd = new Random(5);
        try (Searcher s = Searcher.builder(store).backend("cpu").build()) {
            assertEquals("cpu", s.backendName());
            assertEquals("cpu (requested)", s.backendReason());
            for (int qn : new int[] {1, 5, 40}) {
                for (Metric m : Metric.values()) {
                    for (int k : new int[] {1, 7, ROWS}) {
                        float[][] q = new float[qn][DIM];
                        for (int i = 0; i < qn; i++) {
                            q[i] = i == 0 ? data[rnd.nextInt(ROWS)].clone() : gaussian(rnd);
                        }
                        SearchResponse r = s.search(SearchRequest.builder("mine", 0).vectors(q).k(k).metric(m).build());
                        assertEquals("cpu", r.backend());
                        assertNull(r.note());
                        assertEquals(ROWS, r.candidates());
                        assertEquals(qn, r.queries().size());
                        for (int i = 0; i < qn; i++) {
                            checkAgainstReference(q[i], r.queries().get(i), k, m);
                        }
                    }
                }
            }
        }
    }

    private static float[] gaussian(Random rnd) {
        float[] v = new float[DIM];
        for (int d = 0; d < DIM; d++) {
            v[d] = (float) rnd.nextGaussian() * 3;
        }
        return v;
    }

    private static void checkAgainstReference(float[] q, SearchResponse.QueryHits got, int k, Metric m) {
        double[] score = new double[ROWS];
        double qn = Math.max(norm(q), Metric.NORM_EPS);
        for (int r = 0; r < ROWS; r++) {
            double acc = 0;
            for (int d = 0; d < DIM; d++) {
                acc += m == Metric.COSINE ? (double) data[r][d] * q[d] : ((double) data[r][d] - q[d]) * ((double) data[r][d] - q[d]);
            }
            score[r] = m == Metric.COSINE ? acc / (Math.max(norm(data[r]), Metric.NORM_EPS) * qn) : Math.sqrt(acc);
        }
        Integer[] idx = new Integer[ROWS];
        for (int r = 0; r < ROWS; r++) {
            idx[r] = r;
        }
        Comparator<Integer> byScore = Comparator.comparingDouble(r -> m == Metric.COSINE ? -score[r] : score[r]);
        Arrays.sort(idx, byScore.thenComparingInt(r -> r));
        assertEquals(k, got.hits().size());
        for (int i = 0; i < k; i++) {
            Hit h = got.hits().get(i);
            double want = score[idx[i]];
            double tol = m == Metric.COSINE ? 1e-5 : 1e-5 * Math.max(1, want);
            assertEquals(want, h.score(), tol, "score " + i);
            // rows may differ only where the reference scores are within the tolerance of each other
            if (h.row() != idx[i]) {
                assertEquals(score[idx[i]], score[h.row()], tol, "row " + i + ": " + h.row() + " vs " + idx[i]);
            }
            assertEquals("row " + h.row(), h.label());
        }
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }

    @Test
    void tiesGoToTheLowerRowAndTheZeroRowScoresZero() {
        try (Searcher s = Searcher.builder(store).backend("cpu").build()) {
            SearchResponse r = s.search(SearchRequest.builder("mine", 0).vectors(new float[][] {data[499]}).k(2)
                    .metric(Metric.L2).build());
            assertEquals(499, r.queries().get(0).hits().get(0).row());
            assertEquals(500, r.queries().get(0).hits().get(1).row());
            assertEquals(0f, r.queries().get(0).hits().get(1).score());
            float[] q = data[3].clone();
            SearchResponse c = s.search(SearchRequest.builder("mine", 0).vectors(new float[][] {q}).k(ROWS).build());
            Hit last = c.queries().get(0).hits().stream().filter(h -> h.row() == 17).findFirst().orElseThrow();
            assertEquals(0f, last.score());
        }
    }

    @Test
    void requestsAreCheckedByKind() {
        float[][] ok = {new float[DIM]};
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("", 0).vectors(ok).build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", -1).vectors(ok).build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", 0).vectors(ok).k(0).build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", 0).build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", 0).vectors(ok).prompts("ab").build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", 0).prompts("").build());
        assertThrows(InvalidArgumentException.class,
                () -> SearchRequest.builder("mine", 0).vectors(ok).querySite("other", 1).build());
        assertThrows(InvalidArgumentException.class, () -> SearchRequest.builder("mine", 0).prompts("a").allPositions().build());
        assertThrows(InvalidArgumentException.class,
                () -> SearchRequest.builder("embedding", 0).vectors(ok).allPositions().build());
        assertThrows(InvalidDataException.class,
                () -> SearchRequest.builder("mine", 0).vectors(new float[][] {new float[3], new float[4]}).build());
        float[][] nan = {new float[DIM]};
        nan[0][5] = Float.NaN;
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> SearchRequest.builder("mine", 0).vectors(nan).build());
        assertEquals("query 0 has a non-finite value (NaN) at index 5", e.getMessage());
        // the built request keeps its own copy
        float[][] v = {new float[DIM]};
        SearchRequest r = SearchRequest.builder("mine", 0).vectors(v).build();
        v[0][0] = 9;
        assertEquals(0f, r.vectors()[0][0]);

        try (Searcher s = Searcher.builder(store).backend("cpu").build()) {
            assertThrows(InvalidArgumentException.class, () -> s.search(SearchRequest.builder("mine", 0).vectors(ok)
                    .k(ROWS + 1).build()));
            assertThrows(InvalidDataException.class, () -> s.search(SearchRequest.builder("mine", 0)
                    .vectors(new float[][] {new float[DIM + 1]}).build()));
            assertThrows(InvalidArgumentException.class, () -> s.search(SearchRequest.builder("other", 0).vectors(ok).build()));
            assertThrows(InvalidArgumentException.class, () -> s.search(SearchRequest.builder("mine", 0).prompts("ab").build()));
            InvalidArgumentException noSite = assertThrows(InvalidArgumentException.class,
                    () -> s.search(SearchRequest.builder("mine", 0).position(1).vectors(ok).build()));
            assertFalse(noSite.getMessage().contains("--"), noSite.getMessage());
        }
        assertThrows(InvalidArgumentException.class, () -> Searcher.builder(store).backend("tpu").build());
        assertThrows(InvalidArgumentException.class, () -> Searcher.builder(null));
    }

    @Test
    void aGivenBackendIsUsedRoutedAndNotClosed() {
        AtomicBoolean closed = new AtomicBoolean();
        CpuSearchBackend cpu = new CpuSearchBackend(1);
        SearchBackend mine = new SearchBackend() {
            @Override
            public String name() {
                return "mine";
            }

            @Override
            public boolean supports(int dim, int k, Metric metric) {
                return metric == Metric.L2;
            }

            @Override
            public SearchResult search(VectorSet d, float[][] q, int k, Metric m) {
                return cpu.search(d, q, k, m);
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
        float[][] q = {data[7].clone()};
        try (Searcher s = Searcher.builder(store).backend(mine).build()) {
            assertEquals("mine (given)", s.backendReason());
            SearchResponse l2 = s.search(SearchRequest.builder("mine", 0).vectors(q).metric(Metric.L2).build());
            assertEquals("mine", l2.backend());
            assertNull(l2.note());
            SearchResponse cos = s.search(SearchRequest.builder("mine", 0).vectors(q).build());
            assertEquals("cpu", cos.backend());
            assertTrue(cos.note().startsWith("mine does not run this request"), cos.note());
            assertEquals(7, cos.queries().get(0).hits().get(0).row());
        }
        assertFalse(closed.get(), "a given backend belongs to its caller");
        cpu.close();
    }

    @Test
    void aClosedSearcherRefusesByKind() {
        Searcher s = Searcher.builder(store).backend("cpu").build();
        s.close();
        s.close();
        assertThrows(ClosedException.class, () -> s.search(SearchRequest.builder("mine", 0)
                .vectors(new float[][] {new float[DIM]}).build()));
    }
}
