package io.blocksim.cuda;

import java.util.Locale;

/**
 * The few cuBLAS calls the SGEMM path needs (handle, stream, FP32 SGEMM) behind one face, bound
 * either through FFM downcalls into {@code libcublas.so.13} or {@code .so.12} ({@link FfmCublas}),
 * or through JCublas, whose native part links {@code libcublas.so.12} only ({@link JCublasBinding}).
 * One handle, on the backend's compute stream, with the default (non-TF32) math mode: the select's
 * error bound assumes FP32 products. Not thread safe: the backend calls it under its own lock.
 */
sealed interface Cublas extends AutoCloseable permits FfmCublas, JCublasBinding {
    /** -Dblocksim.cuda.cublas: auto (FFM, then JCublas), ffm, jcublas, or false (fused scan for every Q). */
    String MODE_PROPERTY = "blocksim.cuda.cublas";

    /** Which binding, which library and version, for the backend's description. */
    String describe();

    /**
     * Column-major {@code C (m x n, ld ldc) = A^T B}, where {@code A} is {@code k x m} (ld lda) and
     * {@code B} is {@code k x n} (ld ldb); device addresses in bytes; enqueued on the stream.
     */
    void sgemmTN(int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc);

    @Override
    void close();

    /**
     * A handle on {@code stream} by the mode ({@link #MODE_PROPERTY}); the calling thread's current
     * context must be the backend's. Throws {@link CublasUnavailableException} naming every place
     * tried when no binding works.
     */
    static Cublas open(String mode, DeviceHandles.Stream stream) {
        String m = mode == null ? "auto" : mode.strip().toLowerCase(Locale.ROOT);
        switch (m) {
            case "ffm":
                return openFfm(stream);
            case "jcublas":
                return JCublasBinding.open(stream);
            case "false":
                throw new CublasUnavailableException("-D" + MODE_PROPERTY + "=false", null);
            case "auto", "true", "":
                try {
                    return openFfm(stream);
                } catch (CublasUnavailableException ffm) {
                    try {
                        return JCublasBinding.open(stream);
                    } catch (CublasUnavailableException jc) {
                        throw new CublasUnavailableException(ffm.getMessage() + "; " + jc.getMessage(), ffm);
                    }
                }
            default:
                throw new CublasUnavailableException("-D" + MODE_PROPERTY + "=" + mode + " is not one of auto, ffm, jcublas, false", null);
        }
    }

    /** FFM, with anything unexpected (a bad library path, no native linker) reported as "no cuBLAS". */
    private static Cublas openFfm(DeviceHandles.Stream stream) {
        try {
            return FfmCublas.open(stream.handle(), FfmCublas.candidates());
        } catch (CublasUnavailableException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new CublasUnavailableException("cuBLAS via FFM: " + CudaErrors.oneLine(e), e);
        }
    }

    /** cuBLAS's status names (cublas_api.h), for messages. */
    static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cuBLAS status " + status;
        };
    }

    /** No cuBLAS binding could be opened; the message says what was tried and what to set. */
    final class CublasUnavailableException extends RuntimeException {
        CublasUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
