// The compressed scan (exact search over int8 codes, issue 16): a code scan that bounds every row's
// canonical score from its codes, then a gather re-rank that scores exactly the rows whose bound
// can still reach the k-th best lower bound. The store's codes (io.blocksim.store.RowCodes):
//   C      int8 [rows][D]   c = clamp(rint(x / s), -127, 127)
//   scales float [rows][2]  s (the row's scale) and E >= |x - s c| (its coding error's L2 norm)
// The bounds are those of the CPU's io.blocksim.search.CodeBounds, evaluated here in double with the
// same formulas (its class comment has the proof; it holds for the kernel's dot product in any
// summation order: here d = 0..D-1 with one fmaf each). They bound the CANONICAL score (the host's
// double routine): cosine in [-1, 1], L2 as the negated distance (not its square), so that the
// host's final answer, which is canonical, is what the survivors must contain.
//
//   codescan: per (query, row) the interval [lo, hi]; lo goes into the block's top-k engine (so the
//             merged lists give tau = the k-th best lo of the whole set, packed with its row id),
//             hi is written to hiKeys. At least k rows have canonical >= their lo >= tau, so the
//             canonical k-th best is >= tau and no row with pack(hi, id) < tau can be in the top k.
//   rerank:   per (query, chunk of rows) every row with pack(hi, id) >= tau is scored with the float
//             scan's own float32 arithmetic (bs_dot_serial / bs_l2sq_serial: bit-identical keys) and
//             the block keeps the best k of them; the host then merges as after the float scan.
#pragma once
#include "bs_topk.cuh"

#define BS_CK 64            // codes of a row staged per pipeline step (4 x 16 bytes)
#define BS_CS_STRIDE 80     // bytes per staged row in shared memory (64 + 16 pad: no bank conflicts)

// The largest float <= v and the smallest float >= v (v finite or infinite, not NaN).
BS_DEV float bs_f_down(double v) {
#ifdef BS_EMU
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
#else
    return __double2float_rd(v);
#endif
}
BS_DEV float bs_f_up(double v) {
#ifdef BS_EMU
    float f = (float)v;
    return (double)f < v ? nextafterf(f, INFINITY) : f;
#else
    return __double2float_ru(v);
#endif
}

// Double arithmetic rounded once per operation, never fused into a multiply-add (nvcc contracts
// a * b + c by default): the bounds are then bit-identical to the CPU's CodeBounds (Java evaluates
// left to right without contraction) and to the emulator (built with -ffp-contract=off).
#ifdef BS_EMU
#define BS_DADD(a, b) ((a) + (b))
#define BS_DSUB(a, b) ((a) - (b))
#define BS_DMUL(a, b) ((a) * (b))
#define BS_DDIV(a, b) ((a) / (b))
#else
#define BS_DADD(a, b) __dadd_rn((a), (b))
#define BS_DSUB(a, b) __dsub_rn((a), (b))
#define BS_DMUL(a, b) __dmul_rn((a), (b))
#define BS_DDIV(a, b) __ddiv_rn((a), (b))
#endif

BS_DEV int bs_codescan_stage_bytes(int QC) {
    return BS_STAGES * BS_TILE * BS_CS_STRIDE + BS_STAGES * QC * BS_CK * 4;
}

// CodeBounds.cosine: p = fl(c . q_hat), the row's scale s, error bound e and stored norm n.
BS_DEV void bs_code_bounds_cos(float p, float s, float e, float n, double g, double tiny, float& lo,
                               float& hi) {
    // m = e + g (n (1 + 2^-22) + e) + s tiny, in CodeBounds' order
    const double sp = BS_DMUL((double)s, (double)p);
    const double m = BS_DADD(BS_DADD((double)e, BS_DMUL(g, BS_DADD(BS_DMUL((double)n, 1 + 0x1p-22), (double)e))),
                             BS_DMUL((double)s, tiny));
    const double nn = fmax((double)n, 1e-8);
    const double hiNum = BS_DADD(sp, m), loNum = BS_DSUB(sp, m);
    const double h = BS_DADD(BS_DADD(BS_DDIV(hiNum, nn), BS_DMUL(BS_DDIV(fabs(hiNum), nn), 0x1p-21)), 0x1p-22);
    const double l = BS_DSUB(BS_DSUB(BS_DDIV(loNum, nn), BS_DMUL(BS_DDIV(fabs(loNum), nn), 0x1p-21)), 0x1p-22);
    if (!(h >= l)) {  // NaN
        lo = -INFINITY;
        hi = INFINITY;
        return;
    }
    lo = bs_f_down(fmax(l, -1.0));
    hi = bs_f_up(fmin(h, 1.0));
}

