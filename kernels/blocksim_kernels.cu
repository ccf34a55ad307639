// blocksim search kernels: the entry points of the fatbin
// (java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin).
// The host contract (signatures, grid, block, shared memory, buffers) is kernels/README.md.
// All entry points are extern "C": their names are the strings to pass to cuModuleGetFunction.
#include "bs_common.cuh"
#include "bs_topk.cuh"
#include "bs_scan.cuh"
#include "bs_select.cuh"
#include "bs_codes.cuh"

// Version of the host contract in kernels/README.md; read it with cuModuleGetGlobal.
extern "C" {
__device__ int blocksim_abi_version = 2;
}

#define BS_SCAN_ENTRY(NAME, QC, L2)                                                              \
    BS_KERNEL(2)                                                                                 \
    NAME(const float* __restrict__ X, const float* __restrict__ norms, int nRows, int D,         \
         const float* __restrict__ queries, int nQ, int k, int rowsPerBlock, int idBase,        \
         unsigned long long* __restrict__ cand, long long candStride, int listOffset) {         \
        bs_scan_impl<QC, L2>(X, norms, nRows, D, queries, nQ, k, rowsPerBlock, idBase, cand,     \
                             candStride, listOffset);                                            \
    }

BS_SCAN_ENTRY(blocksim_scan_cos_q1, 1, false)
BS_SCAN_ENTRY(blocksim_scan_cos_q2, 2, false)
BS_SCAN_ENTRY(blocksim_scan_cos_q4, 4, false)
BS_SCAN_ENTRY(blocksim_scan_cos_q8, 8, false)
BS_SCAN_ENTRY(blocksim_scan_l2_q1, 1, true)
BS_SCAN_ENTRY(blocksim_scan_l2_q2, 2, true)
BS_SCAN_ENTRY(blocksim_scan_l2_q4, 4, true)
BS_SCAN_ENTRY(blocksim_scan_l2_q8, 8, true)

#define BS_SELECT_ENTRY(NAME, L2)                                                                \
    BS_KERNEL(2)                                                                                 \
    NAME(const float* __restrict__ S, long long ldS, int nRowsTile,                              \
         const float* __restrict__ norms, const float* __restrict__ X, int D,                    \
         const float* __restrict__ queries, float errCoef, int k, int chunkLen, int idBase,      \
         unsigned long long* __restrict__ cand, long long candStride, int listOffset) {          \
        bs_select_impl<L2>(S, ldS, nRowsTile, norms, X, D, queries, errCoef, k, chunkLen,        \
                           idBase, cand, candStride, listOffset);                                \
    }

BS_SELECT_ENTRY(blocksim_select_cos, false)
BS_SELECT_ENTRY(blocksim_select_l2, true)

BS_KERNEL(2)
blocksim_merge_candidates(const unsigned long long* __restrict__ cand, long long candStride, int M,
                          int k, int chunkLen, unsigned long long* __restrict__ out,
                          long long outStride) {
    bs_merge_impl(cand, candStride, M, k, chunkLen, false, 0, out, outStride, nullptr, nullptr);
}

BS_KERNEL(2)
blocksim_merge_final(const unsigned long long* __restrict__ cand, long long candStride, int M,
                     int k, int metric, float* __restrict__ outScores, int* __restrict__ outIds) {
    bs_merge_impl(cand, candStride, M, k, M, true, metric, nullptr, 0, outScores, outIds);
}

#define BS_CODESCAN_ENTRY(NAME, QC, L2)                                                          \
    BS_KERNEL(2)                                                                                 \
    NAME(const signed char* __restrict__ C, const float* __restrict__ scales,                    \
         const float* __restrict__ norms, int nRows, int D, const float* __restrict__ queries,   \
         const double* __restrict__ qstats, int nQ, int k, int rowsPerBlock, int idBase,         \
         float* __restrict__ hiKeys, long long hiStride, unsigned long long* __restrict__ cand,  \
         long long candStride, int listOffset) {                                                 \
        bs_codescan_impl<QC, L2>(C, scales, norms, nRows, D, queries, qstats, nQ, k,             \
                                 rowsPerBlock, idBase, hiKeys, hiStride, cand, candStride,       \
                                 listOffset);                                                    \
    }

BS_CODESCAN_ENTRY(blocksim_codescan_cos_q1, 1, false)
BS_CODESCAN_ENTRY(blocksim_codescan_cos_q2, 2, false)
BS_CODESCAN_ENTRY(blocksim_codescan_cos_q4, 4, false)
BS_CODESCAN_ENTRY(blocksim_codescan_cos_q8, 8, false)
BS_CODESCAN_ENTRY(blocksim_codescan_l2_q1, 1, true)
BS_CODESCAN_ENTRY(blocksim_codescan_l2_q2, 2, true)
BS_CODESCAN_ENTRY(blocksim_codescan_l2_q4, 4, true)
BS_CODESCAN_ENTRY(blocksim_codescan_l2_q8, 8, true)

#define BS_RERANK_ENTRY(NAME, L2)                                                                \
    BS_KERNEL(2)                                                                                 \
    NAME(const float* __restrict__ X, const float* __restrict__ norms, int nRows, int D,         \
         const float* __restrict__ queries, const float* __restrict__ hiKeys, long long hiStride, \
         const unsigned long long* __restrict__ tauList, long long tauStride, int tauK, int k,   \
         int chunkLen, int idBase, unsigned* __restrict__ rescored,                              \
         unsigned long long* __restrict__ cand, long long candStride, int listOffset) {          \
        bs_rerank_impl<L2>(X, norms, nRows, D, queries, hiKeys, hiStride, tauList, tauStride,    \
                           tauK, k, chunkLen, idBase, rescored, cand, candStride, listOffset);   \
    }

BS_RERANK_ENTRY(blocksim_rerank_cos, false)
BS_RERANK_ENTRY(blocksim_rerank_l2, true)
