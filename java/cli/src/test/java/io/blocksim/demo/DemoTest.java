package io.blocksim.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.cli.Main;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.TransformerModel;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.api.Hit;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.SearchResponse;
import io.blocksim.api.Searcher;
import io.blocksim.model.OnnxModelProvider;
import io.blocksim.Metric;
import io.blocksim.store.Store;
import io.blocksim.text.Corpus;
import io.blocksim.text.TestCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo end to end on a small store of the shipped model. The quick store (the first 100,000
 * strings) holds neither prompt — they first occur at strings 198,286 and 514,665 — and a store
 * reaching them costs minutes, so this one is built from an excerpt of the corpus: its opening
 * and the passages around each prompt's first occurrence (a few thousand strings, seconds).
 */
class DemoTest {
    @TempDir
    static Path tmp;
    private static TransformerModel model;
    private static Path storeDir;

    @BeforeAll
    static void build() {
        if (TestCorpus.find() == null) {
            return;  // each test is reported skipped (needsCorpus)
        }
        Corpus excerpt = excerpt(TestCorpus.get());
        model = TransformerModel.openDefault();
        storeDir = tmp.resolve("store");
        StoreExtraction.run(model, excerpt, 10, 0, StoreExtraction.demoTargets(model.spec().nLayer(), 10), 2048,
                PrefixExtractor.Options.defaults(), storeDir, false, n -> { }, line -> { });
    }

    @BeforeEach
    void needsCorpus() {
        Assumptions.assumeTrue(model != null, TestCorpus.MISSING);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** The corpus's first 1,500 characters and 400 either side of each prompt's first occurrence. */
    static Corpus excerpt(Corpus full) {
        String text = full.text();
        StringBuilder b = new StringBuilder(text.substring(0, 1500));
        for (String p : Demo.PROMPTS) {
            int at = text.indexOf(p);
            assertTrue(at > 0, p + " is in the corpus");
            b.append("\n\n").append(text, Math.max(0, at - 400), Math.min(text.length(), at + 400));
        }
        byte[] raw = b.toString().getBytes(StandardCharsets.UTF_8);
        return new Corpus(b.toString(), Corpus.sha256(raw), Path.of("excerpt.txt"));
    }

    static String score(Hit h) {
        return String.format(Locale.ROOT, "%.3f", h.score());
    }

    /** Each prompt's first hit is the prompt (or its prefix of {@code len}) with the score printed as {@code shown}. */
    static void selfFirst(DemoResults.SearchTable t, int len, String shown) {
        for (SearchResponse.QueryHits q : t.result().queries()) {
            Hit first = q.hits().get(0);
            assertEquals(q.prompt().substring(0, len), first.label(), t.title() + ": first row for " + q.prompt());
            assertEquals(shown, score(first), t.title() + ": score of " + first.label());
        }
    }

    /** The CPU backend and the test's model, given (so the searcher closes neither). */
    static Searcher searcher(BlocksimStore s) {
        return Searcher.builder(s).backend("cpu").model(OnnxModelProvider.encoder(model)).build();
    }

    @Test
    void everyTableThatHoldsThePromptListsItFirst() {
        try (BlocksimStore s = BlocksimStore.open(storeDir); Searcher searcher = searcher(s)) {
            StringBuilder printed = new StringBuilder();
            DemoResults r = new Demo("test.onnx", s, searcher, Demo.PROMPTS, 10).run(true, "cpu (test)", null, System.nanoTime(),
                    printed::append);
            assertTrue(r.prompts().stream().allMatch(DemoResults.Prompt::stored), "the excerpt holds both prompts");
            assertEquals(Demo.NORM_SITES, r.norms().stream().map(DemoResults.NormTable::site).toList());
            assertTrue(printed.indexOf("## Norms of block_output") < printed.indexOf("## Norms of proj_output")
                    && printed.indexOf("## Norms of proj_output") < printed.indexOf("## Norms of ffwd_output"), "notebook order");
            assertEquals(Demo.NOTEBOOK_TABLES.size() + 2, r.searches().size());

            String scope = r.scope();
            assertTrue(scope.startsWith(" [quick: "), scope);
            for (DemoResults.Section sec : r.sections()) {
                String heading = NotebookFormat.heading(sec, scope);
                assertTrue(printed.indexOf("## " + heading + "\n") >= 0, "printed: " + heading);
                assertTrue(heading.contains(scope), "quick is said in: " + heading);
            }
            for (DemoResults.SearchTable t : r.searches()) {
                assertEquals(Demo.PROMPTS.size(), t.result().queries().size());
                for (SearchResponse.QueryHits q : t.result().queries()) {
                    assertEquals(10, q.hits().size());
                    List<Hit> h = q.hits();
                    for (int i = 1; i < h.size(); i++) {
                        boolean ordered = t.result().metric().largerIsBetter() ? h.get(i).score() <= h.get(i - 1).score()
                                : h.get(i).score() >= h.get(i - 1).score();
                        assertTrue(ordered, t.title() + " best first");
                    }
                }
                boolean sameSite = t.site().equals(t.querySite()) && t.block() == t.queryBlock();
                if (sameSite) {
                    // the prompt is a candidate and its own query: itself, exactly
                    selfFirst(t, 10, t.result().metric() == Metric.L2 ? "0.000" : "1.000");
                } else {
                    // proj_output queries against ffwd_output candidates: another sub-layer, no self match
                    for (SearchResponse.QueryHits q : t.result().queries()) {
                        assertTrue(q.hits().get(0).score() < 0.99f, t.title());
                    }
                }
                if (Integer.valueOf(8).equals(t.position())) {
                    for (SearchResponse.QueryHits q : t.result().queries()) {
                        assertTrue(q.hits().stream().allMatch(h -> h.label().length() == 9), "t_i = 8 lists 9-char prefixes");
                    }
                }
            }
            assertEquals(8, r.searches().stream().filter(t -> t.title().contains("t_i = 8")).findFirst().orElseThrow().position());
            assertTrue(r.searches().stream().anyMatch(t -> t.position() == null && t.title().equals(Demo.EMBEDDINGS_TITLE)));
        }
    }

    @Test
    void atTi8ThePromptsPrefixIsItsOwnClosest() {
        // t_i = 8 candidates are the 9-character prefixes: with the prefix's own ffwd_output as the
        // query, the prompt's prefix comes first at cosine 1.000
        List<String> prefixes = Demo.PROMPTS.stream().map(p -> p.substring(0, 9)).toList();
        try (BlocksimStore s = BlocksimStore.open(storeDir); Searcher searcher = searcher(s)) {
            DemoResults.SearchTable t = new Demo("test.onnx", s, searcher, prefixes, 10).search(new Demo.TableSpec(
                    "ffwd_output block 5 at t_i = 8, ffwd_output queries", "ffwd_output", 5, 8, "ffwd_output", 5, Metric.COSINE));
            assertEquals(8, t.position());
            selfFirst(t, 9, "1.000");
        }
    }

    @Test
    void theCommandPrintsTheTablesAndWritesTheReport() throws Exception {
        Path report = tmp.resolve("cli-report");
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = Main.execute("demo", "--store", storeDir.toString(), "--quick", "--report", report.toString());
        } finally {
            System.setOut(oldOut);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String md = Files.readString(report.resolve(ReportWriter.MARKDOWN));
        List<String> headings = text.lines().filter(l -> l.startsWith("## ")).toList();
        assertEquals(Demo.NORM_SITES.size() + Demo.NOTEBOOK_TABLES.size() + 2, headings.size(), text);
        for (String h : headings) {
            assertTrue(h.contains("[quick: "), "quick in " + h);
            assertTrue(md.contains("\n" + h + "\n"), h + " in report.md");
        }
        List<String> lines = text.lines().toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("report: " + report.toAbsolutePath().resolve(ReportWriter.MARKDOWN)),
                "the report's path comes last: " + text);
        JsonNode json = new ObjectMapper().readTree(report.resolve(ReportWriter.JSON).toFile());
        assertTrue(json.get("quick").asBoolean());
        assertEquals(Demo.NORM_SITES.size(), json.get("norms").size());
        assertEquals(headings.size() - Demo.NORM_SITES.size(), json.get("searches").size());
        assertNotNull(ImageIO.read(report.resolve(ReportWriter.CHART).toFile()));
    }

