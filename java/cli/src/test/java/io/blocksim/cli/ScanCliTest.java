package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.store.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16 on the command line: {@code search --scan auto|codes|float32} says which scan ran and how
 * many rows it re-scored (text and JSON), with the same hits either way; {@code index} adds codes to
 * a store made without them (text and JSON, idempotent), {@code verify} and {@code info} see them.
 */
class ScanCliTest {
    private static JsonNode searchJson(Path st, Path q, String scan, String metric) throws Exception {
        CliTest.Run r = CliTest.run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q.toString(),
                "-k", "5", "--metric", metric, "--scan", scan, "--json");
        assertEquals(0, r.code(), r.err());
        return ResultFormat.JSON.readTree(r.out());
    }

    @Test
    void everyScanGivesTheSameHitsAndSaysWhichRan(@TempDir Path dir) throws Exception {
        Path st = CliTest.imported(dir);
        Path q = dir.resolve("q.npy");
        for (String metric : List.of("cosine", "l2")) {
            JsonNode floats = searchJson(st, q, "float32", metric);
            JsonNode codes = searchJson(st, q, "codes", metric);
            JsonNode auto = searchJson(st, q, "auto", metric);
            assertEquals("float32", floats.get("scan").asText());
            assertEquals(0, floats.get("rescored").size());
            assertEquals("codes", codes.get("scan").asText());
            assertEquals("codes", auto.get("scan").asText(), "auto takes the codes for 2 queries");
            assertEquals(2, codes.get("rescored").size());
            for (JsonNode n : codes.get("rescored")) {
                assertTrue(n.asInt() >= 5 && n.asInt() <= 50, n.toString());
            }
            assertEquals(floats.get("queries"), codes.get("queries"), metric);
            assertEquals(floats.get("queries"), auto.get("queries"), metric);
        }
        CliTest.Run text = CliTest.run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q.toString(),
                "-k", "3", "--scan", "codes");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.err().contains("codes scan, ") && text.err().contains("rows re-scored (per query "), text.err());
        CliTest.Run plain = CliTest.run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                q.toString(), "-k", "3", "--scan", "float32");
        assertTrue(plain.err().contains("; float32 scan"), plain.err());
        assertEquals(text.out(), plain.out());
        CliTest.expectError(2, "unknown scan 'fast'", CliTest.run("search", "--store", st.toString(), "--site", "vectors",
                "--query-npy", q.toString(), "--scan", "fast"));
    }

    @Test
    void indexAddsCodesToAStoreWithoutThemAndSearchCanUseThem(@TempDir Path dir) throws Exception {
        Path st = CliTest.imported(dir);
        Path q = dir.resolve("q.npy");
        dropCodes(st);
        CliTest.expectError(2, "blocksim index", CliTest.run("search", "--store", st.toString(), "--site", "vectors",
                "--query-npy", q.toString(), "--scan", "codes"));
        assertEquals("float32", searchJson(st, q, "auto", "cosine").get("scan").asText());
        CliTest.Run info = CliTest.run("info", st.toString());
        assertTrue(info.out().contains("codes     none (blocksim index adds them"), info.out());

        CliTest.Run idx = CliTest.run("index", st.toString());
        assertEquals(0, idx.code(), idx.err());
        assertTrue(idx.out().contains("added codes to 1 shard"), idx.out());
        assertEquals("codes", searchJson(st, q, "auto", "cosine").get("scan").asText());
        CliTest.Run verify = CliTest.run("verify", st.toString(), "--json");
        assertEquals(0, verify.code(), verify.err());
        // labels, and the one shard's vectors, norms, codes and code scales
        assertEquals(5, ResultFormat.JSON.readTree(verify.out()).get("files_checked").asInt());

        CliTest.Run again = CliTest.run("index", st.toString(), "--json");
        assertEquals(0, again.code(), again.err());
        JsonNode j = ResultFormat.JSON.readTree(again.out());
        assertEquals(0, j.get("shards_indexed").asInt());
        assertEquals(1, j.get("shards_already_indexed").asInt());
        assertTrue(j.get("code_bytes").asLong() > 0);
        CliTest.expectError(1, "no store", CliTest.run("index", dir.resolve("nothing").toString()));
    }

    /** The store as a blocksim without codes wrote it. */
    private static void dropCodes(Path st) throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode tree = json.readTree(st.resolve(Manifest.FILE).toFile());
        for (JsonNode e : tree.get("entries")) {
            for (JsonNode s : e.get("shards")) {
                ((ObjectNode) s).remove("codes");
            }
        }
        Files.write(st.resolve(Manifest.FILE), json.writeValueAsBytes(tree));
        try (Stream<Path> files = Files.walk(st)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("code")).toList()) {
                Files.delete(f);
            }
        }
        assertFalse(Manifest.read(st).hasCodes());
    }
}
