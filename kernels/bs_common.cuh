// blocksim search kernels: common definitions.
//
// Every kernel in this directory is written so that it compiles twice:
//   * with nvcc into the shipped fatbin (the normal case), and
//   * as plain C++ with BS_EMU defined, against native/emu/bs_emu.h, a cooperative-fiber emulation
//     of one thread block (only __syncthreads, shared-memory atomics and cp.async are used; no warp
//     shuffles/votes), so that the exact kernel code can be checked on a machine without a GPU.
// See kernels/README.md for the host contract.
#pragma once

#ifdef BS_EMU
#ifndef BS_EMU_SHIM_INCLUDED
#error "BS_EMU builds must force-include native/emu/bs_emu.h"
#endif
#define BS_DEV inline
#define BS_NOINLINE_DEV __attribute__((noinline))
#define BS_DYN_SMEM(name) unsigned char* name = bs_emu_dyn_smem()
#define BS_KERNEL(minBlocks) extern "C" void
#else
#include <stdint.h>
#define BS_DEV __device__ __forceinline__
#define BS_NOINLINE_DEV __device__ __noinline__
#define BS_DYN_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#define BS_KERNEL(minBlocks) extern "C" __global__ void __launch_bounds__(256, minBlocks)
#endif

typedef unsigned long long bs_u64;

// ---- fixed geometry (kernels/README.md, "Launch geometry") ------------------------------------
#define BS_THREADS 256      // blockDim.x of every kernel
#define BS_TILE 256         // rows (or candidates) handled per block iteration: one per thread
#define BS_DK 16            // floats of a row staged per pipeline step (4 x float4)
#define BS_STAGES 3         // cp.async pipeline depth of the scan kernel
#define BS_XS_STRIDE 20     // floats per staged row in shared memory (16 + 4 pad: no bank conflicts)
#define BS_BUF_MIN 512      // minimum candidate-buffer capacity per query slot
#define BS_METRIC_COSINE 0
#define BS_METRIC_L2 1
#define BS_METRIC_KEYS 2   // merge_final: report the raw keys (cosine, or -(squared L2 distance))

BS_DEV int bs_imin(int a, int b) { return a < b ? a : b; }
BS_DEV int bs_imax(int a, int b) { return a > b ? a : b; }
BS_DEV long long bs_lmin(long long a, long long b) { return a < b ? a : b; }
BS_DEV int bs_pow2ceil(int x) {
    int p = 1;
    while (p < x) p <<= 1;
    return p;
}

// ---- packed candidates -------------------------------------------------------------------------
// A candidate (key, id) is packed into one 64-bit integer whose unsigned order is "better":
//   high 32 bits: the float key mapped to an order-preserving unsigned integer,
//   low 32 bits : ~id, so that on equal keys the LOWER row id is the larger (better) value.
// key is "larger is better": cosine similarity itself, or -(squared L2 distance).
// -0.0 is canonicalised to +0.0 (so that equal keys compare equal) and NaN to -inf (worst).
// The value 0 is the sentinel "no candidate": it is below every real candidate (the smallest
// real value is the pack of (-inf, 0x7fffffff) = 0x007fffff80000000).
BS_DEV unsigned bs_key_bits(float f) {
    unsigned u = __float_as_uint(f);
    if ((u << 1) == 0u) u = 0u;                          // -0 -> +0
    if ((u & 0x7fffffffu) > 0x7f800000u) u = 0xff800000u; // NaN -> -inf
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
BS_DEV float bs_bits_key(unsigned o) {
    unsigned u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
    return __uint_as_float(u);
}
BS_DEV bs_u64 bs_pack(float key, int id) {
    return ((bs_u64)bs_key_bits(key) << 32) | (bs_u64)(~(unsigned)id);
}
BS_DEV int bs_unpack_id(bs_u64 p) { return (int)(~(unsigned)(p & 0xffffffffull)); }
BS_DEV float bs_unpack_key(bs_u64 p) { return bs_bits_key((unsigned)(p >> 32)); }

// ---- asynchronous global -> shared copies (sm_80+) --------------------------------------------
// 16 bytes, bypassing L1 (.cg). The .L2::256B prefetch qualifier makes L2 fetch the whole aligned
// 256-byte block around the source from DRAM: the scan reads 64 bytes of each row per pipeline
// step, and the next three steps of the same rows then hit in L2 (DRAM sees 256-byte requests).
BS_DEV void bs_cp_async16(void* smemDst, const void* gmemSrc) {
#ifdef BS_EMU
    bs_emu_cp_async16(smemDst, gmemSrc);
#else
    unsigned s = (unsigned)__cvta_generic_to_shared(smemDst);
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16;\n" ::"r"(s), "l"(gmemSrc)
                 : "memory");
#endif
}
BS_DEV void bs_cp_async_commit() {
#ifdef BS_EMU
    bs_emu_cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
BS_DEV void bs_cp_async_wait() {
#ifdef BS_EMU
    bs_emu_cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// float4 load from global memory (read-only path)
BS_DEV float4 bs_ldg4(const float* p) {
#ifdef BS_EMU
    return *(const float4*)p;
#else
    return __ldg((const float4*)p);
#endif
}
BS_DEV float bs_ldgf(const float* p) {
#ifdef BS_EMU
    return *p;
#else
    return __ldg(p);
#endif
}
BS_DEV bs_u64 bs_ldg64(const bs_u64* p) {
#ifdef BS_EMU
    return *p;
#else
    return __ldg((const unsigned long long*)p);
#endif
}

// x . q of one row, d = 0..D-1 in order with one fused multiply-add per element: the order of the
// scan kernel's cosine accumulation, so that re-scored GEMM candidates are bit-identical to it.
BS_DEV float bs_dot_serial(const float* x, const float* q, int D) {
    float acc = 0.0f;
#pragma unroll 4
    for (int d = 0; d < D; d += 4) {
        float4 a = bs_ldg4(x + d);
        float4 b = bs_ldg4(q + d);
        acc = fmaf(a.x, b.x, acc);
        acc = fmaf(a.y, b.y, acc);
        acc = fmaf(a.z, b.z, acc);
        acc = fmaf(a.w, b.w, acc);
    }
    return acc;
}

// Exact squared L2 distance of one row, computed from differences, d = 0..D-1 in order with one
// fused multiply-add per element. The scan kernel accumulates in exactly this order too, so the
// fused-scan path and the GEMM path give bit-identical L2 scores.
BS_DEV float bs_l2sq_serial(const float* x, const float* q, int D) {
    float acc = 0.0f;
#pragma unroll 4
    for (int d = 0; d < D; d += 4) {
        float4 a = bs_ldg4(x + d);
        float4 b = bs_ldg4(q + d);
        float t;
        t = a.x - b.x; acc = fmaf(t, t, acc);
        t = a.y - b.y; acc = fmaf(t, t, acc);
        t = a.z - b.z; acc = fmaf(t, t, acc);
        t = a.w - b.w; acc = fmaf(t, t, acc);
    }
    return acc;
}
