// CPU emulation of the CUDA subset used by kernels/ (force-included when compiling the kernels as
// C++ with BS_EMU). One thread block runs as 256 cooperative fibers on one OS thread; a fiber runs
// until it reaches __syncthreads() or returns, and the runnable fibers are resumed in a random
// order each round, so that a missing barrier shows up as a wrong result. cp.async copies are
// performed at issue time, at the matching wait, or randomly either way (bs_emu_set_copy_mode).
#pragma once
#define BS_EMU_SHIM_INCLUDED 1
#include <math.h>
#include <cstddef>
#include <cstdint>
#include <cstring>

struct alignas(16) float4 {
    float x, y, z, w;
};
struct bs_emu_uint3 {
    unsigned x, y, z;
};
struct BsEmuThread {
    bs_emu_uint3 tIdx, bIdx, bDim, gDim;
};
extern BsEmuThread* bs_emu_current;

#define threadIdx (bs_emu_current->tIdx)
#define blockIdx (bs_emu_current->bIdx)
#define blockDim (bs_emu_current->bDim)
#define gridDim (bs_emu_current->gDim)
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

// barriers are identified by their source line: every thread of a block must wait at the same one
void bs_emu_syncthreads(const char* file, int line);
int bs_emu_syncthreads_or(int pred, const char* file, int line);
#define __syncthreads() bs_emu_syncthreads(__FILE__, __LINE__)
#define __syncthreads_or(p) bs_emu_syncthreads_or((p), __FILE__, __LINE__)
unsigned char* bs_emu_dyn_smem();
void bs_emu_cp_async16(void* dst, const void* src);
void bs_emu_cp_async_commit();
void bs_emu_cp_async_wait(int n);

inline int atomicAdd(int* p, int v) {
    int o = *p;
    *p = o + v;
    return o;
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    unsigned o = *p;
    *p = o + v;
    return o;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
