package io.blocksim;

/**
 * The store's extraction or import has not finished; running the same extraction again resumes it.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreIncompleteException extends StoreException {
    public StoreIncompleteException(String message) {
        super(message);
    }

    public StoreIncompleteException(String message, Throwable cause) {
        super(message, cause);
    }
}
