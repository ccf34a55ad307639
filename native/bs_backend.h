// Where the harness runs the kernels: on a CUDA device (backend_cuda.cpp: the shipped fatbin loaded
// with cuModuleLoadData, exactly like the Java host) or in the CPU block emulator (backend_emu.cpp).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

struct BsDim {
    unsigned x = 1, y = 1, z = 1;
};

struct BsOptions {
    std::string fatbin;      // path of the fatbin (CUDA backend)
    bool quick = false;      // small cases only
    bool timing = true;      // run the timing table (CUDA backend)
    bool checks = true;      // run the correctness cases
    std::string filter;      // run only cases whose name contains this
    int reps = 0;            // timing repeats (0: automatic)
    size_t smemLimit = 0;    // emulator: pretend this opt-in shared-memory limit (0: 227 KiB)
    int copyMode = 2;        // emulator: cp.async landing mode (see bs_emu_run.h)
    bool noCublas = false;   // CUDA backend: do not use cuBLAS even if it loads
    bool selectSweep = false;  // CUDA backend: time the SGEMM path over select chunk sizes only
};

class BsBackend {
public:
    virtual ~BsBackend() {}
    virtual std::string describe() = 0;
    virtual bool isEmulator() = 0;
    virtual void* alloc(size_t bytes) = 0;
    virtual void release(void* p) = 0;
    virtual void upload(void* dst, const void* src, size_t bytes) = 0;
    virtual void download(void* dst, const void* src, size_t bytes) = 0;
    virtual void copyDevice(void* dst, const void* src, size_t bytes) = 0;
    // Launches `kernel` with blockDim (256,1,1); throws std::runtime_error on failure.
    virtual void launch(const char* kernel, BsDim grid, size_t smem, void** args) = 0;
    virtual void sync() = 0;
    virtual int smCount() = 0;
    virtual size_t maxSmemOptin() = 0;
    virtual int occupancy(const char* kernel, size_t smem) = 0;
    // Milliseconds taken on the device by fn() (events around it); the emulator returns wall time.
    virtual double timeMs(const std::function<void()>& fn) = 0;
    // C[q * ldc + r] = sum_d A[r * D + d] * B[q * D + d] for r < rows, q < nq (cuBLAS SGEMM).
    virtual bool hasSgemm() = 0;
    virtual void sgemm(const float* A, int rows, const float* B, int nq, int D, float* C,
                       long long ldc) = 0;
    virtual void printKernelInfo() {}
};

// Throws std::runtime_error with a clear message when no backend is usable (e.g. no CUDA device).
std::unique_ptr<BsBackend> bs_make_backend(const BsOptions& opt);
