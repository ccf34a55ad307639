// The CUDA backend. Memory, events and copies use the runtime API (libcudart); the kernels come
// from the shipped fatbin through the DRIVER API exactly as the Java host (JCuda) loads them:
// cuModuleLoadData(image bytes) -> cuModuleGetFunction(name) -> cuFuncSetAttribute(max dynamic
// shared memory) -> cuLaunchKernel. The driver functions are obtained through
// cudaGetDriverEntryPointByVersion, so the harness needs no libcuda.so at link time.
// cuBLAS is optional: libcublas is dlopen'ed at run time (CUDA 13 or 12), and when it is missing
// the GEMM path is checked with score tiles computed on the host instead.
#include <cuda.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bs_backend.h"

namespace {

#define BS_DRIVER_FNS(X)                    \
    X(cuModuleLoadData)                     \
    X(cuModuleUnload)                       \
    X(cuModuleGetFunction)                  \
    X(cuModuleGetGlobal)                    \
    X(cuFuncSetAttribute)                   \
    X(cuFuncGetAttribute)                   \
    X(cuLaunchKernel)                       \
    X(cuOccupancyMaxActiveBlocksPerMultiprocessor) \
    X(cuGetErrorString)

struct Driver {
#define BS_DECL(fn) decltype(&::fn) fn = nullptr;
    BS_DRIVER_FNS(BS_DECL)
#undef BS_DECL
};

void cudaCheck(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" +
                                 cudaGetErrorString(e) + ")");
}

// cuBLAS, declared here so that no cuBLAS header or library is needed at build time.
typedef int (*PfnCublasCreate)(void**);
typedef int (*PfnCublasDestroy)(void*);
typedef int (*PfnCublasSgemm)(void*, int, int, int, int, int, const float*, const float*, int,
                              const float*, int, const float*, float*, int);