// CodeBounds.l2: keys are negated distances. p = fl(c . q), cc = |c|^2 (exact), qq = |q|^2 and
// qn = |q| (the host's double sums).
BS_DEV void bs_code_bounds_l2(float p, double cc, float s, float e, double qq, double qn, double g,
                              double tiny, float& lo, float& hi) {
    const double ss = BS_DMUL(BS_DMUL((double)s, (double)s), cc);
    const double sp = BS_DMUL(BS_DMUL(2.0, (double)s), (double)p);
    const double a = BS_DADD(BS_DSUB(ss, sp), qq);
    const double delta = BS_DADD(BS_DADD(BS_DMUL(BS_DMUL(2.0, (double)s), BS_DADD(BS_DMUL(BS_DMUL(g, sqrt(cc)), qn), tiny)),
                                         BS_DMUL(0x1p-50, BS_DADD(ss, fabs(sp)))),
                                 BS_DMUL(BS_DMUL(qq, 0x1p-52), BS_DMUL(g, 0x1p24)));
    if (!(a < INFINITY && delta < INFINITY)) {  // a float sum overflowed, or NaN
        lo = -INFINITY;
        hi = 0.0f;
        return;
    }
    const double dLo = BS_DMUL(fmax(0.0, BS_DSUB(sqrt(fmax(0.0, BS_DSUB(a, delta))), (double)e)), 1 - 0x1p-22);
    const double dHi = BS_DMUL(BS_DADD(sqrt(fmax(0.0, BS_DADD(a, delta))), (double)e), 1 + 0x1p-22);
    lo = bs_f_down(-dHi);
    hi = bs_f_up(-dLo);
}

