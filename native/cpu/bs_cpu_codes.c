/*
 * blocksim's one native CPU kernel: the compressed scan's first pass as exact integer dot products
 * of int8 codes with int16 queries, on AVX-512 VNNI (vpdpwssd: 32 multiply-adds of int16 pairs into
 * int32 lanes per instruction, twice a float FMA's work and no widening to float). The Java Vector
 * API has no such operation; the Java kernels (CodeKernels) remain the fallback.
 *
 * Contract (io.blocksim.search.NativeCodes calls it through the FFM API):
 *   codes  int8 [rows, dim], row-major (a shard's code file, from its first wanted row)
 *   q      int16 [nq, qstride], qstride = dim rounded up to 32, zero past dim; 1 <= nq <= 8
 *   out    int32 [rows, nq]: out[r nq + j] = sum_i codes[r][i] q[j][i], exact while
 *          127 max|q| qstride < 2^31 (the caller scales the queries so)
 *   cc     int32 [rows] or NULL: sum_i codes[r][i]^2 (exact while 16129 qstride < 2^31)
 * bs_codes_scan does the same and then drops, per row, every query whose bar the row provably
 * cannot reach, by CodeBounds.cosineCannotReach / l2CannotReach (io.blocksim.search, the same
 * double arithmetic in the same order: compiled with -ffp-contract=off), returning the rows left.
 * The library loads on any x86-64: the kernel is compiled for AVX-512 alone (a target attribute)
 * and the caller runs it only after bs_cpu_usable() says the CPU and the OS support it.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stddef.h>
#include <math.h>
#include <float.h>

#define BS_CPU_ABI 2
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

int bs_cpu_abi(void) { return BS_CPU_ABI; }

int bs_cpu_usable(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/*
 * The sums of the 16 int32 lanes of each of a[0..8), in order, as 8 int32 at out: a tree of
 * 128-bit shuffles and in-lane unpacks (22 operations where 8 separate reductions take about 70).
 */
static inline __attribute__((always_inline)) TARGET void fold8(const __m512i *a, int32_t *out) {
    __m512i b[4];
    for (int i = 0; i < 4; i++) {  /* [a_2i halves added | a_2i+1 halves added] */
        b[i] = _mm512_add_epi32(_mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], 0x44),
                _mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], 0xEE));
    }
    /* [a0 | a1 | a2 | a3] and [a4 | a5 | a6 | a7], 4 partial sums in each 128-bit quarter */
    __m512i c0 = _mm512_add_epi32(_mm512_shuffle_i64x2(b[0], b[1], 0x88), _mm512_shuffle_i64x2(b[0], b[1], 0xDD));
    __m512i c1 = _mm512_add_epi32(_mm512_shuffle_i64x2(b[2], b[3], 0x88), _mm512_shuffle_i64x2(b[2], b[3], 0xDD));
    /* quarter i: [a_i, a_i+4, a_i, a_i+4] partial pairs, then whole sums in its first two lanes */
    __m512i w = _mm512_add_epi32(_mm512_unpacklo_epi32(c0, c1), _mm512_unpackhi_epi32(c0, c1));
    w = _mm512_add_epi32(w, _mm512_shuffle_epi32(w, (_MM_PERM_ENUM) 0x4E));
    /* lanes 0,1 of quarter i hold a_i, a_i+4 */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm256_storeu_si256((__m256i *) out, _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, w)));
}

/* NQ queries and (SQ) the sums of squares; constants in each specialization below. */
static inline __attribute__((always_inline)) TARGET void rows_n(const int8_t *codes, int64_t rows, int32_t dim,
        const int16_t *q, int32_t qstride, const int NQ, const int SQ, int32_t *out, int32_t *cc) {
    const int32_t full = dim & ~31;
    const __mmask32 tail = (__mmask32) ((1ull << (dim & 31)) - 1);
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *row = codes + r * (int64_t) dim;
        __m512i acc[8];
        __m512i sq = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            acc[j] = _mm512_setzero_si512();
        }
        int32_t d = 0;
        for (; d < full; d += 32) {
            __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) (row + d)));
            if (SQ) {
                sq = _mm512_dpwssd_epi32(sq, x, x);
            }
            for (int j = 0; j < NQ; j++) {
                acc[j] = _mm512_dpwssd_epi32(acc[j], x,
                        _mm512_loadu_si512((const void *) (q + (int64_t) j * qstride + d)));
            }
        }
        if (d < dim) {  /* the last codes of the row; the queries are zero past dim */
            __m512i x = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(tail, row + d));
            if (SQ) {
                sq = _mm512_dpwssd_epi32(sq, x, x);
            }
            for (int j = 0; j < NQ; j++) {
                acc[j] = _mm512_dpwssd_epi32(acc[j], x,
                        _mm512_loadu_si512((const void *) (q + (int64_t) j * qstride + d)));
            }
        }
        if (NQ >= 4) {
            int32_t all[8];
            fold8(acc, all);
            for (int j = 0; j < NQ; j++) {
                out[r * NQ + j] = all[j];
            }
        } else {
            for (int j = 0; j < NQ; j++) {
                out[r * NQ + j] = _mm512_reduce_add_epi32(acc[j]);
            }
        }
        if (SQ) {
            cc[r] = _mm512_reduce_add_epi32(sq);
        }
    }
}