class CudaBackend : public BsBackend {
public:
    explicit CudaBackend(const BsOptions& opt) {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess || n == 0) {
            throw std::runtime_error(
                std::string("no CUDA device: ") +
                (e != cudaSuccess ? std::string(cudaGetErrorName(e)) + " (" +
                                        cudaGetErrorString(e) + ")"
                                  : std::string("cudaGetDeviceCount returned 0")));
        }
        cudaCheck(cudaSetDevice(0), "cudaSetDevice");
        cudaCheck(cudaFree(nullptr), "context creation");
        cudaCheck(cudaGetDeviceProperties(&prop_, 0), "cudaGetDeviceProperties");
        int drv = 0, rt = 0;
        cudaDriverGetVersion(&drv);
        cudaRuntimeGetVersion(&rt);
        driverVersion_ = drv;
        runtimeVersion_ = rt;
#define BS_LOAD(fn)                                                                            \
        {                                                                                      \
            cudaDriverEntryPointQueryResult q;                                                 \
            cudaCheck(cudaGetDriverEntryPointByVersion(#fn, (void**)&drv_.fn, 12000,           \
                                                       cudaEnableDefault, &q),                 \
                      "driver entry point " #fn);                                              \
            if (q != cudaDriverEntryPointSuccess || !drv_.fn)                                  \
                throw std::runtime_error("driver entry point not found: " #fn);              \
        }
        BS_DRIVER_FNS(BS_LOAD)
#undef BS_LOAD
        std::ifstream f(opt.fatbin, std::ios::binary);
        if (!f) throw std::runtime_error("cannot read fatbin " + opt.fatbin);
        image_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        fatbinPath_ = opt.fatbin;
        check(drv_.cuModuleLoadData(&module_, image_.data()), "cuModuleLoadData(fatbin)");
        CUdeviceptr abi = 0;
        size_t abiBytes = 0;
        check(drv_.cuModuleGetGlobal(&abi, &abiBytes, module_, "blocksim_abi_version"),
              "cuModuleGetGlobal(blocksim_abi_version)");
        cudaCheck(cudaMemcpy(&abiVersion_, (void*)abi, sizeof(int), cudaMemcpyDeviceToHost),
                  "read abi version");
        cudaCheck(cudaDeviceGetAttribute(&maxOptin_, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0),
                  "max shared memory");
        if (!opt.noCublas) loadCublas();
        cudaCheck(cudaEventCreate(&ev0_), "event");
        cudaCheck(cudaEventCreate(&ev1_), "event");
    }
    ~CudaBackend() override {
        if (cublas_ && cublasDestroy_) cublasDestroy_(cublas_);
        if (module_) drv_.cuModuleUnload(module_);
    }
    std::string describe() override {
        char b[512];
        std::snprintf(b, sizeof b,
                      "%s (sm_%d%d, %d SMs, %.1f GiB, L2 %d MiB, opt-in smem %d B), driver %d, "
                      "runtime %d, fatbin %s (%zu bytes, abi %d), cuBLAS: %s",
                      prop_.name, prop_.major, prop_.minor, prop_.multiProcessorCount,
                      prop_.totalGlobalMem / 1073741824.0, prop_.l2CacheSize >> 20, maxOptin_,
                      driverVersion_, runtimeVersion_, fatbinPath_.c_str(), image_.size(),
                      abiVersion_, cublasName_.empty() ? "not found" : cublasName_.c_str());
        return b;
    }
    bool isEmulator() override { return false; }
    void* alloc(size_t bytes) override {
        void* p = nullptr;
        cudaCheck(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc");
        return p;
    }
    void release(void* p) override { cudaFree(p); }
    void upload(void* d, const void* s, size_t n) override {
        cudaCheck(cudaMemcpy(d, s, n, cudaMemcpyHostToDevice), "upload");
    }
    void download(void* d, const void* s, size_t n) override {
        cudaCheck(cudaMemcpy(d, s, n, cudaMemcpyDeviceToHost), "download");
    }
    void copyDevice(void* d, const void* s, size_t n) override {
        cudaCheck(cudaMemcpy(d, s, n, cudaMemcpyDeviceToDevice), "copy");
    }
    void launch(const char* kernel, BsDim g, size_t smem, void** args) override {
        CUfunction f = function(kernel);
        check(drv_.cuLaunchKernel(f, g.x, g.y, g.z, 256, 1, 1, (unsigned)smem, nullptr, args,
                                  nullptr),
              (std::string("cuLaunchKernel ") + kernel).c_str());
    }
    void sync() override { cudaCheck(cudaDeviceSynchronize(), "kernel execution"); }
    int smCount() override { return prop_.multiProcessorCount; }
    size_t maxSmemOptin() override { return (size_t)maxOptin_; }
    int occupancy(const char* kernel, size_t smem) override {
        int n = 0;
        check(drv_.cuOccupancyMaxActiveBlocksPerMultiprocessor(&n, function(kernel), 256, smem),
              "occupancy");
        return n;
    }
    double timeMs(const std::function<void()>& fn) override {
        cudaCheck(cudaEventRecord(ev0_, 0), "event record");
        fn();
        cudaCheck(cudaEventRecord(ev1_, 0), "event record");
        cudaCheck(cudaEventSynchronize(ev1_), "event sync");
        float ms = 0;
        cudaCheck(cudaEventElapsedTime(&ms, ev0_, ev1_), "elapsed");
        return ms;
    }
    bool hasSgemm() override { return cublas_ != nullptr; }
    void sgemm(const float* A, int rows, const float* B, int nq, int D, float* C,
               long long ldc) override {
        const float one = 1.0f, zero = 0.0f;
        // column-major: C(rows x nq, ldc) = A^T(rows x D) * B(D x nq); A is D x rows, lda = D
        int st = sgemm_(cublas_, 1 /*CUBLAS_OP_T*/, 0 /*CUBLAS_OP_N*/, rows, nq, D, &one, A, D, B,
                        D, &zero, C, (int)ldc);
        if (st != 0) throw std::runtime_error("cublasSgemm failed: status " + std::to_string(st));
    }
    void printKernelInfo() override {
        const char* names[] = {"blocksim_scan_cos_q1", "blocksim_scan_cos_q2",
                               "blocksim_scan_cos_q4", "blocksim_scan_cos_q8",
                               "blocksim_scan_l2_q1",  "blocksim_scan_l2_q2",
                               "blocksim_scan_l2_q4",  "blocksim_scan_l2_q8",
                               "blocksim_select_cos",  "blocksim_select_l2",
                               "blocksim_merge_candidates", "blocksim_merge_final"};
        std::printf("%-28s %5s %8s %8s %6s\n", "kernel", "regs", "local_B", "static_B", "arch");
        for (const char* n : names) {
            CUfunction f = function(n);
            int regs = 0, local = 0, shared = 0, ver = 0;
            drv_.cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f);
            drv_.cuFuncGetAttribute(&local, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f);
            drv_.cuFuncGetAttribute(&shared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
            drv_.cuFuncGetAttribute(&ver, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f);
            std::printf("%-28s %5d %8d %8d %6d\n", n, regs, local, shared, ver);
        }
    }

private:
    void check(CUresult r, const char* what) {
        if (r != CUDA_SUCCESS) {
            const char* s = nullptr;
            if (drv_.cuGetErrorString) drv_.cuGetErrorString(r, &s);
            throw std::runtime_error(std::string(what) + ": CUresult " + std::to_string((int)r) +
                                     " (" + (s ? s : "?") + ")");
        }
    }
    CUfunction function(const char* name) {
        auto it = fns_.find(name);
        if (it != fns_.end()) return it->second;
        CUfunction f = nullptr;
        check(drv_.cuModuleGetFunction(&f, module_, name),
              (std::string("cuModuleGetFunction ") + name).c_str());
        // as the Java host does once per function: the opt-in maximum less the static part
        int staticBytes = 0;
        check(drv_.cuFuncGetAttribute(&staticBytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f),
              "cuFuncGetAttribute(SHARED_SIZE_BYTES)");
        check(drv_.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                      maxOptin_ - staticBytes),
              "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
        fns_[name] = f;
        return f;
    }
    void loadCublas() {
        const char* libs[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
        for (const char* l : libs) {
            void* h = dlopen(l, RTLD_NOW | RTLD_LOCAL);
            if (!h) continue;
            PfnCublasCreate create = (PfnCublasCreate)dlsym(h, "cublasCreate_v2");
            cublasDestroy_ = (PfnCublasDestroy)dlsym(h, "cublasDestroy_v2");
            sgemm_ = (PfnCublasSgemm)dlsym(h, "cublasSgemm_v2");
            if (create && cublasDestroy_ && sgemm_ && create(&cublas_) == 0) {
                cublasName_ = l;
                return;
            }
            cublas_ = nullptr;
        }
    }

    cudaDeviceProp prop_{};
    int driverVersion_ = 0, runtimeVersion_ = 0, maxOptin_ = 0, abiVersion_ = -1;
    Driver drv_;
    std::vector<char> image_;
    std::string fatbinPath_;
    CUmodule module_ = nullptr;
    std::map<std::string, CUfunction> fns_;
    cudaEvent_t ev0_ = nullptr, ev1_ = nullptr;
    void* cublas_ = nullptr;
    PfnCublasDestroy cublasDestroy_ = nullptr;
    PfnCublasSgemm sgemm_ = nullptr;
    std::string cublasName_;
};
}  // namespace

std::unique_ptr<BsBackend> bs_make_backend(const BsOptions& opt) {
    return std::unique_ptr<BsBackend>(new CudaBackend(opt));
}
