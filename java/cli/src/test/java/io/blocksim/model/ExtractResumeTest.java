package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Kill -9 an extraction in a child JVM at random moments, run the same command again until it
 * finishes: the store must be byte-identical to an uninterrupted run's.
 */
class ExtractResumeTest {
    static final int STRINGS = 3000;

    static List<String> command(Path out, Path corpus) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "io.blocksim.cli.Main", "extract", "--out", out.toString(), "--limit", String.valueOf(STRINGS),
                "--shard-rows", "400", "--dataset", corpus.toString(), "--device", "cpu"));
        return cmd;
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

    @Test
    void killedExtractionsResumeToTheSameBytes(@TempDir Path dir) throws Exception {
        Path corpus = TestCorpus.path();
        Path log = dir.resolve("log.txt");
        Path reference = dir.resolve("reference");
        Process p = start(reference, corpus, log);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), Files.readString(log));

        Path resumed = dir.resolve("resumed");
        Random rnd = new Random();
        int kills = 0;
        for (int attempt = 0; attempt < 4; attempt++) {
            Process child = start(resumed, corpus, log);
            long delay = 500 + rnd.nextInt(2500);
            if (!child.waitFor(delay, TimeUnit.MILLISECONDS)) {
                child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
                child.waitFor();
                kills++;
            }
        }
        Process last = start(resumed, corpus, log);
        assertTrue(last.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, last.exitValue(), Files.readString(log));

        TreeMap<String, byte[]> want = files(reference);
        TreeMap<String, byte[]> got = files(resumed);
        assertEquals(want.keySet(), got.keySet(), "same files after " + kills + " kills");
        for (String f : want.keySet()) {
            if (!f.equals("manifest.json")) {
                assertArrayEquals(want.get(f), got.get(f), f + " differs after " + kills + " kills");
            }
        }
        assertTrue(StoreVerifier.verify(resumed).ok());
        try (Store s = Store.open(resumed)) {
            assertEquals(STRINGS, s.stringCount());
        }
    }
}
