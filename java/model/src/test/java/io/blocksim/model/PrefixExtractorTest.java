package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.text.PrefixIndex;
import io.blocksim.text.StringTable;
import io.blocksim.text.TestCorpus;
import io.blocksim.text.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The step engine against the full model on corpus strings: same vectors (within 1e-4) at the last
 * and at earlier positions, every row delivered once, results independent of how the work is cut.
 */
class PrefixExtractorTest {
    private static final double TOL = 1e-4;

    private static TransformerModel model;
    private static PrefixExtractor steps;
    private static StringTable strings;
    private static List<Target> targets;
    private static float[][] reference;

    /**
     * 3,000 corpus strings: the first 1,500 in first-occurrence order (few shared prefixes beyond
     * the first characters) and a run of 1,500 neighbours in lexicographic order (long shared
     * prefixes, so the trie is deep and narrow).
     */
    @BeforeAll
    static void load() {
        if (TestCorpus.find() == null) {
            return;  // each test is reported skipped (needsCorpus)
        }
        model = TestModel.model();
        ModelSpec spec = model.spec();
        Tokenizer tok = new Tokenizer(spec.vocab());
        StringTable all = StringTable.uniqueSubstrings(tok.encode(TestCorpus.get().text()), 10);
        int[] sorted = ExtractionPlan.lexicographicOrder(all);
        int len = all.length();
        byte[] pick = new byte[3000 * len];
        System.arraycopy(all.tokens(), 0, pick, 0, 1500 * len);
        int[] run = Arrays.copyOfRange(sorted, 400_000, 401_500);
        for (int i = 0; i < run.length; i++) {
            System.arraycopy(all.tokens(), run[i] * len, pick, (1500 + i) * len, len);
        }
        // the run may repeat some of the first 1,500 strings: keep each string once
        strings = uniqueRows(pick, len);
        targets = new ArrayList<>();
        for (int b = 0; b < spec.nLayer(); b++) {
            targets.add(new Target(Site.PROJ_OUTPUT, b, len - 1));
            targets.add(new Target(Site.FFWD_OUTPUT, b, len - 1));
        }
        targets.add(new Target(Site.HEADS_OUTPUT, 2, len - 1));
        targets.add(new Target(Site.BLOCK_OUTPUT, 5, len - 1));
        targets.add(new Target(Site.EMBEDDING, 0, len - 1));
        targets.add(new Target(Site.FFWD_OUTPUT, 5, 8));
        targets.add(new Target(Site.HEADS_OUTPUT, 0, 8));
        targets.add(new Target(Site.BLOCK_INPUT, 3, 5));
        targets.add(new Target(Site.HEADS_OUTPUT, 5, 3));
        targets.add(new Target(Site.EMBEDDING, 0, 0));
        targets.add(new Target(Site.BLOCK_OUTPUT, 1, 0));
        steps = PrefixExtractor.open(model, PrefixExtractor.Options.defaults());
        try (FullModelExtractor full = new FullModelExtractor(model)) {
            reference = collect(full, ExtractionPlan.of(strings, targets, 1000));
        }
    }

    @BeforeEach
    void needsCorpus() {
        Assumptions.assumeTrue(model != null, TestCorpus.MISSING);
    }

    @AfterAll
    static void close() {
        if (steps != null) {
            steps.close();
        }
    }

