package io.blocksim.demo;

import io.blocksim.api.NormRow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.TargetExistsException;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import io.blocksim.Metric;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report folder from made-up results: no model, no store. */
class ReportWriterTest {
    static final List<String> PROMPTS = List.of("my most gr", "is dreams,");
    static final int K = 4;

    /** Two norm tables of six layers and three search tables (one of 9-character prefixes, one of embeddings). */
    static DemoResults results(boolean quick) {
        List<DemoResults.Section> sections = new ArrayList<>();
        for (String site : Demo.NORM_SITES) {
            List<NormRow> rows = new ArrayList<>();
            for (int b = 0; b < 6; b++) {
                rows.add(new NormRow(b, 10_000, 10 + 3.5 * b + site.length(), 1 + b));
            }
            sections.add(new DemoResults.NormTable(site, rows, Demo.conclusion(site, rows)));
        }
        sections.add(new DemoResults.SearchTable("proj_output block 0 (cosine)", "proj_output", 0, 9, -1, "proj_output", 0,
                result(Metric.COSINE, 10)));
        sections.add(new DemoResults.SearchTable("ffwd_output block 5 at t_i = 8, proj_output queries (cosine)",
                "ffwd_output", 5, 8, 8, "proj_output", 5, result(Metric.COSINE, 9)));
        sections.add(new DemoResults.SearchTable(Demo.EMBEDDINGS_TITLE, "embedding", 0, null, null, "embedding", 0,
                result(Metric.COSINE, 10)));
        return new DemoResults("/tmp/store", 100_000, 10, "model.onnx", quick,
                List.of(new DemoResults.Prompt(PROMPTS.get(0), 42), new DemoResults.Prompt(PROMPTS.get(1), -1)), K,
                sections, "cpu (test)", quick ? 12.5 : null, 1.25);
    }

    /** K hits per prompt: the prompt (cut to {@code len}) first, then strings with awkward characters. */
    static SearchResponse result(Metric metric, int len) {
        List<SearchResponse.QueryHits> qs = new ArrayList<>();
        for (int q = 0; q < PROMPTS.size(); q++) {
            List<Hit> hits = new ArrayList<>();
            hits.add(new Hit(q, PROMPTS.get(q).substring(0, len), 1f));
            String[] odd = {"a|b `c`\n", "it's \"x\"", "tab\there"};
            for (int i = 1; i < K; i++) {
                hits.add(new Hit(100 + i, odd[i - 1], 1f - i * 0.01f));
            }
            qs.add(new SearchResponse.QueryHits(PROMPTS.get(q), q, hits));
        }
        return new SearchResponse("cpu", null, metric, K, 1000, qs, 3.25);
    }