// Code scan. Same geometry as bs_scan_impl (one block = QC queries x a row range; 3-stage cp.async
// pipeline, 256 rows x 64 codes per stage, thread t owns row t of the tile), with D % 16 == 0 so
// that every row's codes start 16-byte aligned. qstats[2 q] = |q|^2 and [2 q + 1] = |q| (L2 only;
// the cosine bound needs none: the host passes q_hat). hi goes to hiKeys[q * hiStride + idBase + r].
template <int QC, bool L2>
BS_DEV void bs_codescan_impl(const signed char* __restrict__ C, const float* __restrict__ scales,
                             const float* __restrict__ norms, int nRows, int D,
                             const float* __restrict__ queries, const double* __restrict__ qstats,
                             int nQ, int k, int rowsPerBlock, int idBase,
                             float* __restrict__ hiKeys, long long hiStride,
                             bs_u64* __restrict__ cand, long long candStride, int listOffset) {
    BS_DYN_SMEM(smem);
    const int tid = threadIdx.x;
    const int q0 = blockIdx.x * QC;
    const int nq = bs_imin(QC, nQ - q0);
    if (nq <= 0) return;  // uniform over the block
    const long long r0ll = (long long)blockIdx.y * rowsPerBlock;
    const int r0 = (int)bs_lmin(r0ll, (long long)nRows);
    const int r1 = (int)bs_lmin(r0ll + rowsPerBlock, (long long)nRows);

    unsigned char* cs = smem;                                            // [STAGES][256][80] bytes
    float* qs = (float*)(smem + BS_STAGES * BS_TILE * BS_CS_STRIDE);     // [STAGES][QC][64]
    BsTopk tk = bs_topk_carve(smem + bs_codescan_stage_bytes(QC), QC, nq, k);
    bs_topk_reset(tk, 0ull);

    // CodeBounds' G with 16 lanes (the serial sum here is a special case) and (D + 16) 2^-149
    const double g = (D + 32.0) * 0x1p-24;
    const double tiny = (D + 16.0) * 0x1p-149;

    const int nChunks = (D + BS_CK - 1) / BS_CK;
    const int nTiles = r1 > r0 ? (r1 - r0 + BS_TILE - 1) / BS_TILE : 0;
    const int total = nTiles * nChunks;

    auto issue = [&](int g2) {
        if (g2 < total) {
            const int tile = g2 / nChunks;
            const int c = g2 - tile * nChunks;
            const int st = g2 % BS_STAGES;
            const int rowT = r0 + tile * BS_TILE;
            const int d0 = c * BS_CK;
            const int nv = bs_imin(4, (D - d0) >> 4);  // 16-byte vectors of codes in this chunk
            unsigned char* cst = cs + st * (BS_TILE * BS_CS_STRIDE);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int i = tid + BS_THREADS * j;
                const int row = i >> 2;
                const int v = i & 3;
                if (v < nv && rowT + row < r1)
                    bs_cp_async16(cst + row * BS_CS_STRIDE + 16 * v,
                                  C + (size_t)(rowT + row) * D + d0 + 16 * v);
            }
            if (tid < QC * 16) {
                const int s = tid >> 4;
                const int v = tid & 15;
                if (s < nq && v < 4 * nv)
                    bs_cp_async16(qs + (st * QC + s) * BS_CK + 4 * v,
                                  queries + (size_t)(q0 + s) * D + d0 + 4 * v);
            }
        }
        bs_cp_async_commit();
    };

#pragma unroll
    for (int g2 = 0; g2 < BS_STAGES - 1; ++g2) issue(g2);

    float acc[QC];
#pragma unroll
    for (int s = 0; s < QC; ++s) acc[s] = 0.0f;
    int cc = 0;  // |c|^2, exact (at most 127^2 x 4096 < 2^31)

    for (int g2 = 0; g2 < total; ++g2) {
        const int tile = g2 / nChunks;
        const int c = g2 - tile * nChunks;
        const int row = r0 + tile * BS_TILE + tid;
        if (c == 0) {
#pragma unroll
            for (int s = 0; s < QC; ++s) acc[s] = 0.0f;
            cc = 0;
        }
        bs_cp_async_wait<BS_STAGES - 2>();
        __syncthreads();  // step g2 landed for all threads; stage (g2-1) % STAGES is free again
        issue(g2 + BS_STAGES - 1);

        const int st = g2 % BS_STAGES;
        const int nv = bs_imin(4, (D - c * BS_CK) >> 4);
        const unsigned char* cr = cs + st * (BS_TILE * BS_CS_STRIDE) + tid * BS_CS_STRIDE;
        const float* qr = qs + st * QC * BS_CK;
        for (int v = 0; v < nv; ++v) {
            const unsigned* w4 = (const unsigned*)(cr + 16 * v);
#pragma unroll
            for (int w = 0; w < 4; ++w) {
                const unsigned word = w4[w];
                float xv[4];
#pragma unroll
                for (int b = 0; b < 4; ++b) {
                    const int code = (int)(signed char)(word >> (8 * b));
                    xv[b] = (float)code;
                    cc += code * code;
                }
#pragma unroll
                for (int s = 0; s < QC; ++s) {
                    const float4 qv = *(const float4*)(qr + s * BS_CK + 16 * v + 4 * w);
                    acc[s] = fmaf(xv[0], qv.x, acc[s]);
                    acc[s] = fmaf(xv[1], qv.y, acc[s]);
                    acc[s] = fmaf(xv[2], qv.z, acc[s]);
                    acc[s] = fmaf(xv[3], qv.w, acc[s]);
                }
            }
        }

        if (c == nChunks - 1) {  // uniform: end of a tile
            bool over = false;
            if (row < r1) {
                const float s = bs_ldgf(scales + 2 * (size_t)row);
                const float e = bs_ldgf(scales + 2 * (size_t)row + 1);
                const float n = L2 ? 0.0f : bs_ldgf(norms + row);
#pragma unroll
                for (int q = 0; q < QC; ++q) {
                    if (q < nq) {
                        float lo, hi;
                        if (L2)
                            bs_code_bounds_l2(acc[q], (double)cc, s, e, qstats[2 * (q0 + q)],
                                              qstats[2 * (q0 + q) + 1], g, tiny, lo, hi);
                        else
                            bs_code_bounds_cos(acc[q], s, e, n, g, tiny, lo, hi);
                        hiKeys[(size_t)(q0 + q) * hiStride + idBase + row] = hi;
                        over |= bs_topk_push(tk, q, bs_pack(lo, idBase + row));
                    }
                }
            }
            bs_topk_round_end(tk, over, BsNoRescore());
        }
    }
    bs_cp_async_wait<0>();
    bs_topk_flush(tk, BsNoRescore());

    const size_t listBase = (size_t)(listOffset + blockIdx.y) * k;
    bs_topk_store(tk, nq, k, cand, candStride, q0, listBase);
}

