package io.blocksim;

/**
 * A file or array the caller supplied is malformed or holds values that cannot be used (an npy
 * file that is not float32 or is not an npy file at all, a query with a non-finite value or with
 * another number of values than the candidates, a labels file with the wrong number of lines, a
 * corpus whose checksum does not match). The CLI reports it as a data error (exit code
 * 1).
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class InvalidDataException extends BlocksimException {
    public InvalidDataException(String message) {
        super(message);
    }

    public InvalidDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
