package io.blocksim.cuda;

import io.blocksim.DeviceException;

/**
 * A CUDA call failed while searching (device out of memory, a launch error, a lost device): one
 * line that says what the host was doing and what the driver said; the cause keeps the JCuda
 * exception.
 */
public final class CudaFailure extends DeviceException {
    public CudaFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
