package io.blocksim.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.TargetExistsException;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.similars.Sample;
import io.blocksim.spi.PromptEncoder;
import io.blocksim.spi.SearchResult;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Npy;
import io.blocksim.store.TestStores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The similar-strings job on a small model store (L = 6, 3,000 strings, 3 shards per entry):
 * against a float64 numpy reference, the same at every batch size and backend thread count,
 * resumed after an interruption byte for byte, and bad input refused before anything is written.
 */
class SimilarStringsTest {
    static final int L = 6;
    static final int N = 3000;
    static final int DIM = 24;
    static final String VOCAB = "\nab c";

    @TempDir
    static Path tmp;
    static Path storeDir;
    static BlocksimStore store;
    static FakeModel model;

    @BeforeAll
    static void build() throws IOException {
        storeDir = TestStores.build(tmp.resolve("store"), L, N, 1000, List.of(
                new EntrySpec("proj_output", 0, L - 1, DIM),
                new EntrySpec("proj_output", 0, 2, DIM),
                new EntrySpec("proj_output", 1, L - 1, DIM),
                new EntrySpec("proj_output", 1, 2, DIM),
                new EntrySpec("ffwd_output", 0, L - 1, DIM),
                new EntrySpec("ffwd_output", 0, 2, DIM),
                new EntrySpec("ffwd_output", 1, L - 1, DIM),
                new EntrySpec("heads_output", 0, 3, DIM)), 5);
        store = BlocksimStore.open(storeDir);
        model = new FakeModel(store.modelSha256());
        float[] flat = new float[L * VOCAB.length() * 8];
        for (int t = 0; t < L; t++) {
            for (int v = 0; v < VOCAB.length(); v++) {
                for (int d = 0; d < 8; d++) {
                    flat[(t * VOCAB.length() + v) * 8 + d] = model.table[t][v][d];
                }
            }
        }
        Npy.writeFloats(tmp.resolve("emb.npy"), flat, L, VOCAB.length(), 8);
    }

    @AfterAll
    static void close() {
        store.close();
    }

    /** A model that knows only its embedding table and a made-up vector per prompt. */
    static final class FakeModel implements PromptEncoder {
        final String sha;
        final float[][][] table = new float[L][VOCAB.length()][8];

        FakeModel(String sha) {
            this.sha = sha;
            Random rnd = new Random(3);
            for (float[][] t : table) {
                for (float[] v : t) {
                    for (int d = 0; d < v.length; d++) {
                        v[d] = (float) rnd.nextGaussian();
                    }
                }
            }
        }

        @Override
        public String modelSha256() {
            return sha;
        }

        @Override
        public int maxPromptLength() {
            return 256;
        }

        @Override
        public String vocabulary() {
            return VOCAB;
        }

        /** The vector of a prompt: a hash of its text, the same for the same text. */
        @Override
        public float[][] lastPositionVectors(List<String> prompts, String site, int block) {
            float[][] out = new float[prompts.size()][DIM];
            for (int i = 0; i < out.length; i++) {
                Random r = new Random((prompts.get(i) + site + block).hashCode());
                for (int d = 0; d < DIM; d++) {
                    out[i][d] = (float) r.nextGaussian();
                }
            }
            return out;
        }

        @Override
        public float[][][] embeddingTable(int length) {
            return table;
        }

        @Override
        public void close() {
        }
    }

    static SimilarStrings.Builder job() {
        return SimilarStrings.builder(store).model(model).backend(new CpuSearchBackend(2))
                .sites("proj_output", "ffwd_output", "embedding").blocks(0);
    }

    static SimilarStrings.Builder job(Metric m) {
        return SimilarStrings.builder(store).model(model).sites("proj_output").blocks(0).positions(-1, 2)
                .sample(300, 9).k(7).metric(m);
    }

