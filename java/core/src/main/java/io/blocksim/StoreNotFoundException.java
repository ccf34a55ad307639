package io.blocksim;

/**
 * There is no store at the given folder: the folder does not exist, has no manifest.json, or its
 * manifest.json is not a blocksim store's. Extracting or importing a store there makes one.
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
