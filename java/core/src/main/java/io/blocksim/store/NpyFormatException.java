package io.blocksim.store;

import io.blocksim.UserError;
import java.nio.file.Path;

/**
 * A .npy file that blocksim cannot read: its message names the file, what is wrong with it and
 * a generic fix. Callers that know more (a store shard, a user's import file) catch it and say so
 * with {@link #problem()}.
 */
public class NpyFormatException extends UserError {
    private final Path file;
    private final String problem;

    NpyFormatException(Path file, String problem, String fix) {
        super(DATA, file + " " + problem + (fix == null || fix.isEmpty() ? "" : ": " + fix));
        this.file = file;
        this.problem = problem;
    }

    /** The file that could not be read. */
    public Path file() {
        return file;
    }

    /** What is wrong, without the file's name or a fix ("is truncated: ..."). */
    public String problem() {
        return problem;
    }
}
