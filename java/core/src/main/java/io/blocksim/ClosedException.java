package io.blocksim;

/**
 * A store or backend was used after it was closed, or was closed while a search was running on it.
 * The search ends with this exception; no result is partial and no unmapped memory is read.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class ClosedException extends BlocksimException {
    public ClosedException(String message) {
        super(message);
    }

    public ClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
