/*
 * blocksim's one native CPU kernel: the compressed scan's first pass as exact integer dot products
 * of int8 codes with int16 queries, on AVX-512 VNNI (vpdpwssd: 32 multiply-adds of int16 pairs into
 * int32 lanes per instruction, twice a float FMA's work and no widening to float). The Java Vector
 * API has no such operation; the Java kernels (CodeKernels) remain the fallback.
 *
 * Contract (io.blocksim.search.NativeCodes calls it through the FFM API):
 *   codes  int8 [rows, dim], row-major (a shard's code file, from its first wanted row)
 *   q      int16 [nq, qstride], qstride = dim rounded up to 32, zero past dim; 1 <= nq <= 8
 *   out    int32 [nq, rows]: out[j rows + r] = sum_i codes[r][i] q[j][i], exact while
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

#define BS_CPU_ABI 3
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,bmi2")))

int bs_cpu_abi(void) { return BS_CPU_ABI; }

int bs_cpu_usable(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")
        && __builtin_cpu_supports("bmi2");
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
        /* a row 16 ahead, one line per 64 codes: the hardware prefetcher alone leaves a core short of
         * its share of the memory bandwidth (a prefetch never faults, past the codes' end included) */
        for (int32_t o = 0; o < dim; o += 64) {
            _mm_prefetch((const char *) (row + 16 * (int64_t) dim + o), _MM_HINT_T0);
        }
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
                out[j * rows + r] = all[j];
            }
        } else {
            for (int j = 0; j < NQ; j++) {
                out[j * rows + r] = _mm512_reduce_add_epi32(acc[j]);
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

static inline __attribute__((always_inline)) TARGET __m512d splat(double v) { return _mm512_set1_pd(v); }

/* The 8 int32 at p (the first `live` of them) as doubles. */
static inline __attribute__((always_inline)) TARGET __m512d ints8(const int32_t *p, __mmask8 live) {
    return _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(live, p));
}

/*
 * bs_codes_dot for rows [0, rows), then the quick rejection of CodeScan's first pass, 8 rows at a
 * time in the 8 double lanes of a vector, query by query: the same IEEE operations in the same
 * order as Java's scalar code (comparisons false on NaN, as Java's are). Per query j
 * (p_j = out[j rows + r] inv_j, the code dot product):
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
    const __m512d g = splat(param[0]);
    const __m512d tiny = splat(param[1]);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    int32_t found = 0;
    for (int64_t r = 0; r < rows; r += 8) {
        const int64_t left = rows - r;
        const __mmask8 live = left >= 8 ? 0xFF : (__mmask8) ((1u << left) - 1);
        const __mmask16 live2 = left >= 8 ? 0xFFFF : (__mmask16) ((1u << (2 * left)) - 1);
        const __m512 se = _mm512_maskz_loadu_ps(live2, scales + 2 * r);
        const __m512d scale = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_permutexvar_ps(even, se)));
        const __m512d err = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_permutexvar_ps(odd, se)));
        uint64_t rowmask = 0;  /* byte i: the queries row r + i may still reach */
        if (norms) {
            const __m512d norm = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(live, norms + r));
            /* m = err + g (norm (1 + 2^-22) + err) + scale tiny */
            const __m512d m = _mm512_add_pd(_mm512_add_pd(err, _mm512_mul_pd(g,
                    _mm512_add_pd(_mm512_mul_pd(norm, splat(1 + 0x1p-22)), err))), _mm512_mul_pd(scale, tiny));
            /* n = Math.max(norm, 1e-8): NaN stays NaN */
            const __mmask8 keepNorm = _mm512_cmp_pd_mask(norm, splat(1e-8), _CMP_GE_OQ)
                    | _mm512_cmp_pd_mask(norm, norm, _CMP_UNORD_Q);
            const __m512d n = _mm512_mask_blend_pd(keepNorm, splat(1e-8), norm);
            /* slack = m + (norm (1 + 2^-20) + err + 2 m) 2^-21 + 2^-22 n */
            const __m512d slack = _mm512_add_pd(_mm512_add_pd(m, _mm512_mul_pd(_mm512_add_pd(_mm512_add_pd(
                    _mm512_mul_pd(norm, splat(1 + 0x1p-20)), err), _mm512_mul_pd(splat(2.0), m)), splat(0x1p-21))),
                    _mm512_mul_pd(splat(0x1p-22), n));
            for (int32_t j = 0; j < nq; j++) {
                /* s + slack < bn - (|bn| + n + slack) 2^-40, s = scale p, bn = bar n */
                __m512d p = _mm512_mul_pd(ints8(out + j * rows + r, live), splat(param[2 + j]));
                __m512d s = _mm512_mul_pd(scale, p);
                __m512d bn = _mm512_mul_pd(splat((double) bar[j]), n);
                __m512d right = _mm512_sub_pd(bn, _mm512_mul_pd(_mm512_add_pd(_mm512_add_pd(_mm512_abs_pd(bn), n),
                        slack), splat(0x1p-40)));
                __mmask8 reject = _mm512_cmp_pd_mask(_mm512_add_pd(s, slack), right, _CMP_LT_OQ);
                rowmask |= _pdep_u64((uint64_t) (__mmask8) (live & ~reject), 0x0101010101010101ull) << j;
            }
        } else {
            const __m512d c2 = ints8(cc + r, live);
            const __m512d ss = _mm512_mul_pd(_mm512_mul_pd(scale, scale), c2);
            const __m512d sqc = _mm512_sqrt_pd(c2);
            const __m512d scale2 = _mm512_mul_pd(splat(2.0), scale);
            const __m512d gsqc = _mm512_mul_pd(g, sqc);
            for (int32_t j = 0; j < nq; j++) {
                const double qq = param[10 + j];
                __m512d p = _mm512_mul_pd(ints8(out + j * rows + r, live), splat(param[2 + j]));
                __m512d sp = _mm512_mul_pd(scale2, p);
                __m512d a = _mm512_add_pd(_mm512_sub_pd(ss, sp), splat(qq));
                /* 2 scale (g sqc qn + tiny) + 2^-50 (ss + |sp|) + (qq 2^-52) (g 2^24) */
                __m512d delta = _mm512_add_pd(_mm512_add_pd(
                        _mm512_mul_pd(scale2, _mm512_add_pd(_mm512_mul_pd(gsqc, splat(param[18 + j])), tiny)),
                        _mm512_mul_pd(splat(0x1p-50), _mm512_add_pd(ss, _mm512_abs_pd(sp)))),
                        splat((qq * 0x1p-52) * (param[0] * 0x1p24)));
                /* t = -bar (1 + 2^-21) + err */
                __m512d t = _mm512_add_pd(splat((double) -bar[j] * (1 + 0x1p-21)), err);
                __mmask8 nonneg = _mm512_cmp_pd_mask(t, _mm512_setzero_pd(), _CMP_GE_OQ);
                __m512d right = _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(t, t), splat(1 + 0x1p-40)), splat(DBL_MIN));
                __mmask8 reject = nonneg & _mm512_cmp_pd_mask(_mm512_sub_pd(a, delta), right, _CMP_GT_OQ);
                rowmask |= _pdep_u64((uint64_t) (__mmask8) (live & ~reject), 0x0101010101010101ull) << j;
            }
        }
        for (int i = 0; rowmask != 0; i++, rowmask >>= 8) {
            uint32_t byte = (uint32_t) (rowmask & 0xFF);
            if (byte) {
                hits[found++] = (int32_t) ((r + i) << 8) | (int32_t) byte;
            }
        }
    }
    return found;
}
