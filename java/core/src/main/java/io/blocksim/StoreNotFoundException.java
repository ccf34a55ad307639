package io.blocksim;

/**
 * There is no store at the given folder (no manifest.json).
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreNotFoundException extends StoreException {
    public StoreNotFoundException(String message) {
        super(message);
    }

    public StoreNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
