package io.blocksim.text;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Finds the TinyShakespeare corpus for tests: $BLOCKSIM_DATASET, else ../shared beside the project. */
public final class TestCorpus {
    private static Corpus cached;

    private TestCorpus() {
    }

    public static Path path() {
        String env = System.getenv(Corpus.ENV_DATASET);
        if (env != null && Files.isRegularFile(Path.of(env))) {
            return Path.of(env);
        }
        String dir = System.getenv().getOrDefault("BLOCKSIM_PROJECT_DIR", ".");
        Path shared = Path.of(dir).toAbsolutePath().resolve("../shared/data/tinyshakespeare/input.txt").normalize();
        Assumptions.assumeTrue(Files.isRegularFile(shared), "TinyShakespeare corpus not found; set BLOCKSIM_DATASET");
        return shared;
    }

    public static synchronized Corpus get() {
        if (cached == null) {
            cached = Corpus.read(path());
        }
        return cached;
    }
}
