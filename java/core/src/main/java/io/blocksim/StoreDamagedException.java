package io.blocksim;

/**
 * A store file is missing, truncated, of the wrong shape or type, or fails its checksum. Verifying
 * the store names every damaged file; extracting or importing it again repairs it.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreDamagedException extends StoreException {
    public StoreDamagedException(String message) {
        super(message);
    }

    public StoreDamagedException(String message, Throwable cause) {
        super(message, cause);
    }
}
