package io.blocksim.store;

import io.blocksim.InvalidDataException;
import java.nio.file.Path;

/**
 * A .npy file that blocksim cannot read (missing, truncated, not an npy file, an unsupported dtype
 * or layout): its message names the file, what is wrong with it and a generic fix. Callers that
 * know more catch it and say so with {@link #problem()}: a {@link Store} reports a bad file of its
 * own as {@link io.blocksim.StoreDamagedException}, the importer names what it needs.
 *
 * <p>Unchecked, like every {@link io.blocksim.BlocksimException}; safe to share between threads
 * (immutable).
 */
public class NpyFormatException extends InvalidDataException {
    private final Path file;
    private final String problem;

    NpyFormatException(Path file, String problem, String fix) {
        super(file + " " + problem + (fix == null || fix.isEmpty() ? "" : ": " + fix));
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
