// An emulated CUDA device for the Java host: a libcuda.so.1 whose driver API runs the kernels' own
// source in the CPU block emulator (native/emu), so that io.blocksim.cuda.CudaSearchBackend (JCuda,
// which links libcuda.so.1) runs end to end on a machine without a GPU: the uploads, residency,
// launch plans, merges, the boundary check and the compressed scan, exactly as on a device, with
// the kernels executed as C++. Only the entry points the Java host calls exist (JCuda binds the
// others lazily and never calls them). "Device" memory is host memory; streams and events are
// trivially ordered because every call completes before it returns.
//
// Built by io.blocksim.cuda.EmulatedDeviceTest:
//   c++ -std=c++17 -O2 -shared -fPIC -Wl,-soname,libcuda.so.1 fake_libcuda.cpp bs_emu.cpp
//       kernels_emu.cpp (with -DBS_EMU -include bs_emu.h)   -> libcuda.so.1
// and put first on LD_LIBRARY_PATH of a JVM that runs the GPU tests. Not thread-safe (neither is
// the emulator): the Java backend serialises its searches.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <deque>
#include <unordered_map>
#include <utility>

#include "bs_emu_run.h"

extern "C" int blocksim_abi_version;  // the kernels' global (kernels/blocksim_kernels.cu)

namespace {
typedef int CUresult;
typedef unsigned long long CUdeviceptr;
const CUresult OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_FOUND = 500, LAUNCH_FAILED = 719;
const size_t kMemory = 4ull << 30;          // what the "device" reports as its memory
const int kSms = 4, kOptin = 227 * 1024;    // as the harness's emulator backend
int g_module, g_context, g_handles;         // addresses used as opaque handles
std::unordered_map<CUdeviceptr, size_t> g_allocs;  // "device" allocations, against kMemory
size_t g_used = 0;
// Freed blocks are poisoned and held back a while (like a sanitizer's quarantine), so that a kernel
// reading memory the host already freed reads garbage rather than whatever was there before.
std::deque<std::pair<void*, size_t>> g_quarantine;
size_t g_quarantined = 0;
const size_t kQuarantine = 256u << 20;
}  // namespace

extern "C" {
CUresult cuInit(unsigned) { return OK; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_VALUE; *d = 0; return OK; }
CUresult cuDeviceGetName(char* name, int len, int) {
    std::snprintf(name, (size_t)len, "blocksim emulated device (kernels run as C++ on the CPU)");
    return OK;
}
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
    switch (attr) {
        case 75: *v = 9; break;          // compute capability major
        case 76: *v = 0; break;          // minor
        case 16: *v = kSms; break;       // multiprocessors
        case 97: *v = kOptin; break;     // max shared memory per block, opt-in
        case 8: *v = 48 * 1024; break;   // shared memory per block
        case 81: *v = 228 * 1024; break; // shared memory per multiprocessor
        case 1: *v = 1024; break;        // max threads per block
        case 39: *v = 2048; break;       // max threads per multiprocessor
        case 10: *v = 32; break;         // warp size
        default: *v = 0;
    }
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = kMemory; return OK; }
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = &g_context; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
CUresult cuCtxSetCurrent(void*) { return OK; }
CUresult cuCtxGetCurrent(void** ctx) { *ctx = &g_context; return OK; }
CUresult cuCtxSynchronize() { return OK; }
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) { *free = kMemory - g_used; *total = kMemory; return OK; }

