// Fused scan: score every candidate row against a chunk of QC queries and keep the block's best k
// per query. One block = one query chunk (blockIdx.x) x one contiguous row range (blockIdx.y).
//
// Data path: rows are streamed through a BS_STAGES-deep cp.async pipeline, 256 rows x 16 floats
// per stage (each row 64 contiguous bytes: full 32-byte sectors), together with the matching
// 16 floats of each query of the chunk. Thread t owns row t of the tile and accumulates its QC
// scores in registers, reading its row slice with one 16-byte shared load per 4 floats (rows are
// padded to 20 floats: conflict-free) and the query values as broadcasts. The pipeline runs
// continuously across tiles, so the loads of the next tile are in flight during a tile's epilogue
// (score -> packed candidate -> cheap reject -> push) and during top-k flushes.
// X is read exactly once per query chunk; with blockIdx.x = query chunk, the blocks that share a
// row range are scheduled together and share it through L2.
#pragma once
#include "bs_topk.cuh"

BS_DEV int bs_scan_stage_bytes(int QC) {
    return BS_STAGES * BS_TILE * BS_XS_STRIDE * 4 + BS_STAGES * QC * BS_DK * 4;
}

template <int QC, bool L2>
BS_DEV void bs_scan_impl(const float* __restrict__ X, const float* __restrict__ norms, int nRows,
                         int D, const float* __restrict__ queries, int nQ, int k, int rowsPerBlock,
                         int idBase, bs_u64* __restrict__ cand, long long candStride,
                         int listOffset) {
    BS_DYN_SMEM(smem);
    const int tid = threadIdx.x;
    const int q0 = blockIdx.x * QC;
    const int nq = bs_imin(QC, nQ - q0);
    if (nq <= 0) return;  // uniform over the block
    const long long r0ll = (long long)blockIdx.y * rowsPerBlock;
    const int r0 = (int)bs_lmin(r0ll, (long long)nRows);
    const int r1 = (int)bs_lmin(r0ll + rowsPerBlock, (long long)nRows);

    float* xs = (float*)smem;                                // [STAGES][256][20]
    float* qs = xs + BS_STAGES * BS_TILE * BS_XS_STRIDE;     // [STAGES][QC][16]
    BsTopk tk = bs_topk_carve(smem + bs_scan_stage_bytes(QC), QC, nq, k);
    bs_topk_reset(tk, 0ull);

    const int nChunks = (D + BS_DK - 1) / BS_DK;
    const int nTiles = r1 > r0 ? (r1 - r0 + BS_TILE - 1) / BS_TILE : 0;
    const int total = nTiles * nChunks;

    // Issues the copies of pipeline step g (tile g / nChunks, chunk g % nChunks) into stage
    // g % STAGES, and always commits one group (possibly empty) so that group g == step g.
    auto issue = [&](int g) {
        if (g < total) {
            const int tile = g / nChunks;
            const int c = g - tile * nChunks;
            const int st = g % BS_STAGES;
            const int rowT = r0 + tile * BS_TILE;
            const int d0 = c * BS_DK;
            const int nv = bs_imin(4, (D - d0) >> 2);
            float* xst = xs + st * (BS_TILE * BS_XS_STRIDE);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int i = tid + BS_THREADS * j;
                const int row = i >> 2;
                const int v = i & 3;
                if (v < nv && rowT + row < r1)
                    bs_cp_async16(xst + row * BS_XS_STRIDE + 4 * v,
                                  X + (size_t)(rowT + row) * D + d0 + 4 * v);
            }
            if (tid < QC * 4) {
                const int s = tid >> 2;
                const int v = tid & 3;
                if (s < nq && v < nv)
                    bs_cp_async16(qs + (st * QC + s) * BS_DK + 4 * v,
                                  queries + (size_t)(q0 + s) * D + d0 + 4 * v);
            }
        }
        bs_cp_async_commit();
    };

#pragma unroll
    for (int g = 0; g < BS_STAGES - 1; ++g) issue(g);

    float acc[QC];
#pragma unroll
    for (int s = 0; s < QC; ++s) acc[s] = 0.0f;
    float nrm = 1.0f;

    for (int g = 0; g < total; ++g) {
        const int tile = g / nChunks;
        const int c = g - tile * nChunks;
        const int row = r0 + tile * BS_TILE + tid;
        if (c == 0) {
#pragma unroll
            for (int s = 0; s < QC; ++s) acc[s] = 0.0f;
            if (!L2) nrm = row < r1 ? bs_ldgf(norms + row) : 1.0f;
        }
        bs_cp_async_wait<BS_STAGES - 2>();
        __syncthreads();  // step g landed for all threads; stage (g-1) % STAGES is free again
        issue(g + BS_STAGES - 1);

        const int st = g % BS_STAGES;
        const int nv = bs_imin(4, (D - c * BS_DK) >> 2);
        const float* xr = xs + st * (BS_TILE * BS_XS_STRIDE) + tid * BS_XS_STRIDE;
        const float* qr = qs + st * QC * BS_DK;
        if (nv == 4) {
#pragma unroll
            for (int v = 0; v < 4; ++v) {
                const float4 xv = *(const float4*)(xr + 4 * v);
#pragma unroll
                for (int s = 0; s < QC; ++s) {
                    const float4 qv = *(const float4*)(qr + s * BS_DK + 4 * v);
                    if (L2) {
                        float t;
                        t = xv.x - qv.x; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.y - qv.y; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.z - qv.z; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.w - qv.w; acc[s] = fmaf(t, t, acc[s]);
                    } else {
                        acc[s] = fmaf(xv.x, qv.x, acc[s]);
                        acc[s] = fmaf(xv.y, qv.y, acc[s]);
                        acc[s] = fmaf(xv.z, qv.z, acc[s]);
                        acc[s] = fmaf(xv.w, qv.w, acc[s]);
                    }
                }
            }
        } else {
            for (int v = 0; v < nv; ++v) {
                const float4 xv = *(const float4*)(xr + 4 * v);
#pragma unroll
                for (int s = 0; s < QC; ++s) {
                    const float4 qv = *(const float4*)(qr + s * BS_DK + 4 * v);
                    if (L2) {
                        float t;
                        t = xv.x - qv.x; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.y - qv.y; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.z - qv.z; acc[s] = fmaf(t, t, acc[s]);
                        t = xv.w - qv.w; acc[s] = fmaf(t, t, acc[s]);
                    } else {
                        acc[s] = fmaf(xv.x, qv.x, acc[s]);
                        acc[s] = fmaf(xv.y, qv.y, acc[s]);
                        acc[s] = fmaf(xv.z, qv.z, acc[s]);
                        acc[s] = fmaf(xv.w, qv.w, acc[s]);
                    }
                }
            }
        }

        if (c == nChunks - 1) {  // uniform: end of a tile
            bool over = false;
            if (row < r1) {
                const float den = L2 ? 1.0f : fmaxf(nrm, 1e-8f);
#pragma unroll
                for (int s = 0; s < QC; ++s) {
                    if (s < nq) {
                        const float key = L2 ? -acc[s] : acc[s] / den;
                        over |= bs_topk_push(tk, s, bs_pack(key, idBase + row));
                    }
                }
            }
            bs_topk_round_end(tk, over, BsNoRescore());
        }
    }
    bs_cp_async_wait<0>();
    bs_topk_flush(tk, BsNoRescore());

    // the block's candidates: cand[q * candStride + (listOffset + blockIdx.y) * k + j]
    const size_t listBase = (size_t)(listOffset + blockIdx.y) * k;
    bs_topk_store(tk, nq, k, cand, candStride, q0, listBase);
}