// The rerank's source: a row whose hi reaches tau is scored exactly (and counted); others give the
// sentinel 0, which the engine never keeps.
template <bool L2>
struct BsGatherSrc {
    const float* hi;     // hiKeys of this query, at the piece's first row
    const float* X;      // the piece's rows
    const float* norms;  // the piece's norms
    const float* q;
    int D, idBase;
    bs_u64 tau;
    unsigned* rescored;  // this query's counter
    typedef float V;
    BS_DEV V load(long long e) const { return bs_ldgf(hi + e); }
    BS_DEV bs_u64 pack(V h, long long e) const {
        const int id = idBase + (int)e;
        if (bs_pack(h, id) < tau) return 0ull;
        atomicAdd(rescored, 1u);
        const float* x = X + (size_t)e * D;
        const float key = L2 ? -bs_l2sq_serial(x, q, D)
                             : bs_dot_serial(x, q, D) / fmaxf(bs_ldgf(norms + e), 1e-8f);
        return bs_pack(key, id);
    }
};

// Gather re-rank. Block (x, q): rows [x * chunkLen, ...) of the piece; tau = tauList[q * tauStride
// + tauK - 1] (the merged code scan's k-th best lower bound, packed; 0 lets every row through).
template <bool L2>
BS_DEV void bs_rerank_impl(const float* __restrict__ X, const float* __restrict__ norms, int nRows,
                           int D, const float* __restrict__ queries,
                           const float* __restrict__ hiKeys, long long hiStride,
                           const bs_u64* __restrict__ tauList, long long tauStride, int tauK, int k,
                           int chunkLen, int idBase, unsigned* __restrict__ rescored,
                           bs_u64* __restrict__ cand, long long candStride, int listOffset) {
    BS_DYN_SMEM(smem);
    const int q = blockIdx.y;
    const long long e0 = (long long)blockIdx.x * chunkLen;
    const long long e1 = bs_lmin(e0 + chunkLen, (long long)nRows);
    BsTopk tk = bs_topk_carve(smem, 1, 1, k);
    bs_topk_reset(tk, 0ull);
    BsGatherSrc<L2> src;
    src.hi = hiKeys + (size_t)q * hiStride + idBase;
    src.X = X;
    src.norms = norms;
    src.q = queries + (size_t)q * D;
    src.D = D;
    src.idBase = idBase;
    src.tau = bs_ldg64(tauList + (size_t)q * tauStride + (tauK - 1));
    src.rescored = rescored + q;
    bs_topk_stream(tk, e0, e1, src, BsNoRescore());
    bs_topk_flush(tk, BsNoRescore());
    const size_t listBase = (size_t)(listOffset + blockIdx.x) * k;
    bs_topk_store(tk, 1, k, cand, candStride, q, listBase);
}
