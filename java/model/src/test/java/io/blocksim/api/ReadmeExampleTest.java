package io.blocksim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.Metric;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's library example, taken from the README as it is, compiled against this class path
 * and run: it extracts a small store, searches it with prompts and prints the hits. The same
 * search through the API here must print the same lines.
 */
class ReadmeExampleTest {
    @Test
    void readmeExampleCompilesAndRuns(@TempDir Path tmp) throws Exception {
        String project = System.getenv("BLOCKSIM_PROJECT_DIR");
        Path readme = Path.of(project == null ? "." : project).toAbsolutePath().resolve("README.md");
        // the example reads the corpus as a user's program would: BLOCKSIM_DATASET, else a download
        String dataset = System.getenv("BLOCKSIM_DATASET");
        Assumptions.assumeTrue(dataset != null && Files.isRegularFile(Path.of(dataset)),
                "BLOCKSIM_DATASET is not set to the corpus (.ci/run sets it)");
        String text = Files.readString(readme);
        Matcher m = Pattern.compile("```java\n(.*?public class LibraryExample.*?)```", Pattern.DOTALL).matcher(text);
        assertTrue(m.find(), "README.md has a ```java block with class LibraryExample");
        Path src = tmp.resolve("src/LibraryExample.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, m.group(1));
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        int rc = javac.run(null, diag, diag, "-cp", System.getProperty("java.class.path"), "-d", classes.toString(),
                src.toString());
        assertEquals(0, rc, "the README example compiles:\n" + diag.toString(StandardCharsets.UTF_8));

        Path store = tmp.resolve("store");
        String out;
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = cl.loadClass("LibraryExample").getMethod("main", String[].class);
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[] {store.toString()});
        } finally {
            System.setOut(old);
        }
        out = buf.toString(StandardCharsets.UTF_8);
        System.err.print(out);
        List<String> lines = out.lines().toList();
        assertEquals(8, lines.size(), out);
        assertTrue(lines.get(0).startsWith("Closest to 'my most gr' ("), out);
        assertTrue(lines.get(4).startsWith("Closest to 'is dreams,' ("), out);

        // the same through the API directly: same labels and scores
        try (BlocksimStore s = BlocksimStore.open(store); Searcher searcher = Searcher.builder(s).backend("cpu").build()) {
            assertEquals(5_000, s.stringCount());
            assertEquals(List.of(new StoreEntry("proj_output", 5, 9, 5_000, 384)), s.entries());
            SearchResponse r = searcher.search(SearchRequest.builder("proj_output", 5)
                    .prompts("my most gr", "is dreams,").k(3).metric(Metric.COSINE).build());
            assertEquals("cpu", r.backend());
            for (int q = 0; q < 2; q++) {
                for (int i = 0; i < 3; i++) {
                    Hit h = r.queries().get(q).hits().get(i);
                    assertEquals(String.format("  '%s' (%.3f)", h.label(), h.score()), lines.get(q * 4 + 1 + i));
                }
            }
        }

        closingASearcherUnderPromptSearchesWaitsForThem(store);
    }

    /**
     * Closing a searcher while threads run prompt searches: the searcher waits for them before it
     * frees the model (freeing an ONNX Runtime session under a running search crashed the JVM),
     * and every thread then ends with a ClosedException.
     */
    private static void closingASearcherUnderPromptSearchesWaitsForThem(Path store) throws Exception {
        SearchRequest prompts = SearchRequest.builder("proj_output", 5).prompts("my most gr", "is dreams,").k(3).build();
        for (int round = 0; round < 3; round++) {
            try (BlocksimStore s = BlocksimStore.open(store)) {
                Searcher searcher = Searcher.builder(s).backend("cpu").build();
                searcher.search(prompts);  // the model is open
                java.util.concurrent.ConcurrentLinkedQueue<Throwable> ends = new java.util.concurrent.ConcurrentLinkedQueue<>();
                java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
                List<Thread> threads = new java.util.ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    threads.add(Thread.ofPlatform().start(() -> {
                        try {
                            while (true) {
                                searcher.search(prompts);
                                done.incrementAndGet();
                            }
                        } catch (Throwable e) {
                            ends.add(e);
                        }
                    }));
                }
                Thread.sleep(150);
                searcher.close();
                for (Thread t : threads) {
                    t.join(30_000);
                }
                assertEquals(4, ends.size());
                for (Throwable e : ends) {
                    assertEquals(io.blocksim.ClosedException.class, e.getClass(), String.valueOf(e));
                }
                assertTrue(done.get() > 0, "searches ran before the close");
            }
        }
    }
}
