/* A stand-in for libcublas, built by FfmCublasTest with the system C compiler: the five calls the
 * FFM binding makes, with cuBLAS's signatures, doing SGEMM on host memory so the test can check
 * the arguments (transposes, leading dimensions, scalars) end to end. Not cuBLAS: no GPU code. */
#include <stdint.h>

static int created, destroyed, math_mode = -1;
static void *last_stream;
static int handle_storage;

int cublasCreate_v2(void **handle) {
#ifdef FAIL_CREATE
    (void)handle;
    return 1; /* CUBLAS_STATUS_NOT_INITIALIZED */
#else
    *handle = &handle_storage;
    created++;
    return 0;
#endif
}

int cublasDestroy_v2(void *handle) {
    if (handle != &handle_storage) return 7;
    destroyed++;
    return 0;
}

int cublasSetStream_v2(void *handle, void *stream) {
    if (handle != &handle_storage) return 7;
    last_stream = stream;
    return 0;
}

int cublasSetMathMode(void *handle, int mode) {
    if (handle != &handle_storage) return 7;
    math_mode = mode;
    return 0;
}

int cublasGetVersion_v2(void *handle, int *version) {
    if (handle != &handle_storage) return 7;
    *version = 130102; /* 13.1.2 */
    return 0;
}

/* column-major C = op(A) op(B) * alpha + beta * C, op = N (0) or T (1) */
int cublasSgemm_v2(void *handle, int transa, int transb, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta, float *c, int ldc) {
    if (handle != &handle_storage || m < 0 || n < 0 || k < 0) return 7;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
                float x = transa ? a[l + (int64_t)i * lda] : a[i + (int64_t)l * lda];
                float y = transb ? b[j + (int64_t)l * ldb] : b[l + (int64_t)j * ldb];
                s += (double)x * y;
            }
            float *out = &c[i + (int64_t)j * ldc];
            *out = (float)(*alpha * s + (*beta == 0.0f ? 0.0 : *beta * *out));
        }
    }
    return 0;
}

int fake_created(void) { return created; }
int fake_destroyed(void) { return destroyed; }
int fake_math_mode(void) { return math_mode; }
void *fake_last_stream(void) { return last_stream; }
