package io.blocksim;

/**
 * The file system refused a read or a write (no such file, permission denied, disk full, a
 * read-only file system), or a file could not be downloaded. The message names the file and the
 * operation; the cause, when there is one, is the {@link java.io.IOException}.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class FileAccessException extends BlocksimException {
    public FileAccessException(String message) {
        super(message);
    }

    public FileAccessException(String message, Throwable cause) {
        super(message, cause);
    }
}
