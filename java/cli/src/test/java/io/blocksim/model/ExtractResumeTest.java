package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.store.Store;
import io.blocksim.store.StoreVerifier;
import io.blocksim.text.TestCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 an extraction in a child JVM at 20 or more random moments, run the same command again
 * until it finishes: the store, manifest.json included, must be byte-identical to an
 * uninterrupted run's. Every other kill waits until the run has committed a shard of its own (the
 * manifest lists more shards than when it started) and then kills it a random few milliseconds
 * later; the others fall anywhere in the first part of a run (JVM start, strings, prefix indexes,
 * the middle of a shard). So most runs resume from committed shards, and the test asserts that the
 * last run did: a resume that computed the wrong strings for a shard cannot pass.
 */
class ExtractResumeTest {
    static final int STRINGS = 2400;
    static final int SHARD_ROWS = 32;  // 75 shards: more than the kills commit even on a busy machine (50 ran out once)
    static final int KILLS = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<String> command(Path out, Path corpus) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "io.blocksim.cli.Main", "extract", "--out", out.toString(), "--limit", String.valueOf(STRINGS),
                "--shard-rows", String.valueOf(SHARD_ROWS), "--sites", "proj_output,ffwd_output", "--blocks", "0,5",
                "--positions", "8,9", "--dataset", corpus.toString(), "--device", "cpu"));
    }

    static Process start(Path out, Path corpus, Path log) throws Exception {
        return new ProcessBuilder(command(out, corpus)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    static TreeMap<String, byte[]> files(Path dir) throws Exception {
        TreeMap<String, byte[]> out = new TreeMap<>();
        try (var s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /** shards_done of the store's manifest; -1 while there is none (the manifest is replaced by rename). */
    static int shardsDone(Path store) {
        try {
            return JSON.readTree(store.resolve("manifest.json").toFile()).get("shards_done").asInt();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void killedExtractionsResumeToTheSameBytes(@TempDir Path dir) throws Exception {
        // the corpus's first 40,000 characters (over 2,400 distinct strings): a shorter start-up
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, Files.readString(TestCorpus.path()).substring(0, 40_000));
        Path log = dir.resolve("log.txt");
        Path reference = dir.resolve("reference");
        long t0 = System.nanoTime();
        Process p = start(reference, corpus, log);
        long firstCommitMs = -1;  // when the uninterrupted run's manifest first lists a shard
        while (p.isAlive()) {
            if (firstCommitMs < 0 && shardsDone(reference) > 0) {
                firstCommitMs = (System.nanoTime() - t0) / 1_000_000;
            }
            Thread.sleep(5);
        }
        assertEquals(0, p.exitValue(), Files.readString(log));
        long referenceMs = (System.nanoTime() - t0) / 1_000_000;
        int total = JSON.readTree(reference.resolve("manifest.json").toFile()).get("shards_total").asInt();
        assertEquals(STRINGS / SHARD_ROWS, total);
        // random kills fall anywhere from the JVM's start to about four shards after the first commit
        long randomSpanMs = Math.max(firstCommitMs, 500) + 4 * (referenceMs - Math.max(firstCommitMs, 0)) / total;

        Path resumed = dir.resolve("resumed");
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        List<String> points = new ArrayList<>();
        int afterCommit = 0;
        int resumedRuns = 0;
        for (int attempt = 0; points.size() < KILLS && attempt < 3 * KILLS; attempt++) {
            int before = Math.max(0, shardsDone(resumed));  // no manifest yet: no shard either
            assertTrue(before < total, "the store completed after only " + points.size() + " kills: " + points);
            resumedRuns += before > 0 ? 1 : 0;
            Process child = start(resumed, corpus, log);
            long began = System.nanoTime();
            boolean waitForCommit = attempt % 2 == 1;
            if (waitForCommit) {
                long deadline = began + TimeUnit.MINUTES.toNanos(2);
                while (child.isAlive() && shardsDone(resumed) <= before && System.nanoTime() < deadline) {
                    Thread.sleep(2);
                }
                Thread.sleep(rnd.nextInt(30));
            } else {
                child.waitFor(rnd.nextLong(randomSpanMs), TimeUnit.MILLISECONDS);
            }
            if (child.isAlive()) {
                child.destroyForcibly();  // SIGKILL: no shutdown hooks, no cleanup
                child.waitFor();
                int after = shardsDone(resumed);
                points.add((System.nanoTime() - began) / 1_000_000 + " ms, shards " + before + "->" + after
                        + (waitForCommit ? " (after a commit)" : ""));
                afterCommit += waitForCommit && after > before ? 1 : 0;
            } else {
                assertEquals(0, child.exitValue(), Files.readString(log));
            }
        }
        String story = "seed " + seed + ", reference " + referenceMs + " ms (first commit " + firstCommitMs
                + " ms), kills: " + points;
        System.out.println("ExtractResumeTest: " + story);
        assertTrue(points.size() >= KILLS, story);
        assertTrue(afterCommit >= KILLS / 2 - 1, "too few kills after a commit: " + story);
        int beforeLast = shardsDone(resumed);
        assertTrue(beforeLast > 0 && beforeLast < total, "the last run must resume from committed shards: " + story);
        assertTrue(resumedRuns >= KILLS / 2, "too few runs resumed from committed shards: " + story);

        Process last = start(resumed, corpus, log);
        assertTrue(last.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, last.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("resuming at shard " + beforeLast + " of " + total), story);

        // every file, manifest.json included (it holds no timestamps: checksums, sizes and counts only)
        TreeMap<String, byte[]> want = files(reference);
        TreeMap<String, byte[]> got = files(resumed);
        assertTrue(want.containsKey("manifest.json"));
        assertEquals(want.keySet(), got.keySet(), "same files; " + story);
        for (String f : want.keySet()) {
            assertArrayEquals(want.get(f), got.get(f), f + " differs; " + story);
        }
        assertTrue(StoreVerifier.verify(resumed).ok());
        try (Store s = Store.open(resumed)) {
            assertEquals(STRINGS, s.stringCount());
        }
    }
}
