package io.blocksim;

/**
 * The model could not be found, loaded or run (a missing or damaged ONNX file, an ONNX Runtime
 * error).
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class ModelException extends BlocksimException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
