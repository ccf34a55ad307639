// Selection over a dense score tile produced by SGEMM (the large-Q path), and candidate merges.
#pragma once
#include "bs_topk.cuh"

// The score tile S (Q x rowsTile, row-major with leading dimension ldS) comes from SGEMM:
//   cosine: S[q][r] = x_r . q_hat   (q_hat = q / max(|q|, 1e-8), prepared by the host)
//   L2    : S[q][r] = x_r . q       (raw query)
// Scores from an SGEMM are only approximations of the scan kernel's (cuBLAS sums in its own order,
// possibly split over k), so the selection is made exact by re-scoring with the scan's own float32
// arithmetic (bs_dot_serial / bs_l2sq_serial):
//   pass 1: the block's top k by the approximate key; re-score them exactly; tau = k-th best.
//   pass 2: every row whose OPTIMISTIC key (approximate key + error bound) reaches tau is re-scored
//           exactly and selected. At least k rows have exact keys >= tau, and no row whose
//           optimistic key is below tau can have an exact key >= tau, so the result is exactly the
//           scan kernel's top k (same keys, same tie order), whatever the SGEMM's rounding.
// Error bounds (u = 2^-24, gamma_D = D u; the SGEMM dot product, the stored norms and the exact
// float32 recomputation each err by at most about gamma_D relative to |x||q|):
//   cosine: |approx - exact| <= (3D + 64) u                     (scores are <= 1 in magnitude)
//   L2    : |approx - exact| <= (2D + 64) u (|x| + |q|)^2       (approx = |x|^2 + |q|^2 - 2 x.q)
// errCoef > 0 replaces the coefficient (e.g. a larger one for a TF32 GEMM: do not use TF32 with
// the default).
template <bool L2>
struct BsTileSrc {
    const float* srow;
    const float* norms;
    int idBase;
    float nq2, nqn, coef;
    bool optimistic;
    struct V {
        float s, n;
    };
    BS_DEV V load(long long e) const {
        V v;
        v.s = bs_ldgf(srow + e);
        v.n = bs_ldgf(norms + e);
        return v;
    }
    BS_DEV bs_u64 pack(V v, long long e) const {
        float key;
        if (L2) {
            float d2 = fmaf(v.n, v.n, nq2) - 2.0f * v.s;
            if (optimistic) {
                const float m = v.n + nqn;
                d2 = fmaxf(d2 - coef * (m * m), 0.0f);
            }
            key = -d2;
        } else {
            key = v.s / fmaxf(v.n, 1e-8f);
            if (optimistic) key += coef;
        }
        return bs_pack(key, idBase + (int)e);
    }
};

// Exact re-scoring of a candidate, bit-identical to the scan kernel's score of that row.
template <bool L2>
struct BsRescore {
    static const bool enabled = true;
    const float* X;      // row (id - idBase) of the tile
    const float* norms;  // of the tile
    const float* q;
    int D;
    int idBase;
    BS_DEV bs_u64 operator()(bs_u64 p) const {
        const int id = bs_unpack_id(p);
        const int r = id - idBase;
        const float* x = X + (size_t)r * D;
        float key;
        if (L2) {
            key = -bs_l2sq_serial(x, q, D);
        } else {
            key = bs_dot_serial(x, q, D) / fmaxf(bs_ldgf(norms + r), 1e-8f);
        }
        return bs_pack(key, id);
    }
};