CUresult cuModuleLoadData(void** module, const void* image) {
    if (!image) return INVALID_VALUE;
    *module = &g_module;
    return OK;
}
CUresult cuModuleUnload(void*) { return OK; }
CUresult cuModuleGetGlobal_v2(CUdeviceptr* p, size_t* bytes, void*, const char* name) {
    if (std::strcmp(name, "blocksim_abi_version") != 0) return NOT_FOUND;
    if (p) *p = (CUdeviceptr)(uintptr_t)&blocksim_abi_version;
    if (bytes) *bytes = sizeof(int);
    return OK;
}
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    const BsEmuKernel* k = bs_emu_find_kernel(name);
    if (!k) return NOT_FOUND;
    *f = (void*)k;
    return OK;
}
CUresult cuFuncGetAttribute(int* v, int attr, void*) {
    *v = attr == 1 ? 0 : (attr == 0 ? 256 : 0);  // no static shared memory; 256 threads
    return OK;
}
CUresult cuFuncSetAttribute(void*, int, int) { return OK; }
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int* n, void*, int, size_t smem) {
    *n = smem <= (size_t)kOptin ? 1 : 0;
    return OK;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned smem, void*, void** params, void**) {
    const BsEmuKernel* k = (const BsEmuKernel*)f;
    if (!k || by != 1 || bz != 1 || smem > (unsigned)kOptin) return INVALID_VALUE;
    std::string err;
    if (!bs_emu_launch(k->thunk, k->fn, gx, gy, gz, bx, smem, params, &err)) {
        std::fprintf(stderr, "emulated device: %s: %s\n", k->name, err.c_str());
        return LAUNCH_FAILED;
    }
    return OK;
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    if (bytes == 0) return INVALID_VALUE;
    const size_t rounded = (bytes + 255) / 256 * 256;
    if (rounded > kMemory - g_used) return OUT_OF_MEMORY;  // the device is full (as a real one would be)
    void* m = std::aligned_alloc(256, rounded);
    if (!m) return OUT_OF_MEMORY;
    // garbage, like fresh device memory (large blocks, e.g. a test's memory hog, stay untouched)
    if (bytes <= (64u << 20)) std::memset(m, 0xCD, bytes);
    *p = (CUdeviceptr)(uintptr_t)m;
    g_allocs[*p] = rounded;
    g_used += rounded;
    return OK;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    auto it = g_allocs.find(p);
    if (it == g_allocs.end()) return INVALID_VALUE;
    const size_t bytes = it->second;
    g_used -= bytes;
    g_allocs.erase(it);
    if (bytes > (64u << 20)) {  // large blocks (a test's memory hog) go back at once
        std::free((void*)(uintptr_t)p);
        return OK;
    }
    std::memset((void*)(uintptr_t)p, 0xDE, bytes);
    g_quarantine.emplace_back((void*)(uintptr_t)p, bytes);
    g_quarantined += bytes;
    while (g_quarantined > kQuarantine) {
        std::free(g_quarantine.front().first);
        g_quarantined -= g_quarantine.front().second;
        g_quarantine.pop_front();
    }
    return OK;
}
CUresult cuMemAllocHost_v2(void** p, size_t bytes) {
    *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    return *p ? OK : OUT_OF_MEMORY;
}
CUresult cuMemFreeHost(void* p) { std::free(p); return OK; }
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* s, size_t n) { std::memcpy((void*)(uintptr_t)d, s, n); return OK; }
CUresult cuMemcpyDtoH_v2(void* d, CUdeviceptr s, size_t n) { std::memcpy(d, (const void*)(uintptr_t)s, n); return OK; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void*) { return cuMemcpyHtoD_v2(d, s, n); }
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void*) { return cuMemcpyDtoH_v2(d, s, n); }
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void*) {
    std::memset((void*)(uintptr_t)d, v, n);
    return OK;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void*) {
    unsigned* p = (unsigned*)(uintptr_t)d;
    for (size_t i = 0; i < n; ++i) p[i] = v;
    return OK;
}
CUresult cuPointerGetAttribute(void*, int, CUdeviceptr) { return INVALID_VALUE; }

CUresult cuStreamCreate(void** s, unsigned) { *s = &g_handles; return OK; }
CUresult cuStreamDestroy_v2(void*) { return OK; }
CUresult cuStreamSynchronize(void*) { return OK; }
CUresult cuStreamWaitEvent(void*, void*, unsigned) { return OK; }
CUresult cuEventCreate(void** e, unsigned) { *e = &g_handles; return OK; }
CUresult cuEventDestroy_v2(void*) { return OK; }
CUresult cuEventRecord(void*, void*) { return OK; }
CUresult cuEventSynchronize(void*) { return OK; }

CUresult cuGetErrorName(CUresult e, const char** s) {
    *s = e == OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY" : e == NOT_FOUND ? "CUDA_ERROR_NOT_FOUND"
       : e == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED" : "CUDA_ERROR_INVALID_VALUE";
    return OK;
}
CUresult cuGetErrorString(CUresult e, const char** s) { return cuGetErrorName(e, s); }
}
