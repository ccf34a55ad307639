package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.text.TestCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench extract} as a user runs it: both engines, a table and JSON records (nothing timed here). */
class BenchExtractTest {
    @Test
    void bothEnginesReportJsonRecords(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("extract.json");
        CliTest.Run r = CliTest.run("bench", "extract", "--strings", "400", "--full-strings", "100", "--repeats", "1",
                "--dataset", TestCorpus.path().toString(), "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("strings/s") && r.out().contains("GFLOP/s"), r.out());
        List<String> lines = Files.readAllLines(json);
        assertEquals(2, lines.size(), lines.toString());
        JsonNode step = ResultFormat.JSON.readTree(lines.get(0));
        JsonNode full = ResultFormat.JSON.readTree(lines.get(1));
        assertEquals("step", step.get("engine").asText());
        assertEquals(400, step.get("strings").asInt());
        assertEquals("full", full.get("engine").asText());
        assertEquals(100, full.get("strings").asInt());
        assertEquals(1000, full.get("tokens").asLong(), "the full model computes all 10 positions of each string");
        // the step engine computes each distinct prefix once: fewer positions than strings x 10
        assertTrue(step.get("tokens").asLong() < 4000 && step.get("tokens").asLong() >= 400, step.toString());
        for (JsonNode n : List.of(step, full)) {
            assertTrue(n.get("strings_per_s").asDouble() > 0 && n.get("gflop_per_s").asDouble() > 0, n.toString());
            assertTrue(n.get("min_s").asDouble() <= n.get("median_s").asDouble());
        }

        CliTest.Run bad = CliTest.run("bench", "extract", "--engines", "warp");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("unknown engine 'warp'"), bad.err());
    }
}
