package io.blocksim;

/**
 * A store's files changed after it was opened: a file was truncated, rewritten in place or
 * replaced (another file renamed over it), before a search or while one ran. The search's answer
 * cannot be trusted and none is returned. Opening the store again re-reads what is there now;
 * verifying the store names every file that no longer matches its manifest.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreChangedException extends StoreException {
    public StoreChangedException(String message) {
        super(message);
    }

    public StoreChangedException(String message, Throwable cause) {
        super(message, cause);
    }
}
