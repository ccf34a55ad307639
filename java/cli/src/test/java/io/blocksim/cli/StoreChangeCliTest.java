package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Npy;
import io.blocksim.store.TestStores;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's example from the command line: a 4,000 x 384 store searched with many queries while
 * its shard is truncated to 4096 bytes. The CLI, in its own JVM, must end with one line that says
 * the store changed and names {@code blocksim verify}, exit 1, no stack trace and no results.
 */
class StoreChangeCliTest {
    static final EntryKey KEY = new EntryKey("block_output", 0, 7);
    static final String SHARD = "block_output-b0-t7/vectors-00000.npy";

    @Test
    void truncatedWhileTheCliSearchesIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
        Path store = TestStores.build(dir.resolve("store"), 8, 4_000, 4_000, List.of(new EntrySpec(KEY, 384)), 3);
        boolean during = false;
        for (int attempt = 0; attempt < 4 && !during; attempt++) {
            int queries = 8_000 << attempt;  // long enough that the truncation lands while the scan runs
            float[] q = new float[queries * 384];
            SplittableRandom rnd = new SplittableRandom(attempt);
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            Path qf = dir.resolve("q" + attempt + ".npy");
            Npy.writeFloats(qf, q, queries, 384);
            Path copy = dir.resolve("store" + attempt);
            copyTree(store, copy);
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "io.blocksim.cli.Main", "search", "--store",
                    copy.toString(), "--site", "block_output", "--block", "0", "--position", "7", "--query-npy",
                    qf.toString(), "--device", "cpu", "--metric", "l2"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            p.getOutputStream().close();
            var out = p.getInputStream();
            byte[][] o = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    o[0] = out.readAllBytes();
                } catch (java.io.IOException e) {
                    o[0] = new byte[0];
                }
            });
            TimeUnit.MILLISECONDS.sleep(1_500L * (attempt + 1));  // JVM start, the store opened, the scan under way
            try (RandomAccessFile raf = new RandomAccessFile(copy.resolve(SHARD).toFile(), "rw")) {
                raf.setLength(4096);
            }
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI hung");
            reader.join();
            String stdout = new String(o[0], StandardCharsets.UTF_8);
            if (p.exitValue() == 0) {
                continue;  // it finished before the truncation: more queries
            }
            if (p.exitValue() == 1 && err.contains("is damaged") && err.contains("truncated")) {
                continue;  // truncated before the store was opened (a slow JVM start on a busy machine): again
            }
            during = true;
            assertEquals(1, p.exitValue(), err);
            List<String> lines = err.lines().filter(l -> !l.startsWith("WARNING")).toList();
            assertEquals(1, lines.size(), "one line: " + err);
            assertTrue(lines.get(0).startsWith("blocksim: ") && lines.get(0).contains("changed")
                    && lines.get(0).contains("blocksim verify"), lines.get(0));
            assertFalse(err.contains("\tat ") || err.contains("Exception") || err.contains("InternalError"), err);
            assertTrue(stdout.isBlank(), "no results printed: " + stdout);
        }
        assertTrue(during, "every search finished before its shard was truncated");
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var walk = java.nio.file.Files.walk(from)) {
            for (Path src : (Iterable<Path>) walk::iterator) {
                Path dst = to.resolve(from.relativize(src).toString());
                if (java.nio.file.Files.isDirectory(src)) {
                    java.nio.file.Files.createDirectories(dst);
                } else {
                    java.nio.file.Files.copy(src, dst);
                }
            }
        }
    }
}