    @Test
    void sampleIsTheStatedShuffle() {
        int[] a = Sample.shuffled(5, 100, 42);
        assertArrayEquals(a, Sample.shuffled(5, 100, 42));
        // pinned: SplitMix64 from seed 42, top 31 bits, rejection, Fisher-Yates from the front
        long[] st = {42};
        int[] perm = new int[100];
        for (int i = 0; i < 100; i++) {
            perm[i] = i;
        }
        for (int i = 0; i < 5; i++) {
            long z = (st[0] += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            long r = z >>> 33;
            assertTrue(r < (1L << 31) / (100 - i) * (100 - i), "no rejection for these draws");
            int j = i + (int) (r % (100 - i));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        assertArrayEquals(java.util.Arrays.copyOf(perm, 5), a);
        assertEquals(100, java.util.Arrays.stream(Sample.shuffled(100, 100, 1)).distinct().count());
    }

    @Test
    void everyBatchSizeGivesTheSameAnswer() {
        List<SimilarStrings.Batch> big = new ArrayList<>();
        List<SimilarStrings.Batch> small = new ArrayList<>();
        try (SimilarStrings a = job().positions(-1, 2).sample(100, 1).k(6).queryBatch(100).build();
                SimilarStrings b = job().positions(-1, 2).sample(100, 1).k(6).queryBatch(7)
                        .backend(new CpuSearchBackend(1)).build()) {
            a.run(big::add);
            b.run(small::add);
            assertEquals(5, a.entries().size());  // 2 sites x 1 block x 2 positions + the embedding
        }
        assertEquals(5, big.size());
        for (SimilarStrings.Batch x : big) {
            int at = 0;
            for (SimilarStrings.Batch y : small) {
                if (!y.entry().equals(x.entry())) {
                    continue;
                }
                for (int i = 0; i < y.rows().length; i++, at++) {
                    assertEquals(x.strings()[at], y.strings()[i]);
                    assertArrayEquals(x.rows()[at], y.rows()[i], x.entry() + " string " + x.strings()[at]);
                    assertArrayEquals(x.scores()[at], y.scores()[i]);
                }
            }
            assertEquals(100, at);
        }
    }

    @Test
    void queriesTheStoreLacksComeFromTheModel() {
        // heads_output is stored at position 3 only: the queries are the model's last-position vectors
        List<SimilarStrings.Batch> got = new ArrayList<>();
        try (SimilarStrings j = SimilarStrings.builder(store).model(model).sites("heads_output").blocks(0)
                .positions(3).sample(new int[] {5, 17, 2999}).k(4).metric(Metric.COSINE).build()) {
            j.run(got::add);
        }
        List<String> texts = List.of(store.string(5), store.string(17), store.string(2999));
        try (Searcher s = Searcher.builder(store).backend("cpu").model(model).build()) {
            SearchResponse want = s.search(SearchRequest.builder("heads_output", 0).position(3)
                    .vectors(model.lastPositionVectors(texts, "heads_output", 0)).k(4).metric(Metric.COSINE).build());
            for (int q = 0; q < 3; q++) {
                for (int j = 0; j < 4; j++) {
                    assertEquals(want.queries().get(q).hits().get(j).row(), got.get(0).rows()[q][j]);
                    assertEquals(want.queries().get(q).hits().get(j).score(), got.get(0).scores()[q][j]);
                }
            }
        }
    }

    @Test
    void resultsMatchAFloat64NumpyReference() throws IOException {
        String python = numpy();
        for (Metric m : Metric.values()) {
            Path out = tmp.resolve("ref-" + m.cliName());
            try (SimilarStrings j = job().positions(-1, 2).sample(300, 11).k(8).metric(m).queryBatch(64).build()) {
                SimilarStrings.Summary s = j.writeTo(out, false, null);
                assertEquals(300L * 5, s.queries());
            }
            String script = """
                    import json, sys, numpy as np
                    store, res, emb = sys.argv[1], sys.argv[2], sys.argv[3]
                    sm = json.load(open(store + '/manifest.json')); rm = json.load(open(res + '/manifest.json'))
                    def entry(site, block, pos):
                        e = [e for e in sm['entries'] if e['site'] == site and e['block'] == block and e['position'] == pos][0]
                        return np.concatenate([np.load(store + '/' + s['file'], mmap_mode='r') for s in e['shards']]).astype(np.float64)
                    strings = np.load(store + '/strings.npy', mmap_mode='r')
                    sample = np.load(res + '/sample.npy', mmap_mode='r')
                    L, k, cos = sm['L'], rm['k'], rm['metric'] == 'cosine'
                    bad = 0
                    for e in rm['entries']:
                        assert e['complete']
                        if e['position'] is None:
                            t = np.load(emb).astype(np.float64)
                            X = t[np.arange(L)[None, :], strings.astype(np.int64)].reshape(len(strings), -1)
                            Q = X[sample]
                        else:
                            X = entry(e['site'], e['block'], e['position'])
                            Q = entry(e['site'], e['block'], L - 1)[sample]
                        nx = np.maximum(np.linalg.norm(X, axis=1), 1e-8)
                        def scores(q):
                            if cos:
                                return np.clip((X @ q) / nx / max(np.linalg.norm(q), 1e-8), -1, 1).astype(np.float32)
                            return np.sqrt(((X - q[None, :]) ** 2).sum(1)).astype(np.float32)
                        ids = np.load(res + '/' + e['ids'], mmap_mode='r'); sc = np.load(res + '/' + e['scores'], mmap_mode='r')
                        assert ids.dtype == np.int32 and sc.dtype == np.float32 and ids.shape == (len(sample), k)
                        rows = np.arange(X.shape[0])
                        for i in range(len(sample)):
                            S = scores(Q[i])
                            order = np.lexsort((rows, -S if cos else S))[:k]
                            if not (np.array_equal(order, ids[i]) and np.all(np.abs(S[order] - sc[i]) <= 1e-5)):
                                bad += 1
                                if bad < 5: print('mismatch', e['site'], e['block'], e['position'], i, order, ids[i], S[order], sc[i])
                    print('bad', bad)
                    """;
            String r = python(python, script, storeDir.toString(), out.toString(), tmp.resolve("emb.npy").toString());
            assertTrue(r.contains("bad 0"), m + ": " + r);
        }
    }

    @Test
    void anInterruptedRunResumesToTheSameFiles() throws IOException {
        Path once = tmp.resolve("once");
        Path twice = tmp.resolve("twice");
        try (SimilarStrings j = job(Metric.L2).queryBatch(50).build()) {
            j.writeTo(once, false, null);
        }
        int[] calls = {0};
        try (SimilarStrings j = job(Metric.L2).queryBatch(50).build()) {
            assertThrows(IllegalStateException.class, () -> j.writeTo(twice, false, (done, total) -> {
                if (++calls[0] == 9) {  // mid-way through the second entry
                    throw new IllegalStateException("killed");
                }
            }));
        }
        assertTrue(Files.exists(twice.resolve("proj_output-b0-t2.ids.npy.part")));
        assertFalse(Files.exists(twice.resolve("proj_output-b0-t2.ids.npy")));
        long[] resumedFrom = {-1};
        try (SimilarStrings j = job(Metric.L2).queryBatch(64).build()) {  // another batch size is fine
            SimilarStrings.Summary s = j.writeTo(twice, false, (done, total) -> {
                if (resumedFrom[0] < 0) {
                    resumedFrom[0] = done;
                }
            });
            assertEquals(600 - resumedFrom[0], s.queriesRun());
        }
        assertEquals(300 + 50 * 2, resumedFrom[0]);  // the first entry and two blocks of the second were kept
        assertEquals(files(once), files(twice));
        for (String f : files(once).keySet()) {
            if (!f.equals("manifest.json") && !f.equals(".lock")) {
                assertArrayEquals(Files.readAllBytes(once.resolve(f)), Files.readAllBytes(twice.resolve(f)), f);
            }
        }
        try (SimilarStrings j = job(Metric.L2).queryBatch(50).build()) {
            assertEquals(0, j.writeTo(twice, false, null).queriesRun());  // complete: nothing to do
        }
        // a lost part file restarts its entry, and only that one
        Path thrice = tmp.resolve("thrice");
        calls[0] = 0;
        try (SimilarStrings j = job(Metric.L2).queryBatch(50).build()) {
            assertThrows(IllegalStateException.class, () -> j.writeTo(thrice, false, (done, total) -> {
                if (++calls[0] == 9) {
                    throw new IllegalStateException("killed");
                }
            }));
        }
        Files.delete(thrice.resolve("proj_output-b0-t2.scores.npy.part"));
        resumedFrom[0] = -1;
        try (SimilarStrings j = job(Metric.L2).queryBatch(50).build()) {
            assertEquals(300, j.writeTo(thrice, false, (done, total) -> {
                if (resumedFrom[0] < 0) {
                    resumedFrom[0] = done;
                }
            }).queriesRun());  // the second entry from its start
        }
        assertEquals(300, resumedFrom[0]);  // progress starts where the kept rows end, never goes back
        assertEquals(files(once), files(thrice));
    }

    @Test
    void otherParametersAreRefusedUnlessForced() throws IOException {
        Path out = tmp.resolve("params");
        try (SimilarStrings j = job(Metric.L2).build()) {
            j.writeTo(out, false, null);
        }
        byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));
        try (SimilarStrings j = job(Metric.L2).k(3).build()) {
            TargetExistsException e = assertThrows(TargetExistsException.class, () -> j.writeTo(out, false, null));
            assertTrue(e.getMessage().contains("k = 7"), e.getMessage());
        }
        try (SimilarStrings j = job(Metric.L2).sample(300, 10).build()) {
            assertThrows(TargetExistsException.class, () -> j.writeTo(out, false, null));
        }
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve("manifest.json")));
        try (SimilarStrings j = job(Metric.L2).k(3).build()) {
            j.writeTo(out, true, null);
        }
        try (SimilarResults r = SimilarResults.open(out, store)) {
            assertEquals(3, r.k());
        }
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("notes.txt"), "mine");
        try (SimilarStrings j = job(Metric.L2).build()) {
            assertThrows(TargetExistsException.class, () -> j.writeTo(other, true, null));
        }
        assertEquals(List.of("notes.txt"), files(other).keySet().stream().toList());
    }

    @Test
    void badInputIsRefusedBeforeAnythingIsWritten() {
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).sites("nope").build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).blocks(2).build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).sites("ffwd_output").blocks(1).build());  // no t2
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).positions(3).build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).positions(6).build());
        InvalidArgumentException k = assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).k(126).build());
        assertTrue(k.getMessage().contains("125 candidates"), k.getMessage());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).sample(N + 1, 1).build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).sample(new int[] {1, 1}).build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).sample(new int[] {N}).build());
        assertThrows(InvalidArgumentException.class, () -> job(Metric.L2).queryBatch(0).build());
        assertFalse(Files.exists(tmp.resolve("never")));
    }

    @Test
    void showsOneStringsNeighboursAndMergesPositions() {
        Path out = tmp.resolve("show");
        int[] sample;
        try (SimilarStrings j = job(Metric.COSINE).build()) {
            j.writeTo(out, false, null);
            sample = j.sample();
        }
        try (SimilarResults r = SimilarResults.open(out, store)) {
            int s = sample[3];
            List<SimilarResults.Neighbours> ns = r.neighbours(s, null);
            assertEquals(2, ns.size());
            Hit self = ns.get(0).hits().get(0);  // last position: the string finds itself
            assertEquals(s, self.row());
            assertEquals(store.string(s), self.label());
            assertEquals(1.0f, self.score());
            assertEquals(3, ns.get(1).hits().get(0).label().length());  // prefixes at position 2
            List<SimilarResults.Merged> m = r.aggregateOverPositions(s, null);
            assertEquals(1, m.size());
            assertEquals(List.of(5, 2), m.get(0).positions());
            List<SimilarResults.PositionHit> hits = m.get(0).hits();
            assertEquals(7, hits.size());
            for (int i = 1; i < hits.size(); i++) {
                float a = hits.get(i - 1).hit().score();
                float b = hits.get(i).hit().score();
                assertTrue(a > b || a == b && (hits.get(i - 1).position() < hits.get(i).position()
                        || hits.get(i - 1).position() == hits.get(i).position()
                        && hits.get(i - 1).hit().row() < hits.get(i).hit().row()));
            }
            assertEquals(1, r.neighbours(s, Set.of(2)).size());
            int notSampled = java.util.stream.IntStream.range(0, N).filter(x -> java.util.Arrays.stream(sample)
                    .noneMatch(y -> y == x)).findFirst().orElseThrow();
            assertThrows(InvalidArgumentException.class, () -> r.neighbours(notSampled, null));
        }
    }

    private static TreeMap<String, Long> files(Path dir) throws IOException {
        TreeMap<String, Long> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                out.put(p.getFileName().toString(), Files.size(p));
            }
        }
        out.remove(".lock");
        out.remove("manifest.json");
        return out;
    }

    private static String numpy() {
        for (String candidate : new String[] {"/usr/bin/python3", "python3"}) {
            try {
                if (python(candidate, "import numpy").startsWith("0:")) {
                    return candidate;
                }
            } catch (IOException e) {
                // not installed here; try the next
            }
        }
        assumeTrue(false, "no python3 with numpy here");
        return null;
    }

    /** Runs a script; returns "exit:output". */
    private static String python(String py, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(py, "-c", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(py + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return p.exitValue() + ":" + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
