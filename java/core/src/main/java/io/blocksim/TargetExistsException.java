package io.blocksim;

/**
 * A writer refused to replace what is already at its destination: a folder that exists and is not
 * the writer's own kind of output (a non-empty folder that holds no store, a file where a folder
 * should go, a folder of other files where a report goes). Nothing was written or deleted; write to
 * a new or empty folder instead. The CLI reports it as a usage error (exit code 2), like every
 * {@link InvalidArgumentException}.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class TargetExistsException extends InvalidArgumentException {
    public TargetExistsException(String message) {
        super(message);
    }

    public TargetExistsException(String message, Throwable cause) {
        super(message, cause);
    }
}