template <bool L2>
BS_DEV void bs_select_impl(const float* __restrict__ S, long long ldS, int nRowsTile,
                           const float* __restrict__ norms, const float* __restrict__ X, int D,
                           const float* __restrict__ queries, float errCoef, int k, int chunkLen,
                           int idBase, bs_u64* __restrict__ cand, long long candStride,
                           int listOffset) {
    BS_DYN_SMEM(smem);
    const int tid = threadIdx.x;
    const int q = blockIdx.y;
    const long long e0 = (long long)blockIdx.x * chunkLen;
    const long long e1 = bs_lmin(e0 + chunkLen, (long long)nRowsTile);
    BsTopk tk = bs_topk_carve(smem, 1, 1, k);
    const float* qv = queries + (size_t)q * D;

    BsTileSrc<L2> src;
    src.srow = S + (size_t)q * ldS;
    src.norms = norms;
    src.idBase = idBase;
    src.nq2 = 0.0f;
    src.nqn = 0.0f;
    src.optimistic = false;
    if (L2) {
        // |q|^2 (deterministic tree reduction; only used by the approximation and its bound)
        float* red = (float*)(smem + bs_topk_bytes(1, k));
        float part = 0.0f;
        for (int d = tid; d < D; d += BS_THREADS) {
            const float a = bs_ldgf(qv + d);
            part = fmaf(a, a, part);
        }
        red[tid] = part;
        __syncthreads();
        for (int o = BS_THREADS / 2; o > 0; o >>= 1) {
            if (tid < o) red[tid] += red[tid + o];
            __syncthreads();
        }
        src.nq2 = red[0];
        src.nqn = sqrtf(src.nq2);
        src.coef = errCoef > 0.0f ? errCoef : (float)(2 * D + 64) * 5.9604644775390625e-8f;
    } else {
        src.coef = errCoef > 0.0f ? errCoef : (float)(3 * D + 64) * 5.9604644775390625e-8f;
    }
    BsRescore<L2> rs;
    rs.X = X;
    rs.norms = norms;
    rs.q = qv;
    rs.D = D;
    rs.idBase = idBase;

    // pass 1: top k by the approximation, then their exact keys; tau = the k-th best of them
    bs_topk_reset(tk, 0ull);
    bs_topk_stream(tk, e0, e1, src, BsNoRescore());
    bs_topk_flush(tk, BsNoRescore());
    for (int j = tid; j < tk.L; j += BS_THREADS)
        if (tk.list[j] != 0ull) tk.list[j] = rs(tk.list[j]);
    __syncthreads();
    bs_bitonic_sort_desc(tk.list, tk.L, 1, tk.L);
    const bs_u64 tau = tk.list[k - 1];
    __syncthreads();
    // pass 2: every row whose optimistic key reaches tau, re-scored exactly
    bs_topk_reset(tk, tau != 0ull ? tau - 1ull : 0ull);
    src.optimistic = true;
    bs_topk_stream(tk, e0, e1, src, rs);
    bs_topk_flush(tk, rs);

    const size_t listBase = (size_t)(listOffset + blockIdx.x) * k;
    bs_topk_store(tk, 1, k, cand, candStride, q, listBase);
}

// ---- merges of packed candidates ---------------------------------------------------------------
struct BsCandSrc {
    const bs_u64* row;
    typedef bs_u64 V;
    BS_DEV V load(long long e) const { return bs_ldg64(row + e); }
    BS_DEV bs_u64 pack(V v, long long) const { return v; }
};

BS_DEV void bs_merge_impl(const bs_u64* __restrict__ cand, long long candStride, int M, int k,
                          int chunkLen, bool final, int metric, bs_u64* __restrict__ out,
                          long long outStride, float* __restrict__ outScores,
                          int* __restrict__ outIds) {
    BS_DYN_SMEM(smem);
    const int tid = threadIdx.x;
    const int q = blockIdx.y;
    const long long e0 = (long long)blockIdx.x * chunkLen;
    const long long e1 = bs_lmin(e0 + chunkLen, (long long)M);
    BsTopk tk = bs_topk_carve(smem, 1, 1, k);
    bs_topk_reset(tk, 0ull);
    BsCandSrc src;
    src.row = cand + (size_t)q * candStride;
    bs_topk_stream(tk, e0, e1, src, BsNoRescore());
    bs_topk_flush(tk, BsNoRescore());
    for (int j = tid; j < k; j += BS_THREADS) {
        const bs_u64 p = tk.list[j];
        if (final) {
            float score;
            int id;
            if (p == 0ull) {
                id = -1;
                score = __uint_as_float(0x7fc00000u);  // NaN: no candidate (k > rows)
            } else {
                id = bs_unpack_id(p);
                const float key = bs_unpack_key(p);
                // BS_METRIC_KEYS: the packed key itself (cosine, or -(squared L2 distance)), for a
                // host that checks the k-th boundary against its own slack
                score = metric == BS_METRIC_L2 ? sqrtf(0.0f - key) : key;
            }
            outScores[(size_t)q * k + j] = score;
            outIds[(size_t)q * k + j] = id;
        } else {
            out[(size_t)q * outStride + (size_t)blockIdx.x * k + j] = p;
        }
    }
}
