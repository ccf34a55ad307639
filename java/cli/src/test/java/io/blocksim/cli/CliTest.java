package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.store.Fixtures;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyDtype;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it: outputs, exit codes and one-line errors for bad input. */
class CliTest {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** An imported store of 50 random 8-d rows labelled row0..row49, and a query file of rows 3 and 7. */
    static Path imported(Path dir) throws Exception {
        Random rnd = new Random(1);
        int rows = 50;
        int dim = 8;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate((long) rows * dim * 4);
            MemorySegment q = a.allocate(2L * dim * 4);
            for (int i = 0; i < rows * dim; i++) {
                x.setAtIndex(Npy.FLOAT32, i, (float) rnd.nextGaussian());
            }
            for (int c = 0; c < dim; c++) {
                q.setAtIndex(Npy.FLOAT32, c, x.getAtIndex(Npy.FLOAT32, 3L * dim + c));
                q.setAtIndex(Npy.FLOAT32, dim + c, x.getAtIndex(Npy.FLOAT32, 7L * dim + c));
            }
            Npy.write(dir.resolve("x.npy"), NpyDtype.FLOAT32, new long[] {rows, dim}, x);
            Npy.write(dir.resolve("q.npy"), NpyDtype.FLOAT32, new long[] {2, dim}, q);
        }
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            labels.add("row" + i);
        }
        Files.write(dir.resolve("labels.txt"), labels);
        Run r = run("import", "--vectors", dir.resolve("x.npy").toString(), "--labels",
                dir.resolve("labels.txt").toString(), "--out", dir.resolve("st").toString());
        assertEquals(0, r.code, r.err);
        return dir.resolve("st");
    }

    static void writeQueries(Path file, float[][] q) {
        int dim = q.length == 0 ? 8 : q[0].length;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(4, (long) q.length * dim * 4));
            for (int i = 0; i < q.length; i++) {
                for (int c = 0; c < dim; c++) {
                    s.setAtIndex(Npy.FLOAT32, (long) i * dim + c, q[i][c]);
                }
            }
            Npy.write(file, NpyDtype.FLOAT32, new long[] {q.length, dim}, s.asSlice(0, (long) q.length * dim * 4));
        }
    }

    @Test
    void searchPrintsTheNotebookTableAndJson(@TempDir Path dir) throws Exception {
        Path st = imported(dir);
        Run r = run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("q.npy").toString(), "-k", "3");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith("Closest to query 0: \n\t        'row3' (1.000)\n"), r.out);
        assertTrue(r.out.contains("Closest to query 1: \n\t        'row7' (1.000)\n"), r.out);

        Run j = run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("q.npy").toString(), "-k", "50", "--metric", "l2", "--json");
        assertEquals(0, j.code, j.err);
        JsonNode root = ResultFormat.JSON.readTree(j.out);
        assertEquals("cpu", root.get("backend").asText());
        assertEquals("l2", root.get("metric").asText());
        assertEquals(50, root.get("k").asInt());
        JsonNode hits = root.get("queries").get(1).get("results");
        assertEquals(50, hits.size());
        assertEquals(7, hits.get(0).get("row").asInt());
        assertEquals("row7", hits.get(0).get("string").asText());
        assertEquals(0.0, hits.get(0).get("score").asDouble(), 1e-6);
        for (int i = 1; i < 50; i++) {
            assertTrue(hits.get(i).get("score").asDouble() >= hits.get(i - 1).get("score").asDouble());
        }
        assertTrue(root.get("elapsed_ms").asDouble() >= 0);
    }

    @Test
    void earlierPositionsSearchUniquePrefixes(@TempDir Path dir) throws Exception {
        Path st = Fixtures.modelStore(dir.resolve("st"));
        float[][] q = new float[1][8];
        q[0][0] = 1;
        writeQueries(dir.resolve("q.npy"), q);
        Run r = run("search", "--store", st.toString(), "--site", "ffwd_output", "--block", "1", "--position", "-3",
                "--query-npy", dir.resolve("q.npy").toString(), "-k", "2", "--json");
        assertEquals(0, r.code, r.err);
        for (JsonNode h : ResultFormat.JSON.readTree(r.out).get("queries").get(0).get("results")) {
            assertEquals(2, h.get("string").asText().length(), "position 1 results are 2-character prefixes");
        }
    }

    @Test
    void normsPrintsOneLinePerBlock(@TempDir Path dir) {
        Path st = Fixtures.modelStore(dir.resolve("st"));
        Run r = run("norms", "--store", st.toString(), "--site", "block_output", "--rows", "5");
        assertEquals(0, r.code, r.err);
        String[] lines = r.out.split("\n");
        assertEquals(2, lines.length, r.out);
        assertTrue(lines[0].matches("Layer 0: mean [0-9.]+, std [0-9.]+"), lines[0]);
        assertTrue(lines[1].startsWith("Layer 1: "), lines[1]);
    }

    @Test
    void badInputGivesOneLineAndTheRightExitCode(@TempDir Path dir) throws Exception {
        Path st = imported(dir);
        String q = dir.resolve("q.npy").toString();
        Path model = Fixtures.modelStore(dir.resolve("model-store"));
        writeQueries(dir.resolve("nan.npy"), new float[][] {{0, 0, 0, Float.NaN, 0, 0, 0, 0}});
        writeQueries(dir.resolve("inf.npy"), new float[][] {{0, 0, 0, Float.POSITIVE_INFINITY, 0, 0, 0, 0}});
        writeQueries(dir.resolve("wide.npy"), new float[][] {new float[9]});
        writeQueries(dir.resolve("empty.npy"), new float[0][8]);

        expectError(2, "has no nosuch", run("search", "--store", st.toString(), "--site", "nosuch", "--query-npy", q));
        expectError(2, "unknown site", run("search", "--store", model.toString(), "--site", "nosuch", "--query-npy", q));
        expectError(2, "block 9", run("search", "--store", model.toString(), "--site", "block_output", "--block", "9",
                "--query-npy", q));
        expectError(2, "position 7", run("search", "--store", model.toString(), "--site", "block_output",
                "--position", "7", "--query-npy", q));
        expectError(2, "k = 0", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q, "-k", "0"));
        expectError(2, "k = 51", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q, "-k", "51"));
        expectError(1, "9 values", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("wide.npy").toString()));
        expectError(1, "NaN", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("nan.npy").toString()));
        expectError(1, "Infinity", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("inf.npy").toString()));
        expectError(1, "empty", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("empty.npy").toString()));
        expectError(1, "no store", run("search", "--store", dir.resolve("missing").toString(), "--site", "vectors",
                "--query-npy", q));
        expectError(2, "metric", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q,
                "--metric", "dot"));
        expectError(2, "Missing required", run("search", "--store", st.toString(), "--query-npy", q));
    }

    @Test
    void damagedStoresAreNamedNeverRead(@TempDir Path dir) throws Exception {
        Path st = imported(dir);
        String q = dir.resolve("q.npy").toString();
        Path shard;
        try (var files = Files.walk(st)) {
            shard = files.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().startsWith("vectors-")).findFirst().orElseThrow();
        }
        byte[] original = Files.readAllBytes(shard);

        // an altered byte: search can't tell cheaply, verify names the file
        byte[] altered = original.clone();
        altered[altered.length - 1] ^= 0x55;
        Files.write(shard, altered);
        Run v = run("verify", st.toString());
        assertEquals(1, v.code);
        assertTrue(v.out.contains(shard.getFileName().toString()), v.out);

        // a truncated shard: refused by name on open
        Files.write(shard, java.util.Arrays.copyOf(original, original.length - 100));
        Run s = expectError(1, shard.getFileName().toString(), run("search", "--store", st.toString(), "--site",
                "vectors", "--query-npy", q));
        assertTrue(s.err.contains("truncated") || s.err.contains("short"), s.err);

        // a manifest of another format version
        Files.write(shard, original);
        assertEquals(0, run("verify", st.toString()).code);
        Path manifest = st.resolve("manifest.json");
        String m = Files.readString(manifest);
        Files.writeString(manifest, m.replaceFirst("\"format_version\"\\s*:\\s*1", "\"format_version\" : 99"),
                StandardOpenOption.TRUNCATE_EXISTING);
        expectError(1, "version", run("search", "--store", st.toString(), "--site", "vectors", "--query-npy", q));
        expectError(1, "version", run("info", st.toString()));
    }

    @Test
    void helpListsEveryCommand() {
        Run r = run("--help");
        assertEquals(0, r.code);
        for (String c : List.of("search", "norms", "info", "verify", "import")) {
            assertTrue(r.out.contains("  " + c + " "), c + " missing from:\n" + r.out);
        }
    }

    static Run expectError(int code, String fragment, Run r) {
        assertEquals(code, r.code, "exit code; stderr: " + r.err);
        assertTrue(r.err.contains(fragment), "stderr should mention '" + fragment + "': " + r.err);
        assertFalse(r.err.contains("\tat "), "no stack trace without --verbose: " + r.err);
        assertTrue(r.out.isEmpty(), "nothing on stdout: " + r.out);
        return r;
    }
}
