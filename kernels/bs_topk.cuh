// Block-wide top-k selection engine ("block queue") used by every kernel.
//
// Per query slot s the block keeps, in shared memory:
//   list[s][0..L)  the best candidates so far, packed (bs_common.cuh), sorted descending;
//                  L = pow2ceil(k); entries past the real ones are the sentinel 0.
//   buf[s][0..B)   an append buffer of candidates that beat the threshold, B = max(L, 512).
//   thr[s]         the cheap-reject threshold: max(list[s][k-1], floor[s]). A candidate enters
//                  the buffer only if its packed value is strictly greater (packed values are
//                  unique because ids are), so the reject is exact, not a heuristic.
//   cnt[s]         number of buffered candidates.
// Producers push at most one candidate per slot per thread per round (<= 256 per slot), and a
// round ends with one __syncthreads_or that flushes when any buffer holds more than B - 256. A flush sorts
// the buffers (bitonic, descending), merges the best L of each into its list with one bitonic
// merge (max(list[i], buf[L-1-i]) is bitonic and holds the best L of the union), and raises thr.
// In the common case (k small, threshold settled) a candidate costs one 64-bit compare.
#pragma once
#include "bs_common.cuh"

struct BsTopk {
    bs_u64* list;   // [slots][L]
    bs_u64* buf;    // [slots][B]
    bs_u64* thr;    // [slots]
    bs_u64* floor_; // [slots]
    int* cnt;       // [slots]
    int slots;      // slots in use (<= capacity used for the carve)
    int k, L, B;
};

// Shared-memory bytes of an engine with `cap` slots (mirrored by the host: kernels/README.md).
BS_DEV int bs_topk_bytes(int cap, int k) {
    int L = bs_pow2ceil(k);
    int B = bs_imax(L, BS_BUF_MIN);
    int bytes = cap * (L + B) * 8 + cap * 16 + cap * 4;
    return (bytes + 15) & ~15;
}

BS_DEV BsTopk bs_topk_carve(unsigned char* base, int cap, int slots, int k) {
    BsTopk t;
    t.k = k;
    t.L = bs_pow2ceil(k);
    t.B = bs_imax(t.L, BS_BUF_MIN);
    t.slots = slots;
    t.list = (bs_u64*)base;
    t.buf = t.list + (size_t)cap * t.L;
    t.thr = t.buf + (size_t)cap * t.B;
    t.floor_ = t.thr + cap;
    t.cnt = (int*)(t.floor_ + cap);
    return t;
}

// Empties the lists. floorVal: packed values <= floorVal are rejected from the start.
BS_DEV void bs_topk_reset(BsTopk& t, bs_u64 floorVal) {
    const int n = t.slots * t.L;
    for (int i = threadIdx.x; i < n; i += BS_THREADS) t.list[i] = 0ull;
    for (int s = threadIdx.x; s < t.slots; s += BS_THREADS) {
        t.floor_[s] = floorVal;
        t.thr[s] = floorVal;
        t.cnt[s] = 0;
    }
    __syncthreads();
}

// Pushes p into slot s when it beats the threshold. Returns true when the buffer is now filled past
// B - 256 (so the round must end with a flush). Must not be called more than once per slot per
// thread between two bs_topk_round_end calls.
BS_DEV bool bs_topk_push(BsTopk& t, int s, bs_u64 p) {
    if (p > t.thr[s]) {
        const int i = atomicAdd(&t.cnt[s], 1);
        t.buf[(size_t)s * t.B + i] = p;
        return i >= t.B - BS_TILE;
    }
    return false;
}

// Sorts `slots` arrays of S (power of two) packed values, descending. Arrays start `stride`
// values apart. Contains barriers: call uniformly.
BS_NOINLINE_DEV void bs_bitonic_sort_desc(bs_u64* base, int stride, int slots, int S) {
    const int half = S >> 1;
    const int tasks = slots * half;
    for (int size = 2; size <= S; size <<= 1) {
        for (int st = size >> 1; st > 0; st >>= 1) {
#pragma unroll 1
    #pragma unroll 1
        for (int t = threadIdx.x; t < tasks; t += BS_THREADS) {
                const int s = t / half;
                const int p = t - s * half;
                const int i = ((p & ~(st - 1)) << 1) | (p & (st - 1));
                const int j = i + st;
                bs_u64* a = base + (size_t)s * stride;
                const bs_u64 x = a[i], y = a[j];
                const bool desc = (i & size) == 0;
                if (desc ? (x < y) : (x > y)) {
                    a[i] = y;
                    a[j] = x;
                }
            }
            __syncthreads();
        }
    }
}