    @Test
    void writesMarkdownJsonAndChart(@TempDir Path dir) throws Exception {
        DemoResults r = results(true);
        Path out = ReportWriter.write(r, dir.resolve("report"));
        assertEquals(dir.resolve("report").toAbsolutePath().normalize(), out);

        String md = Files.readString(out.resolve(ReportWriter.MARKDOWN));
        assertTrue(md.startsWith("# " + NotebookFormat.title(r) + "\n"), md);
        assertTrue(md.contains("[quick: 100,000 strings]"), md);
        for (DemoResults.Section s : r.sections()) {
            String heading = NotebookFormat.heading(s, r.scope());
            assertTrue(heading.contains(r.scope()), "quick in every heading: " + heading);
            assertTrue(md.contains("\n## " + heading + "\n"), heading + " missing from:\n" + md);
        }
        for (DemoResults.SearchTable t : r.searches()) {
            assertTrue(md.contains(NotebookFormat.resultTable(t.result()).stripTrailing()), "table verbatim: " + t.title());
        }
        assertTrue(md.contains("| 5 | "), "norm rows as a Markdown table");
        assertTrue(md.contains("](" + ReportWriter.CHART + ")"), "the chart is linked");
        assertTrue(md.contains("'is dreams,' is not among this store's strings"), md);

        JsonNode root = new ObjectMapper().readTree(out.resolve(ReportWriter.JSON).toFile());
        assertTrue(root.get("quick").asBoolean());
        assertEquals(12.5, root.get("extraction_seconds").asDouble());
        assertEquals(100_000, root.get("store").get("strings").asInt());
        assertEquals(42, root.get("prompts").get(0).get("row").asInt());
        assertTrue(root.get("prompts").get(1).get("row").isNull());
        assertEquals(Demo.NORM_SITES.size(), root.get("norms").size());
        for (JsonNode n : root.get("norms")) {
            assertEquals(6, n.get("layers").size());
            assertEquals(10_000, n.get("rows").asInt());
            for (JsonNode l : n.get("layers")) {
                assertTrue(l.get("mean").asDouble() > 0 && l.get("std").asDouble() > 0 && l.get("rows").asInt() == 10_000);
            }
        }
        JsonNode searches = root.get("searches");
        assertEquals(3, searches.size());
        for (JsonNode s : searches) {
            for (String field : List.of("title", "heading", "site", "block", "position", "t_i", "query_site", "query_block",
                    "metric", "k", "backend", "elapsed_ms")) {
                assertTrue(s.has(field), field + " in " + s);
            }
            assertEquals(K, s.get("k").asInt());
            assertEquals("cosine", s.get("metric").asText());
            assertEquals(PROMPTS.size(), s.get("results").size());
            for (JsonNode q : s.get("results")) {
                assertEquals(K, q.get("hits").size());
                assertEquals(1.0, q.get("hits").get(0).get("score").asDouble(), 1e-6);
            }
        }
        assertEquals(8, searches.get(1).get("position").asInt());
        assertEquals("my most g", searches.get(1).get("results").get(0).get("hits").get(0).get("string").asText());
        assertTrue(searches.get(2).get("position").isNull(), "embeddings: all positions");
        assertEquals("a|b `c`\n", searches.get(0).get("results").get(0).get("hits").get(1).get("string").asText());

        BufferedImage png = ImageIO.read(out.resolve(ReportWriter.CHART).toFile());
        assertNotNull(png, "norms.png decodes");
        assertEquals(NormChart.WIDTH, png.getWidth());
        assertEquals(NormChart.HEIGHT, png.getHeight());
        assertTrue(png.getWidth() >= 640 && png.getHeight() >= 400);
        assertTrue(colours(png) > 8, "a chart, not a blank image");

        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(out), left.toList(), "no temp folder left beside the report");
        }
    }

    @Test
    void fullRunHeadingsSayNothingAboutQuick() {
        DemoResults r = results(false);
        String md = ReportWriter.markdown(r);
        assertFalse(md.contains("quick"), md);
        assertTrue(md.contains("reused the store"), md);
    }

    @Test
    void replacesAnEarlierReportButNoOtherFolder(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("report");
        ReportWriter.write(results(false), report);
        ReportWriter.write(results(true), report);
        assertTrue(Files.readString(report.resolve(ReportWriter.MARKDOWN)).contains("[quick:"), "the second report replaced the first");
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(1, left.count(), "neither the old report nor a temp folder is left");
        }

        Path mine = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "keep me");
        TargetExistsException e = assertThrows(TargetExistsException.class, () -> ReportWriter.write(results(false), mine));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
        assertEquals("keep me", Files.readString(mine.resolve("notes.txt")));

        Path file = Files.writeString(dir.resolve("afile"), "x");
        assertThrows(TargetExistsException.class, () -> ReportWriter.write(results(false), file));
    }

    /** Distinct colours in a coarse sample of the image. */
    static int colours(BufferedImage img) {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 7) {
            for (int x = 0; x < img.getWidth(); x += 7) {
                seen.add(img.getRGB(x, y));
            }
        }
        return seen.size();
    }
}
