package io.blocksim;

/**
 * A compute device or its runtime failed: a CUDA driver call, a kernel launch, a device
 * allocation, or an ONNX Runtime execution provider that would not start. The message says what
 * the host was doing and what the driver said.
 *
 * <p>Unchecked, like every {@link BlocksimException}; safe to share between threads (immutable).
 */
public class DeviceException extends BlocksimException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
