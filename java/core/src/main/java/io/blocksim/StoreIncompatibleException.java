package io.blocksim;

/**
 * The store was written in another format version, or by another model or dataset than the one it
 * is used with.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreIncompatibleException extends StoreException {
    public StoreIncompatibleException(String message) {
        super(message);
    }

    public StoreIncompatibleException(String message, Throwable cause) {
        super(message, cause);
    }
}
