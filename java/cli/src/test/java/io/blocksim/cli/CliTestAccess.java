package io.blocksim.cli;

import java.nio.file.Path;

/** The CLI tests' helpers for tests in other packages. */
public final class CliTestAccess {
    private CliTestAccess() {
    }

    /** {@link CliTest#imported}: an imported store of 50 random 8-d rows (with codes) and q.npy beside it. */
    public static Path imported(Path dir) throws Exception {
        return CliTest.imported(dir);
    }
}
