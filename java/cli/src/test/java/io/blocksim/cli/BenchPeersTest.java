package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.text.TestCorpus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code --peers} path of the benchmark harness: the Python peer scripts import only what
 * they declare (checked statically, so it holds on a machine without torch or faiss), and where
 * Debian's python3-torch and python3-faiss are installed ({@code .ci/run} installs them) each
 * path runs once on a tiny size through the CLI, as a user runs it.
 */
class BenchPeersTest {
    static final String PYTHON = "/usr/bin/python3";

    static Path root() {
        return Path.of(System.getenv().getOrDefault("BLOCKSIM_PROJECT_DIR", ".")).toAbsolutePath().normalize();
    }

    record Py(int exit, String output) {
    }

    static Py python(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(PYTHON));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(root().toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "python3 " + String.join(" ", args) + " hung");
        return new Py(p.exitValue(), out);
    }

    static boolean has(String module) throws Exception {
        return python("-c", "import " + module).exit() == 0;
    }

    static void needPython() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(PYTHON)), "needs " + PYTHON);
    }

    /** No peer script imports anything it does not declare (onnx through export.py was the bug). */
    @Test
    void peerScriptsImportOnlyWhatTheyDeclare() throws Exception {
        needPython();
        Py r = python("tools/bench/check_imports.py");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("torch_extract.py: ok; needs numpy, torch beyond"), r.output());
        assertTrue(r.output().contains("peers.py: ok; needs faiss, numpy, torch beyond"), r.output());
        assertTrue(r.output().contains("similars_peers.py: ok; needs numpy, torch beyond"), r.output());
    }

    /** {@code bench extract --peers}: the step and full engines and PyTorch eager on 40 strings. */
    @Test
    void benchExtractPeersRuns(@TempDir Path dir) throws Exception {
        needPython();
        Assumptions.assumeTrue(has("numpy") && has("torch"), "needs python3-numpy and python3-torch (.ci/run installs them)");
        Path json = dir.resolve("extract.json");
        CliTest.Run r = CliTest.run("bench", "extract", "--peers", "--strings", "40", "--full-strings", "40", "--repeats",
                "1", "--threads", "1", "--dataset", TestCorpus.path().toString(), "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(json);
        assertEquals(3, lines.size(), lines.toString());
        JsonNode torch = ResultFormat.JSON.readTree(lines.get(2));
        assertEquals("pytorch", torch.get("engine").asText());
        assertEquals(40, torch.get("strings").asInt());
        assertEquals(400, torch.get("tokens").asLong());
        assertTrue(r.out().contains("pytorch"), r.out());
    }

    /** {@code bench search --peers}: torch and faiss, both metrics, on 2,000 x 16 rows. */
    @Test
    void benchSearchPeersRuns(@TempDir Path dir) throws Exception {
        needPython();
        Assumptions.assumeTrue(has("numpy") && has("torch") && has("faiss"),
                "needs python3-numpy, python3-torch and python3-faiss (.ci/run installs them)");
        Path json = dir.resolve("search.json");
        CliTest.Run r = CliTest.run("bench", "search", "--peers", "--rows", "2000", "--dim", "16", "--queries", "1,2",
                "--k", "3", "--repeats", "1", "--warmups", "0", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        List<String> seen = new ArrayList<>();
        for (String line : Files.readAllLines(json)) {
            JsonNode n = ResultFormat.JSON.readTree(line);
            seen.add(n.get("backend").asText() + " " + n.get("metric").asText() + " " + n.get("q").asInt());
        }
        for (String backend : List.of("torch", "faiss")) {
            for (String metric : List.of("cosine", "l2")) {
                for (int q : new int[] {1, 2}) {
                    assertTrue(seen.contains(backend + " " + metric + " " + q), backend + " " + metric + " " + q
                            + " missing from " + seen + "\n" + r.err());
                }
            }
        }
    }

    /**
     * {@code bench similars --peers}: the seed's way and the torch tile, both metrics, on a 2,000-row
     * store; each finds the job's neighbours for the same strings, and the comparisons are written.
     */
    @Test
    void benchSimilarsPeersRuns(@TempDir Path dir) throws Exception {
        needPython();
        Assumptions.assumeTrue(has("numpy") && has("torch"), "needs python3-numpy and python3-torch (.ci/run installs them)");
        Path store = BenchSimilarsTest.store(dir.resolve("store"));
        Path json = dir.resolve("similars.json");
        CliTest.Run r = CliTest.run("bench", "similars", "--store", store.toString(), "--samples", "24", "--blocks", "0-1",
                "--sites", "proj_output", "--k", "3", "--query-batch", "8", "--gemm-seconds", "0.05", "--peers",
                "--peer-samples", "8", "--seed-cosine-samples", "2", "--threads", "1", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        List<JsonNode> all = BenchSimilarsTest.records(json);
        List<String> seen = new ArrayList<>();
        for (JsonNode e : BenchSimilarsTest.of(all, "entry")) {
            seen.add(e.get("engine").asText() + " " + e.get("metric").asText() + " b" + e.get("block").asInt() + " "
                    + e.get("samples").asInt());
            assertTrue(e.get("median_s").asDouble() > 0 && e.get("ms_per_query").asDouble() > 0, e.toString());
        }
        for (String metric : List.of("l2", "cosine")) {
            for (int b = 0; b < 2; b++) {
                for (String want : List.of("blocksim " + metric + " b" + b + " 24", "torch-tile " + metric + " b" + b + " 8",
                        "torch-seed " + metric + " b" + b + " " + (metric.equals("cosine") ? 2 : 8))) {
                    assertTrue(seen.contains(want), want + " missing from " + seen);
                }
            }
        }
        assertTrue(BenchSimilarsTest.of(all, "gemm").stream().anyMatch(g -> g.get("source").asText().equals("torch-sgemm")),
                all.toString());
        List<JsonNode> vs = BenchSimilarsTest.of(all, "comparison").stream()
                .filter(c -> c.get("against").asText().startsWith("torch-")).toList();
        assertEquals(4, vs.size(), vs.toString());
        for (JsonNode c : vs) {
            assertTrue(c.get("value").asDouble() > 0, c.toString());
            // random rows in 16 dimensions have no ties: the baselines find the job's neighbours
            assertTrue(c.get("overlap").asDouble() > 0.95, c.toString());
        }
        assertTrue(r.out().contains("torch-seed") && r.out().contains("torch-tile"), r.out());
    }
}