    /** Rows of {@code tokens} (length {@code len}) without repeats, in first-occurrence order. */
    private static StringTable uniqueRows(byte[] tokens, int len) {
        java.util.LinkedHashSet<String> seen = new java.util.LinkedHashSet<>();
        for (int r = 0; r < tokens.length / len; r++) {
            seen.add(new String(tokens, r * len, len, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        byte[] out = new byte[seen.size() * len];
        int r = 0;
        for (String s : seen) {
            System.arraycopy(s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 0, out, r++ * len, len);
        }
        return new StringTable(out, len);
    }

    /** Runs every unit into [target][row * C], failing on a row delivered twice or never. */
    private static float[][] collect(Extractor ex, ExtractionPlan plan) {
        int c = ex.spec().nEmbed();
        float[][] out = new float[plan.targets().size()][];
        boolean[][] seen = new boolean[out.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new float[plan.rows(i) * c];
            seen[i] = new boolean[plan.rows(i)];
        }
        // resumable units may run in any order: go backwards
        for (int u = plan.units() - 1; u >= 0; u--) {
            ex.run(plan, u, (target, rows, count, vectors) -> {
                assertEquals(count * c * 4L, vectors.byteSize());
                for (int i = 0; i < count; i++) {
                    int row = rows[i];
                    assertFalse(seen[target][row], "row " + row + " of " + plan.targets().get(target) + " delivered twice");
                    seen[target][row] = true;
                    MemorySegment.copy(vectors, ValueLayout.JAVA_FLOAT, (long) i * c * 4, out[target], row * c, c);
                }
            });
        }
        for (int i = 0; i < out.length; i++) {
            for (int r = 0; r < seen[i].length; r++) {
                assertTrue(seen[i][r], "row " + r + " of " + plan.targets().get(i) + " never delivered");
            }
        }
        return out;
    }

    private static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
        }
        return worst;
    }

    @Test
    void stepEngineMatchesTheFullModelAtEveryTarget() {
        ExtractionPlan plan = ExtractionPlan.of(strings, targets, 700);
        assertTrue(plan.units() > 1);
        float[][] got = collect(steps, plan);
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < targets.size(); i++) {
            double d = maxDiff(reference[i], got[i]);
            worst = Math.max(worst, d);
            for (float v : reference[i]) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(d <= TOL, targets.get(i) + ": max |diff| " + d);
        }
        System.out.println("PrefixExtractorTest: step engine vs full model on " + strings.size() + " strings, "
                + targets.size() + " targets: max |diff| " + worst + " (largest |value| " + scale + ")");
    }

    @Test
    void cutsIntoChunksBatchesAndUnitsDoNotChangeResults() {
        float[][] base = collect(steps, ExtractionPlan.of(strings, targets, strings.size()));
        // a cache of ~40 prefixes and odd batch sizes: many chunks, partial batches, straddling prefixes
        long tiny = 40L * 2 * 384 * 4 * model.spec().nLayer();
        PrefixExtractor.Options[] cuts = {
                PrefixExtractor.Options.defaults().withBatchRows(37).withCacheBytes(tiny),
                // one worker on two threads: attention split over a helper
                new PrefixExtractor.Options(2, 1, 5000, 1L << 30),
                PrefixExtractor.Options.defaults().withThreads(1).withBatchRows(300),
        };
        ExtractionPlan.Order[] orders = {ExtractionPlan.Order.LEXICOGRAPHIC, ExtractionPlan.Order.FIRST_OCCURRENCE,
                ExtractionPlan.Order.LEXICOGRAPHIC};
        for (int k = 0; k < cuts.length; k++) {
            PrefixExtractor.Options o = cuts[k];
            try (PrefixExtractor ex = PrefixExtractor.open(model, o)) {
                float[][] got = collect(ex, ExtractionPlan.of(strings, targets, 333, orders[k]));
                double worst = 0;
                for (int i = 0; i < targets.size(); i++) {
                    double d = maxDiff(base[i], got[i]);
                    worst = Math.max(worst, d);
                    // not bitwise: the matrix kernels round differently for other batch heights
                    assertTrue(d <= TOL, o + " " + orders[k] + " " + targets.get(i) + ": max |diff| " + d);
                }
                System.out.println("PrefixExtractorTest: " + o + ", " + orders[k] + " units vs one chunk: max |diff| " + worst);
            }
        }
    }

