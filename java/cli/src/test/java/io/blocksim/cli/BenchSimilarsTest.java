package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.TestStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench similars} end to end on a small store (4 entries of 2,000 rows), as a user runs it:
 * the table, and JSON records with every field the README names (nothing is timed against a target here).
 */
class BenchSimilarsTest {
    @TempDir
    Path tmp;

    static Path store(Path dir) {
        return TestStores.build(dir, 6, 2000, 700, List.of(
                new EntrySpec("proj_output", 0, 5, 16),
                new EntrySpec("proj_output", 1, 5, 16),
                new EntrySpec("ffwd_output", 0, 5, 16),
                new EntrySpec("ffwd_output", 1, 5, 16)), 3);
    }

    static List<JsonNode> records(Path json) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(json)) {
            out.add(ResultFormat.JSON.readTree(line));
        }
        return out;
    }

    static List<JsonNode> of(List<JsonNode> all, String record) {
        return all.stream().filter(n -> n.path("record").asText().equals(record)).toList();
    }

    @Test
    void runsEveryEntryAndWritesTheRecords() throws Exception {
        Path store = store(tmp.resolve("store"));
        Path json = tmp.resolve("similars.json");
        CliTest.Run r = CliTest.run("bench", "similars", "--store", store.toString(), "--samples", "40", "--blocks", "0-1",
                "--k", "3", "--metric", "both", "--query-batch", "16", "--repeats", "2", "--gemm-seconds", "0.05",
                "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("GEMM rate java-tile") && r.out().contains("x GEMM"), r.out());
        assertTrue(r.out().contains("job at ") && r.out().contains("of the GEMM rate"), r.out());

        List<JsonNode> all = records(json);
        JsonNode setting = of(all, "setting").get(0);
        assertEquals(2000, setting.get("strings").asInt());
        assertEquals(4, setting.get("entries").asInt());
        assertEquals(40, setting.get("samples").asInt());
        assertEquals(16, setting.get("query_batch").asInt());
        assertTrue(setting.get("memory_bytes").asLong() > 0 && setting.get("entries_bytes").asLong() == 4L * 2000 * 16 * 4);

        List<JsonNode> gemm = of(all, "gemm");
        assertEquals(2, gemm.size(), "the GEMM rate before and after the job: " + gemm);
        for (JsonNode g : gemm) {
            assertEquals("java-tile", g.get("source").asText());
            assertTrue(g.get("gflop_per_s").asDouble() > 0 && g.get("rounds").size() == 3, g.toString());
        }

        List<JsonNode> entries = of(all, "entry");
        assertEquals(8, entries.size(), "4 entries x 2 metrics: " + entries);
        for (JsonNode e : entries) {
            assertEquals("blocksim", e.get("engine").asText());
            assertEquals(40, e.get("samples").asInt());
            assertEquals(2000, e.get("candidates").asLong());
            assertEquals(16, e.get("dim").asInt());
            assertEquals(5, e.get("position").asInt());
            assertEquals(2, e.get("repeats").asInt());
            for (String f : List.of("median_s", "min_s", "max_s", "ms_per_query", "gflop_per_s", "gemm_fraction",
                    "batch_median_s")) {
                assertTrue(e.get(f).isNumber() && e.get(f).asDouble() > 0, f + " in " + e);
            }
            // CPU time comes in clock ticks: a millisecond's entry may read 0
            assertTrue(e.get("cores_busy").isNumber() && e.get("cores_busy").asDouble() >= 0, e.toString());
            assertTrue(e.get("min_s").asDouble() <= e.get("median_s").asDouble()
                    && e.get("median_s").asDouble() <= e.get("max_s").asDouble(), e.toString());
            double gflop = 2.0 * 40 * 2000 * 16 / e.get("median_s").asDouble() / 1e9;
            assertEquals(gflop, e.get("gflop_per_s").asDouble(), gflop * 1e-9);
            assertTrue(e.has("disk_read_bytes") && e.has("others_busy"), e.toString());
        }
        List<JsonNode> totals = of(all, "total");
        assertEquals(2, totals.size(), totals.toString());
        for (JsonNode t : totals) {
            assertEquals(4, t.get("entries").asInt());
            assertTrue(t.get("gemm_fraction").asDouble() > 0 && t.get("seconds").asDouble() > 0, t.toString());
        }
        List<JsonNode> comparisons = of(all, "comparison");
        assertEquals(2, comparisons.size(), "without --peers only the GEMM share: " + comparisons);
        for (JsonNode c : comparisons) {
            assertEquals("gemm", c.get("against").asText());
            assertEquals(0.70, c.get("target").asDouble());
            assertNotNull(c.get("met"));
        }
    }

    @Test
    void refusesBadOptionsInOneLine() {
        Path store = store(tmp.resolve("store"));
        CliTest.Run noStore = CliTest.run("bench", "similars");
        assertEquals(2, noStore.code());
        assertTrue(noStore.err().contains("--store"), noStore.err());
        CliTest.Run site = CliTest.run("bench", "similars", "--store", store.toString(), "--sites", "nope", "--samples", "4");
        assertEquals(2, site.code(), site.err());
        assertTrue(site.err().contains("unknown site 'nope'"), site.err());
        CliTest.Run metric = CliTest.run("bench", "similars", "--store", store.toString(), "--metric", "dot");
        assertEquals(2, metric.code(), metric.err());
    }
}
