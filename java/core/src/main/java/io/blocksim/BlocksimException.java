package io.blocksim;

/**
 * The root of every failure the blocksim library reports on purpose. Catch a subclass to handle
 * one kind: {@link InvalidArgumentException} (a value the caller passed is out of range or
 * unknown) and its {@link TargetExistsException} (an output folder is taken by something else),
 * {@link InvalidDataException} (a file or array the caller supplied is malformed),
 * {@link StoreException} and its kinds (a store is missing, incomplete, damaged, incompatible or,
 * {@link StoreChangedException}, changed after it was opened), {@link FileAccessException} (the file system refused a read or write, or a download
 * failed),
 * {@link DeviceException} (a GPU or its driver failed), {@link ClosedException} (a store or
 * backend was closed, possibly while a search ran) and {@link ModelException} (the model could not
 * be loaded or run).
 *
 * <p>Messages are one line, in plain words, and name what to do; they never name command-line
 * flags (the CLI adds those). Unchecked; immutable and safe to share between threads.
 */
public class BlocksimException extends RuntimeException {
    public BlocksimException(String message) {
        super(message);
    }

    public BlocksimException(String message, Throwable cause) {
        super(message, cause);
    }
}
