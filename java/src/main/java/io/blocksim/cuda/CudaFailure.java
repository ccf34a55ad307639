package io.blocksim.cuda;

import io.blocksim.UserError;

/**
 * A CUDA call failed while searching (device out of memory, a launch error, a lost device): one
 * line that says what the host was doing and what the driver said. A {@link UserError} (exit 1) so
 * the CLI prints the line instead of a stack trace; the cause keeps the JCuda exception.
 */
public final class CudaFailure extends UserError {
    public CudaFailure(String message, Throwable cause) {
        super(UserError.DATA, message, cause);
    }
}