    @Test
    void stringsSharingAPrefixShareItsVectors() {
        // the step vector of each prefix row equals the full model's at that position for every
        // string with the prefix, not only its first string
        ModelSpec spec = model.spec();
        int c = spec.nEmbed();
        int len = strings.length();
        int ti = targets.indexOf(new Target(Site.FFWD_OUTPUT, 5, 8));
        PrefixIndex p8 = strings.prefixes(8);
        float[][] got = collect(steps, ExtractionPlan.of(strings, List.of(targets.get(ti)), 1 << 16));
        List<long[]> batch = new ArrayList<>();
        List<Integer> prefixRow = new ArrayList<>();
        java.util.Map<String, Integer> rowOf = new java.util.HashMap<>();
        for (int r = 0; r < p8.rows(); r++) {
            rowOf.put(new String(strings.tokens(), p8.firstString(r) * len, 9, java.nio.charset.StandardCharsets.ISO_8859_1), r);
        }
        int shared = 0;
        for (int s = 0; s < strings.size(); s++) {
            int row = rowOf.get(new String(strings.tokens(), s * len, 9, java.nio.charset.StandardCharsets.ISO_8859_1));
            if (p8.firstString(row) != s) {
                shared++;
                long[] ids = new long[len];
                for (int k = 0; k < len; k++) {
                    ids[k] = strings.token(s, k) & 0xff;
                }
                batch.add(ids);
                prefixRow.add(row);
            }
        }
        assertTrue(shared > 100, "the test strings share 9-character prefixes: " + shared);
        String name = spec.outputName(Site.FFWD_OUTPUT, 5);
        Outputs out = model.run(batch.toArray(long[][]::new), java.util.Set.of(name));
        double worst = 0;
        for (int i = 0; i < batch.size(); i++) {
            float[] full = out.vector(name, i, 8);
            float[] step = Arrays.copyOfRange(got[0], prefixRow.get(i) * c, (prefixRow.get(i) + 1) * c);
            worst = Math.max(worst, maxDiff(full, step));
        }
        assertTrue(worst <= TOL, "max |diff| " + worst);
    }

    @Test
    void fullModelIsCausal() {
        // the premise of the step engine: what follows position t does not change position t
        ModelSpec spec = model.spec();
        long[] a = spec.encode("my most gr");
        long[] b = spec.encode("my most wo");
        Outputs out = model.run(new long[][] {a, b}, new java.util.LinkedHashSet<>(spec.outputNames()));
        for (String name : spec.outputNames()) {
            for (int t = 0; t < 8; t++) {
                assertArrayEquals(out.vector(name, 0, t), out.vector(name, 1, t), name + " t" + t);
            }
        }
    }

    @Test
    void planSortsAndCutsTheStrings() {
        ExtractionPlan plan = ExtractionPlan.of(strings, targets, 256);
        int len = strings.length();
        int total = 0;
        byte[] prev = null;
        for (int u = 0; u < plan.units(); u++) {
            int[] rows = plan.unitRows(u);
            assertEquals(plan.unitSize(u), rows.length);
            total += rows.length;
            for (int r : rows) {
                byte[] cur = Arrays.copyOfRange(strings.tokens(), r * len, (r + 1) * len);
                if (prev != null) {
                    assertTrue(Arrays.compareUnsigned(prev, cur) < 0, "lexicographic order");
                }
                prev = cur;
            }
        }
        assertEquals(strings.size(), total);
        ExtractionPlan shards = ExtractionPlan.of(strings, targets, 256, ExtractionPlan.Order.FIRST_OCCURRENCE);
        for (int u = 0; u < shards.units(); u++) {
            int[] rows = shards.unitRows(u);
            int[] sortedRows = rows.clone();
            Arrays.sort(sortedRows);
            for (int i = 0; i < rows.length; i++) {
                assertEquals(u * 256 + i, sortedRows[i], "unit " + u + " holds string rows [256u, 256u + 256)");
                if (i > 0) {
                    assertTrue(Arrays.compareUnsigned(strings.tokens(), rows[i - 1] * len, rows[i - 1] * len + len,
                            strings.tokens(), rows[i] * len, rows[i] * len + len) < 0, "sorted within the unit");
                }
            }
        }
        assertEquals(strings.prefixes(8).rows(), plan.rows(targets.indexOf(new Target(Site.FFWD_OUTPUT, 5, 8))));
        assertEquals(strings.size(), plan.rows(0));
        assertEquals(9, plan.maxPosition());
        assertThrows(InvalidArgumentException.class, () -> ExtractionPlan.of(strings, List.of(new Target(Site.EMBEDDING, 0, 10)), 10));
        assertThrows(InvalidArgumentException.class, () -> steps.run(ExtractionPlan.of(strings, List.of(new Target(Site.PROJ_OUTPUT, 6, 9)), 10), 0,
                (t, r, n, v) -> { }));
    }

