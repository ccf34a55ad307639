package io.blocksim.cuda;

import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/** cuBLAS through JCublas 12 (its native part needs {@code libcublas.so.12} on the loader path). */
final class JCublasBinding implements Cublas {
    private static final Pointer ONE = Pointer.to(new float[] {1.0f});
    private static final Pointer ZERO = Pointer.to(new float[] {0.0f});
    private cublasHandle handle;

    private JCublasBinding(cublasHandle handle) {
        this.handle = handle;
    }

    static JCublasBinding open(DeviceHandles.Stream stream) {
        cublasHandle h = null;
        try {
            JCublas2.setExceptionsEnabled(true);
            h = new cublasHandle();
            JCublas2.cublasCreate(h);
            JCublas2.cublasSetMathMode(h, cublasMath.CUBLAS_DEFAULT_MATH);
            JCublas2.cublasSetStream(h, new cudaStream_t(stream));
            return new JCublasBinding(h);
        } catch (Throwable t) {  // an UnsatisfiedLinkError means no libcublas.so.12: "no cuBLAS", not a crash
            if (h != null) {
                try {
                    JCublas2.cublasDestroy(h);
                } catch (Throwable ignored) {
                    // never created, or the library is missing: nothing to free
                }
            }
            throw new Cublas.CublasUnavailableException("JCublas: " + CudaErrors.oneLine(t), t);
        }
    }

    @Override
    public String describe() {
        return "cuBLAS through JCublas (libcublas.so.12)";
    }

    @Override
    public void sgemmTN(int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        JCublas2.cublasSgemm(handle, cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N, m, n, k, ONE,
                new DeviceHandles.RawPointer(a), lda, new DeviceHandles.RawPointer(b), ldb, ZERO,
                new DeviceHandles.RawPointer(c), ldc);
    }

    @Override
    public void close() {
        if (handle != null) {
            cublasHandle h = handle;
            handle = null;
            JCublas2.cublasDestroy(h);
        }
    }
}
