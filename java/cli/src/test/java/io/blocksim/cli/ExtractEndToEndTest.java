package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.store.Store;
import io.blocksim.store.StoreVerifier;
import io.blocksim.text.TestCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extraction and search through the CLI on a small corpus cut from TinyShakespeare that contains
 * the notebook's prompts: the prompt finds itself, and a full disk or an unwritable folder ends
 * with a clear error and a store that still opens.
 */
class ExtractEndToEndTest {
    static final List<String> PROMPTS = List.of("my most gr", "is dreams,");
    private static String text;
    private Path mounted;

    /** The corpus's first 3,000 characters plus the first line holding each prompt. */
    @BeforeAll
    static void corpus() throws Exception {
        Path found = TestCorpus.find();
        if (found == null) {
            return;  // each test that needs it is reported skipped (writeCorpus)
        }
        String all = Files.readString(found);
        StringBuilder sb = new StringBuilder(all.substring(0, 3000));
        for (String p : PROMPTS) {
            int at = all.indexOf(p);
            int from = all.lastIndexOf('\n', at) + 1;
            sb.append(all, from, all.indexOf('\n', at) + 1);
        }
        text = sb.toString();
    }

    static Path writeCorpus(Path dir) throws Exception {
        Assumptions.assumeTrue(text != null, TestCorpus.MISSING);
        Path c = dir.resolve("corpus.txt");
        Files.writeString(c, text);
        return c;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) {
            sh("umount", mounted.toString());
        }
    }

    static JsonNode json(CliTest.Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return ResultFormat.JSON.readTree(r.out());
    }

    static void assertPromptFirst(JsonNode result, double minScore) {
        JsonNode qs = result.get("queries");
        assertEquals(PROMPTS.size(), qs.size());
        for (int i = 0; i < PROMPTS.size(); i++) {
            JsonNode first = qs.get(i).get("results").get(0);
            assertEquals(PROMPTS.get(i), first.get("string").asText(), "prompt " + PROMPTS.get(i) + " finds itself first");
            assertTrue(first.get("score").asDouble() >= minScore, "score " + first.get("score"));
        }
    }

    @Test
    void promptsFindThemselvesWithCosineOne(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("st");
        CliTest.Run x = CliTest.run("extract", "--out", store.toString(), "--dataset", writeCorpus(dir).toString(),
                "--sites", "proj_output,ffwd_output", "--blocks", "0,5", "--positions", "8,9", "--device", "cpu");
        assertEquals(0, x.code(), x.err());
        assertTrue(StoreVerifier.verify(store).ok());

        // the notebook's first table: proj_output block 0, queries from the prompts at their last position
        List<String> args = new ArrayList<>(List.of("search", "--store", store.toString(), "--site", "proj_output",
                "--block", "0", "--json"));
        PROMPTS.forEach(p -> args.addAll(List.of("--prompt", p)));
        JsonNode r = json(CliTest.run(args.toArray(String[]::new)));
        assertPromptFirst(r, 0.99995);
        assertEquals("cosine", r.get("metric").asText());

        // the notebook's L2 comparison: the prompt itself at distance ~0
        args.addAll(List.of("--metric", "l2"));
        JsonNode l2 = json(CliTest.run(args.toArray(String[]::new)));
        assertPromptFirst(l2, 0);
        assertTrue(l2.get("queries").get(0).get("results").get(0).get("score").asDouble() < 1e-3);

        // the concatenated all-position embeddings: computed from the model's table, nothing stored
        List<String> emb = new ArrayList<>(List.of("search", "--store", store.toString(), "--site", "embedding",
                "--position", "all", "--json", "-k", "3"));
        PROMPTS.forEach(p -> emb.addAll(List.of("--prompt", p)));
        JsonNode e = json(CliTest.run(emb.toArray(String[]::new)));
        assertPromptFirst(e, 0.99995);
        assertEquals(3, e.get("queries").get(0).get("results").size());

        CliTest.Run bad = CliTest.run("search", "--store", store.toString(), "--site", "embedding", "--position", "all",
                "--prompt", "my most");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("10"), bad.err());
        CliTest.Run badSite = CliTest.run("search", "--store", store.toString(), "--site", "proj_output",
                "--position", "all", "--prompt", "my most gr");
        assertEquals(2, badSite.code());
        assertTrue(badSite.err().contains("--site embedding"), badSite.err());
    }

    /** The demo's quick store: the first strings plus the prompts, which then find themselves. */
    @Test
    void limitedStoreWithIncludedPrompts(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("quick");
        io.blocksim.text.Corpus corpus = io.blocksim.text.Corpus.read(writeCorpus(dir));
        try (var model = io.blocksim.model.TransformerModel.openDefault()) {
            var sum = io.blocksim.model.StoreExtraction.run(model, corpus, 10, 300, PROMPTS,
                    io.blocksim.model.StoreExtraction.demoTargets(model.spec().nLayer(), 10), 128,
                    io.blocksim.model.PrefixExtractor.Options.defaults(), store, false, n -> { }, line -> { });
            assertEquals(302, sum.strings());
            assertThrows(io.blocksim.InvalidArgumentException.class, () -> io.blocksim.model.StoreExtraction.run(model, corpus, 10, 300,
                    List.of("not in it!"), List.of(), 128, io.blocksim.model.PrefixExtractor.Options.defaults(),
                    dir.resolve("x"), false, n -> { }, line -> { }));
        }
        try (Store s = Store.open(store)) {
            assertEquals(PROMPTS, List.of(s.string(300), s.string(301)));
        }
        assertTrue(StoreVerifier.verify(store).ok());
        List<String> args = new ArrayList<>(List.of("search", "--store", store.toString(), "--site", "ffwd_output",
                "--block", "5", "--json"));
        PROMPTS.forEach(p -> args.addAll(List.of("--prompt", p)));
        assertPromptFirst(json(CliTest.run(args.toArray(String[]::new))), 0.99995);
    }

    @Test
    void unwritableFolderIsAClearErrorWithNothingWritten(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        CliTest.Run r = CliTest.run("extract", "--out", file.resolve("st").toString(), "--dataset",
                writeCorpus(dir).toString(), "--sites", "proj_output", "--blocks", "0", "--device", "cpu");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("blocksim: could not create"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals("x", Files.readString(file));
    }

    /**
     * A real small file system (tmpfs, which needs root): the disk fills up during the third shard,
     * then it is made read-only. Each time the error is one clear line and the store still opens
     * and verifies; with space again the same command finishes the store.
     */
    @Test
    void fullDiskAndReadOnlyDiskLeaveAStoreThatOpens(@TempDir Path dir) throws Exception {
        Path corpus = writeCorpus(dir);
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        Assumptions.assumeTrue(sh("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt.toString()) == 0,
                "cannot mount a tmpfs here (needs root)");
        mounted = mnt;
        Path store = mnt.resolve("st");
        // ~2,900 strings in shards of 1,000: each shard's proj_output block 0 is about 1.5 MB
        String[] extract = {"extract", "--out", store.toString(), "--dataset", corpus.toString(), "--sites",
            "proj_output", "--blocks", "0", "--shard-rows", "1000", "--device", "cpu"};
        CliTest.Run full = CliTest.run(extract);
        assertEquals(1, full.code(), full.err());
        assertTrue(full.err().contains("not enough disk space"), full.err());
        assertTrue(full.err().contains("run again to resume"), full.err());
        assertOnlyIncomplete(store);
        CliTest.Run info = CliTest.run("info", store.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("2 of 3") && info.out().contains("INCOMPLETE"), info.out());

        assertEquals(0, sh("mount", "-o", "remount,ro", mnt.toString()));
        CliTest.Run ro = CliTest.run(extract);
        assertEquals(1, ro.code(), ro.err());
        assertTrue(ro.err().startsWith("blocksim: "), ro.err());
        assertTrue(ro.err().toLowerCase().contains("read-only"), ro.err());
        assertOnlyIncomplete(store);

        assertEquals(0, sh("mount", "-o", "remount,rw,size=16m", mnt.toString()));
        CliTest.Run done = CliTest.run(extract);
        assertEquals(0, done.code(), done.err());
        assertTrue(StoreVerifier.verify(store).ok());
        try (Store s = Store.open(store)) {
            assertTrue(s.stringCount() > 2500);
        }
    }

    /** Every written shard checks out; the one problem is that the store is not finished. */
    static void assertOnlyIncomplete(Path store) {
        var problems = StoreVerifier.verify(store).problems();
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).message().contains("incomplete"), problems.toString());
    }

    static int sh(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