    /** The demo's store holds block_output of every block: the notebook's first norm table is the residual stream's. */
    @Test
    void theFirstNormTableIsTheResidualStream() {
        try (BlocksimStore s = BlocksimStore.open(storeDir); Searcher searcher = searcher(s)) {
            Demo d = new Demo("test.onnx", s, searcher, Demo.PROMPTS, 10);
            DemoResults.NormTable block = d.norms("block_output");
            assertEquals(6, block.layers().size());
            assertTrue(block.layers().stream().allMatch(r -> r.mean() > 0 && Double.isFinite(r.std())), block.layers().toString());
            assertTrue(block.conclusion().contains("block_output") && !block.conclusion().contains("no table of"),
                    block.conclusion());
            assertTrue(d.norms("proj_output").conclusion().startsWith("The notebook has no table of proj_output"),
                    d.norms("proj_output").conclusion());
            assertTrue(NormChart.legend(block).startsWith("block_output (residual stream, the notebook's first table): mean "),
                    NormChart.legend(block));
        }
    }

    /** The notebook's conclusion when it holds, what holds instead when it does not, per site. */
    @Test
    void conclusionsSayWhatThisModelShowsForEachSite() {
        List<io.blocksim.api.NormRow> growing = List.of(new io.blocksim.api.NormRow(0, 100, 27.9, 1.1),
                new io.blocksim.api.NormRow(1, 100, 33.4, 1.7), new io.blocksim.api.NormRow(2, 100, 61.7, 11.7));
        assertEquals("As in the notebook, norm and std dev of block_output go up in every later layer (mean 27.9 at layer 0,"
                + " 61.7 at layer 2; std 1.1 to 11.7): cosine similarity is probably a better measure than Euclidean"
                + " distance.", Demo.conclusion("block_output", growing));
        List<io.blocksim.api.NormRow> flat = List.of(new io.blocksim.api.NormRow(0, 100, 26.3, 5.8),
                new io.blocksim.api.NormRow(1, 100, 20.0, 6.0), new io.blocksim.api.NormRow(2, 100, 34.5, 21.1));
        String c = Demo.conclusion("ffwd_output", flat);
        assertTrue(c.startsWith("Unlike the notebook, for ffwd_output the std dev grows with depth but the norms do not"
                + " grow in every layer (mean 26.3 at layer 0, 34.5 at layer 2"), c);
        assertTrue(Demo.conclusion("proj_output", flat).startsWith("The notebook has no table of proj_output; here"),
                Demo.conclusion("proj_output", flat));
    }
}
