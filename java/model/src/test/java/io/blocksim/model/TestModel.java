package io.blocksim.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Shared test fixtures: the project folder, the shipped model (opened once), the corpus. */
final class TestModel {
    private static TransformerModel model;

    private TestModel() {
    }

    static Path projectDir() {
        String dir = System.getenv("BLOCKSIM_PROJECT_DIR");
        return (dir == null || dir.isBlank() ? Path.of("") : Path.of(dir)).toAbsolutePath();
    }

    static Path modelDir() {
        return projectDir().resolve("artifacts/model");
    }

    /** One session for all test classes: loading costs a second or so. */
    static synchronized TransformerModel model() {
        if (model == null) {
            model = TransformerModel.openDefault();
        }
        return model;
    }

    /** The TinyShakespeare text, or null when it is not on this machine. */
    static Path corpus() {
        String env = System.getenv("BLOCKSIM_DATASET");
        Path p = env != null && !env.isBlank() ? Path.of(env)
                : projectDir().resolve("../shared/data/tinyshakespeare/input.txt").normalize();
        return Files.isRegularFile(p) ? p : null;
    }
}
