package io.blocksim;

/**
 * A store cannot be used as it is. The subclasses say why: {@link StoreNotFoundException}, {@link
 * StoreIncompleteException}, {@link StoreDamagedException}, {@link StoreIncompatibleException}, {@link
 * StoreChangedException}.
 * This class itself, not a subclass, is thrown when the store is being written by another process
 * (wait for it to finish). The CLI reports it as a data error (exit code 1).
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class StoreException extends BlocksimException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
