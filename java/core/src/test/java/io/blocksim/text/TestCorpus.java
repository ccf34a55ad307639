package io.blocksim.text;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Finds the TinyShakespeare corpus for tests: $BLOCKSIM_DATASET, else ../shared beside the project. */
public final class TestCorpus {
    private static Corpus cached;

    private TestCorpus() {
    }

    public static final String MISSING = "TinyShakespeare corpus not found; set BLOCKSIM_DATASET";

    /**
     * The corpus, or a JUnit assumption failure when it is absent. Call it from a test or a
     * {@code @BeforeEach} method, never from {@code @BeforeAll}: an assumption that fails there
     * aborts the whole class, which surefire reports as "Tests run: 0" instead of as skipped
     * tests (use {@link #find} there and assume in {@code @BeforeEach}; {@code TestHygieneTest}
     * checks this).
     */
    public static Path path() {
        Path p = find();
        Assumptions.assumeTrue(p != null, MISSING);
        return p;
    }

    /** The corpus, or null when it is absent: $BLOCKSIM_DATASET, else ../shared beside the project. */
    public static Path find() {
        String env = System.getenv(Corpus.ENV_DATASET);
        if (env != null && Files.isRegularFile(Path.of(env))) {
            return Path.of(env);
        }
        String dir = System.getenv().getOrDefault("BLOCKSIM_PROJECT_DIR", ".");
        Path shared = Path.of(dir).toAbsolutePath().resolve("../shared/data/tinyshakespeare/input.txt").normalize();
        return Files.isRegularFile(shared) ? shared : null;
    }

    /** The corpus read once, or a JUnit assumption failure when it is absent (not from {@code @BeforeAll}). */
    public static synchronized Corpus get() {
        if (cached == null) {
            cached = Corpus.read(path());
        }
        return cached;
    }
}