TARGET void bs_codes_dot(const int8_t *codes, int64_t rows, int32_t dim, const int16_t *q, int32_t nq, int32_t *out,
        int32_t *cc) {
    int32_t qstride = (dim + 31) / 32 * 32;
    /* one specialization per (queries, squares): the accumulators stay in registers */
#define BS_CASE(N) \
    case N: \
        if (cc) rows_n(codes, rows, dim, q, qstride, N, 1, out, cc); \
        else rows_n(codes, rows, dim, q, qstride, N, 0, out, cc); \
        break;
    switch (nq) {
    BS_CASE(1) BS_CASE(2) BS_CASE(3) BS_CASE(4) BS_CASE(5) BS_CASE(6) BS_CASE(7) BS_CASE(8)
    default: break;
    }
#undef BS_CASE
}

/* Java's Math.max(norm, eps): NaN stays NaN (fmax would drop it). */
static inline double max_norm(float norm) {
    double eps = 1e-8; /* io.blocksim.Metric.NORM_EPS */
    return norm != norm ? (double) norm : (norm >= eps ? (double) norm : eps);
}

static inline __attribute__((always_inline)) TARGET __m512d splat(double v) { return _mm512_set1_pd(v); }

/*
 * bs_codes_dot for rows [0, rows), then the quick rejection of CodeScan's first pass, for the
 * queries of the group at once in the 8 double lanes of a vector (the same IEEE operations, in
 * the same order, as Java's scalar code; comparisons false on NaN as Java's are). Per query j
 * (p_j = out[r nq + j] inv_j, the code dot product):
 *   cosine (norms != NULL): CodeBounds.cosineRowSlack and cosineCannotReach with param g, tiny;
 *   L2 (norms == NULL, cc != NULL): CodeBounds.l2CannotReach with qq_j, qn_j.
 * param: [0] g, [1] tiny, [2 + j] inv_j, [10 + j] qq_j, [18 + j] qn_j (8 queries at most).
 * scales: float [rows, 2] (scale, error bound); bar: float [nq] (NaN: reject nothing).
 * hits: for each row some query may still reach, (r << 8) | the mask of those queries, in row
 * order; returns their count.
 */
TARGET int32_t bs_codes_scan(const int8_t *codes, int64_t rows, int32_t dim, const int16_t *q, int32_t nq,
        const float *scales, const float *norms, const double *param, const float *bar, int32_t *out, int32_t *cc,
        int32_t *hits) {
    bs_codes_dot(codes, rows, dim, q, nq, out, cc);
    const double g = param[0];
    const double tiny = param[1];
    const __mmask8 valid = (__mmask8) ((1u << nq) - 1);
    const __m512d inv = _mm512_maskz_loadu_pd(valid, param + 2);
    const __m512d qq = _mm512_maskz_loadu_pd(valid, param + 10);
    const __m512d qn = _mm512_maskz_loadu_pd(valid, param + 18);
    const __m512d barv = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(valid, bar));
    /* L2: -bar (1 + 2^-21) (= bar (-(1 + 2^-21)): rounding is symmetric), the part of t that does not depend on the row */
    const __m512d tb = _mm512_mul_pd(barv, splat(-(1 + 0x1p-21)));
    const __m512d gqq = _mm512_mul_pd(_mm512_mul_pd(qq, splat(0x1p-52)), splat(g * 0x1p24));
    int32_t found = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float scale = scales[2 * r];
        const float err = scales[2 * r + 1];
        __m512d p = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(valid, out + r * nq)), inv);
        __mmask8 reject;
        if (norms) {
            const float norm = norms[r];
            double m = err + g * (norm * (1 + 0x1p-22) + err) + scale * tiny;
            double n = max_norm(norm);
            double slack = m + (norm * (1 + 0x1p-20) + err + 2 * m) * 0x1p-21 + 0x1p-22 * n;
            /* s + slack < bn - (|bn| + n + slack) 2^-40, s = scale p, bn = bar n */
            __m512d s = _mm512_mul_pd(splat(scale), p);
            __m512d bn = _mm512_mul_pd(barv, splat(n));
            __m512d right = _mm512_sub_pd(bn, _mm512_mul_pd(_mm512_add_pd(_mm512_add_pd(_mm512_abs_pd(bn), splat(n)),
                    splat(slack)), splat(0x1p-40)));
            reject = _mm512_cmp_pd_mask(_mm512_add_pd(s, splat(slack)), right, _CMP_LT_OQ);
        } else {
            double c2 = cc[r];
            double ss = (double) scale * scale * c2;
            double sqc = sqrt(c2);
            __m512d sp = _mm512_mul_pd(splat(2.0 * scale), p);
            __m512d a = _mm512_add_pd(_mm512_sub_pd(splat(ss), sp), qq);
            /* 2 scale (g sqc qn + tiny) + 2^-50 (ss + |sp|) + (qq 2^-52) (g 2^24) */
            __m512d delta = _mm512_add_pd(_mm512_add_pd(
                    _mm512_mul_pd(splat(2.0 * scale), _mm512_add_pd(_mm512_mul_pd(splat(g * sqc), qn), splat(tiny))),
                    _mm512_mul_pd(splat(0x1p-50), _mm512_add_pd(splat(ss), _mm512_abs_pd(sp)))), gqq);
            __m512d t = _mm512_add_pd(tb, splat(err));
            __mmask8 nonneg = _mm512_cmp_pd_mask(t, _mm512_setzero_pd(), _CMP_GE_OQ);
            __m512d right = _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(t, t), splat(1 + 0x1p-40)), splat(DBL_MIN));
            reject = nonneg & _mm512_cmp_pd_mask(_mm512_sub_pd(a, delta), right, _CMP_GT_OQ);
        }
        __mmask8 keep = valid & (__mmask8) ~reject;
        if (keep) {
            hits[found++] = (int32_t) (r << 8) | keep;
        }
    }
    return found;
}
