package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.api.BlocksimStore;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.TestStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code blocksim similars} and {@code similars show} on a small store: output, resume, one-line refusals. */
class SimilarsCommandTest {
    @TempDir
    Path tmp;

    private Path store() {
        return TestStores.build(tmp.resolve("store"), 6, 2000, 700, List.of(
                new EntrySpec("proj_output", 0, 5, 16),
                new EntrySpec("proj_output", 1, 5, 16),
                new EntrySpec("proj_output", 1, 2, 16)), 3);
    }

    @Test
    void runsShowsAndResumes() throws Exception {
        Path store = store();
        Path out = tmp.resolve("res");
        CliTest.Run r = CliTest.run("similars", "--store", store.toString(), "--out", out.toString(), "--samples", "40",
                "--seed", "7", "--sites", "proj_output", "--blocks", "1", "--positions", "-1,2", "--k", "4",
                "--metric", "cosine", "--device", "cpu", "--query-batch", "16", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = ResultFormat.JSON.readTree(r.out());
        assertEquals(2, j.get("entries").asInt());
        assertEquals(80, j.get("queries_run").asInt());
        assertTrue(Files.exists(out.resolve("proj_output-b1-t5.ids.npy")));
        assertTrue(Files.exists(out.resolve("proj_output-b1-t2.scores.npy")));

        CliTest.Run again = CliTest.run("similars", "--store", store.toString(), "--out", out.toString(), "--samples",
                "40", "--seed", "7", "--sites", "proj_output", "--blocks", "1", "--positions", "-1,2", "--k", "4",
                "--metric", "cosine", "--device", "cpu");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("0 queries run"), again.out());

        int first = io.blocksim.store.Npy.map(out.resolve("sample.npy"), java.lang.foreign.Arena.ofAuto()).toIntArray()[0];
        String text;
        try (BlocksimStore s = BlocksimStore.open(store)) {
            text = s.string(first);
        }
        CliTest.Run show = CliTest.run("similars", "show", out.toString(), text);
        assertEquals(0, show.code(), show.err());
        assertTrue(show.out().contains("## proj_output block 1 position 5 (cosine)"), show.out());
        assertTrue(show.out().contains("aggregated over positions [5, 2]"), show.out());
        CliTest.Run sj = CliTest.run("similars", "show", out.toString(), text, "--positions", "2", "--json");
        assertEquals(0, sj.code(), sj.err());
        JsonNode s = ResultFormat.JSON.readTree(sj.out());
        assertEquals(1, s.get("entries").size());
        assertEquals(4, s.get("entries").get(0).get("results").size());
        assertEquals(3, s.get("entries").get(0).get("results").get(0).get("string").asText().length());
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws Exception {
        Path store = store();
        Path out = tmp.resolve("bad");
        String[][] cases = {
            {"--sites", "nope"},
            {"--sites", "proj_output", "--blocks", "7"},
            {"--sites", "proj_output", "--blocks", "0", "--positions", "2"},
            {"--sites", "proj_output", "--blocks", "1", "--positions", "2", "--k", "1000"},
            {"--sites", "proj_output", "--blocks", "x"},
            {"--sites", "proj_output", "--blocks", "0", "--samples", "2001"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("similars", "--store", store.toString(), "--out",
                    out.toString(), "--device", "cpu"));
            if (!List.of(c).contains("--samples")) {
                args.addAll(List.of("--samples", "10"));
            }
            args.addAll(List.of(c));
            CliTest.Run r = CliTest.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", c) + ": " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertFalse(Files.exists(out), String.join(" ", c));
        }
        CliTest.Run none = CliTest.run("similars", "--store", store.toString(), "--out", out.toString());
        assertEquals(2, none.code());
        assertTrue(none.err().contains("--samples"), none.err());

        CliTest.Run ok = CliTest.run("similars", "--store", store.toString(), "--out", out.toString(), "--samples", "10",
                "--sites", "proj_output", "--blocks", "0", "--device", "cpu");
        assertEquals(0, ok.code(), ok.err());
        CliTest.Run other = CliTest.run("similars", "--store", store.toString(), "--out", out.toString(), "--samples",
                "10", "--sites", "proj_output", "--blocks", "0", "--k", "3", "--device", "cpu");
        assertEquals(2, other.code());
        assertTrue(other.err().contains("--force"), other.err());
        CliTest.Run forced = CliTest.run("similars", "--store", store.toString(), "--out", out.toString(), "--samples",
                "10", "--sites", "proj_output", "--blocks", "0", "--k", "3", "--device", "cpu", "--force");
        assertEquals(0, forced.code(), forced.err());
        CliTest.Run notSampled = CliTest.run("similars", "show", out.toString(), "zzzzzz");
        assertEquals(1, notSampled.code());
        assertEquals(1, notSampled.err().lines().count(), notSampled.err());
    }
}