    @Test
    void shallowPlansComputeOnlyTheLevelsTheyNeed() {
        // only earlier positions: the trie stops at the deepest one
        List<Target> early = List.of(new Target(Site.PROJ_OUTPUT, 4, 2), new Target(Site.EMBEDDING, 0, 4));
        ExtractionPlan plan = ExtractionPlan.of(strings, early, 500);
        assertEquals(4, plan.maxPosition());
        float[][] got = collect(steps, plan);
        for (int i = 0; i < early.size(); i++) {
            try (FullModelExtractor full = new FullModelExtractor(model)) {
                float[][] want = collect(full, ExtractionPlan.of(strings, List.of(early.get(i)), 1 << 16));
                double d = maxDiff(want[0], got[i]);
                assertTrue(d <= TOL, early.get(i) + ": max |diff| " + d);
            }
        }
    }

    @Test
    void shortStringsWithRepeatsGetEveryRow() {
        // L = 4 over a tiny alphabet: deep sharing, and repeated rows (a table need not be unique)
        java.util.Random rnd = new java.util.Random(11);
        int len = 4;
        int n = 600;
        byte[] tok = new byte[n * len];
        for (int i = 0; i < tok.length; i++) {
            tok[i] = (byte) (40 + rnd.nextInt(3));
        }
        System.arraycopy(tok, 0, tok, 5 * len, len); // row 5 repeats row 0
        StringTable table = new StringTable(tok, len);
        List<Target> t = List.of(new Target(Site.BLOCK_OUTPUT, 5, 3), new Target(Site.HEADS_OUTPUT, 1, 3),
                new Target(Site.FFWD_OUTPUT, 2, 1));
        float[][] want;
        try (FullModelExtractor full = new FullModelExtractor(model)) {
            want = collect(full, ExtractionPlan.of(table, t, 1 << 16));
        }
        float[][] got = collect(steps, ExtractionPlan.of(table, t, 100));
        for (int i = 0; i < t.size(); i++) {
            double d = maxDiff(want[i], got[i]);
            assertTrue(d <= TOL, t.get(i) + ": max |diff| " + d);
        }
        int c = model.spec().nEmbed();
        assertArrayEquals(Arrays.copyOfRange(got[0], 0, c), Arrays.copyOfRange(got[0], 5 * c, 6 * c));
    }

    @Test
    void missingStepGraphsAreNamed(@TempDir Path dir) {
        assertFalse(PrefixExtractor.available(dir.resolve("m.onnx"), 6));
        assertEquals(dir.resolve("m.step3.onnx"), PrefixExtractor.stagePath(dir.resolve("m.onnx"), 3));
        assertTrue(PrefixExtractor.available(model.path(), model.spec().nLayer()));
        try (Extractor best = Extractor.open(model, PrefixExtractor.Options.defaults().withThreads(1))) {
            assertTrue(best instanceof PrefixExtractor, best.describe());
        }
    }
}