// Sorts `slots` bitonic arrays of S values descending (half-cleaner cascade).
BS_NOINLINE_DEV void bs_bitonic_merge_desc(bs_u64* base, int stride, int slots, int S) {
    const int half = S >> 1;
    const int tasks = slots * half;
    for (int st = half; st > 0; st >>= 1) {
#pragma unroll 1
        for (int t = threadIdx.x; t < tasks; t += BS_THREADS) {
            const int s = t / half;
            const int p = t - s * half;
            const int i = ((p & ~(st - 1)) << 1) | (p & (st - 1));
            const int j = i + st;
            bs_u64* a = base + (size_t)s * stride;
            const bs_u64 x = a[i], y = a[j];
            if (x < y) {
                a[i] = y;
                a[j] = x;
            }
        }
        __syncthreads();
    }
}

struct BsNoRescore {
    static const bool enabled = false;
    BS_DEV bs_u64 operator()(bs_u64 p) const { return p; }
};

// Merges all buffers into the lists. `rescore` (when enabled) replaces each buffered value by a
// new one for the same id before the merge (used for exact L2 re-ranking). Call uniformly.
// Not inlined: it is large and runs rarely; inlining it at every call site multiplies code size.
template <class Rescore>
BS_NOINLINE_DEV void bs_topk_flush(BsTopk t, Rescore rescore) {
    __syncthreads();
    int maxc = 0;
    for (int s = 0; s < t.slots; ++s) maxc = bs_imax(maxc, t.cnt[s]);
    if (maxc == 0) {  // uniform: every thread read the same counts (nobody pushes during a flush)
        __syncthreads();  // ... and nobody leaves before all have read them
        return;
    }
    const int S = bs_imax(t.L, bs_pow2ceil(maxc));  // <= B
#pragma unroll 1
    for (int s = 0; s < t.slots; ++s) {
        bs_u64* b = t.buf + (size_t)s * t.B;
        const int c = t.cnt[s];
#pragma unroll 1
        for (int i = threadIdx.x; i < S; i += BS_THREADS) {
            if (i < c) {
                if (Rescore::enabled) b[i] = rescore(b[i]);
            } else {
                b[i] = 0ull;
            }
        }
    }
    __syncthreads();
    bs_bitonic_sort_desc(t.buf, t.B, t.slots, S);
    const int L = t.L;
#pragma unroll 1
    for (int i = threadIdx.x; i < t.slots * L; i += BS_THREADS) {
        const int s = i / L;
        const int j = i - s * L;
        const bs_u64 a = t.list[(size_t)s * L + j];
        const bs_u64 b = t.buf[(size_t)s * t.B + (L - 1 - j)];
        t.list[(size_t)s * L + j] = a > b ? a : b;
    }
    __syncthreads();
    bs_bitonic_merge_desc(t.list, L, t.slots, L);
    for (int s = threadIdx.x; s < t.slots; s += BS_THREADS) {
        const bs_u64 kth = t.list[(size_t)s * L + (t.k - 1)];
        t.thr[s] = kth > t.floor_[s] ? kth : t.floor_[s];
        t.cnt[s] = 0;
    }
    __syncthreads();
}

// Ends a round of at most one push per slot per thread: one barrier (__syncthreads_or) that also
// makes the flush decision uniform. `over` is the OR of this thread's bs_topk_push results.
// (Reading cnt after a plain barrier is racy: a thread that decided "no flush" could push the next
// round before a slower thread read the count, and the block would then diverge on barriers.)
template <class Rescore>
BS_DEV void bs_topk_round_end(BsTopk& t, bool over, const Rescore& rescore) {
    if (__syncthreads_or(over ? 1 : 0)) bs_topk_flush(t, rescore);
}

// Streams packed candidates produced by `src` for element indices [e0, e1) into slot 0 of a
// one-slot engine: each thread handles one element per round of 256, with the loads of 4 rounds
// issued together. src.load(e) returns a value of type Src::V, src.pack(v, e) the packed candidate.
template <class Src, class Rescore>
BS_DEV void bs_topk_stream(BsTopk& t, long long e0, long long e1, const Src& src,
                           const Rescore& rescore) {
    for (long long base = e0; base < e1; base += 4 * BS_TILE) {
        typename Src::V v[4] = {};
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            const long long e = base + u * BS_TILE + threadIdx.x;
            if (e < e1) v[u] = src.load(e);
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            const long long e = base + u * BS_TILE + threadIdx.x;
            bool over = false;
            if (e < e1) over = bs_topk_push(t, 0, src.pack(v[u], e));
            if (base + u * BS_TILE < e1) bs_topk_round_end(t, over, rescore);
        }
    }
}

// Writes a block's lists out: list s < nq, its k best, to out[(q0 + s) * stride + base + j]
// (after bs_topk_flush; every kernel that ends in candidate lists ends here).
BS_DEV void bs_topk_store(const BsTopk& t, int nq, int k, bs_u64* __restrict__ out, long long stride,
                          int q0, size_t base) {
    for (int i = threadIdx.x; i < nq * k; i += BS_THREADS) {
        const int s = i / k;
        const int j = i - s * k;
        out[(size_t)(q0 + s) * stride + base + j] = t.list[(size_t)s * t.L + j];
    }
}
