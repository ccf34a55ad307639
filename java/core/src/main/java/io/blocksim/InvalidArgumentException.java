package io.blocksim;

/**
 * A value the caller passed is out of range, unknown or inconsistent (a k above the candidate
 * rows, an unknown site or metric, a position outside the strings, an entry the store does not
 * hold, an empty list of queries). Nothing was read or written. The CLI reports it as a usage error
 * (exit code 2). {@link TargetExistsException} is the kind for an output folder that is taken.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class InvalidArgumentException extends BlocksimException {
    public InvalidArgumentException(String message) {
        super(message);
    }

    public InvalidArgumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
