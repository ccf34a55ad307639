// blocksim kernel check harness.
//
// Runs every kernel of the shipped fatbin (or, in blocksim_emu_check, the same kernel source in the
// CPU block emulator) on random data of awkward sizes, compares each result with a float64 CPU
// reference (PASS/FAIL per case, with the first mismatch), and on a device prints a timing table
// of the fused scan next to the device's device-to-device copy bandwidth.
//
//   blocksim_check [--fatbin PATH] [--quick] [--no-timing] [--timing-only] [--filter S] [--select-sweep]
//                  [--reps N] [--no-cublas]
//   blocksim_emu_check [--filter S] [--smem-limit BYTES] [--copy-mode 0|1|2]   (always quick)
//
// Exit status: 0 all PASS, 1 a FAIL, 2 no usable device / setup error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bs_backend.h"
#include "bs_plan.h"

#ifndef BLOCKSIM_DEFAULT_FATBIN
#define BLOCKSIM_DEFAULT_FATBIN "java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin"
#endif

using namespace bsplan;

namespace {

// ---------------------------------------------------------------------------------------------
// utilities

template <class F>
void parallelFor(long long n, F f) {
    unsigned nt = std::max(1u, std::thread::hardware_concurrency());
    if (n < 2 || nt == 1) {
        for (long long i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<long long> next(0);
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < nt; ++t)
        ts.emplace_back([&] {
            for (long long i; (i = next.fetch_add(1)) < n;) f(i);
        });
    for (auto& t : ts) t.join();
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) { next(); }
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    double u01() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
    float sym() { return (float)(2.0 * u01() - 1.0); }
};

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct DevBuf {
    BsBackend* be = nullptr;
    void* p = nullptr;
    size_t bytes = 0;
    DevBuf() {}
    DevBuf(BsBackend* b, size_t n) : be(b), p(b->alloc(n)), bytes(n) {}
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
    DevBuf(DevBuf&& o) noexcept : be(o.be), p(o.p), bytes(o.bytes) { o.p = nullptr; }
    DevBuf& operator=(DevBuf&& o) noexcept {
        std::swap(be, o.be);
        std::swap(p, o.p);
        std::swap(bytes, o.bytes);
        return *this;
    }
    ~DevBuf() {
        if (p) be->release(p);
    }
    template <class T>
    T* as() const {
        return (T*)p;
    }
};

// ---------------------------------------------------------------------------------------------
// problems

struct ProblemSpec {
    int N, D;
    double dupFrac;  // fraction of rows that copy an earlier row (exact ties)
    int zeroRows;    // rows that are all zeros
    uint64_t seed;
    int oddRows = 0;  // rows the int8 codes meet at their extremes: half exactly codable (E = 0),
                      // half with one outlier dimension (large E)
    bool operator<(const ProblemSpec& o) const {
        return std::tie(N, D, dupFrac, zeroRows, seed, oddRows) <
               std::tie(o.N, o.D, o.dupFrac, o.zeroRows, o.seed, o.oddRows);
    }
};

struct Problem {
    ProblemSpec spec;
    std::vector<float> X;       // N x D
    std::vector<float> norms;   // float32 |x| (what the store keeps)
    std::vector<double> norm64; // float64 |x| (reference)
    long long lastCopy = -1;    // the last row that is a copy of an earlier row (-1: none)
    std::vector<int8_t> codes;  // N x D int8 codes, as io.blocksim.store.RowCodes writes them
    std::vector<float> scales;  // N x 2: scale, error bound
    DevBuf dX, dNorms, dCodes, dScales;
};

// io.blocksim.store.RowCodes.encode: per row s = fl(max|x| / 127), c = clamp(rint(x / s)), and E
// >= |x - s c| (the double sum raised by (D + 8) 2^-53 and D 2^-1073, rounded up to float).
void encodeCodes(Problem& p) {
    const long long N = p.spec.N, D = p.spec.D;
    p.codes.assign((size_t)N * D, 0);
    p.scales.assign((size_t)N * 2, 0.0f);
    const double grow = 1 + (D + 8.0) * 0x1p-53, tiny = D * 0x1p-1074 * 2;
    parallelFor(N, [&](long long r) {
        const float* x = &p.X[(size_t)r * D];
        int8_t* c = &p.codes[(size_t)r * D];
        float mx = 0;
        for (long long i = 0; i < D; ++i) mx = std::max(mx, std::fabs(x[i]));
        const float sc = (float)(mx / 127.0);
        double ss = 0;
        if (sc == 0) {
            for (long long i = 0; i < D; ++i) ss += (double)x[i] * x[i];
        } else {
            const double inv = 1.0 / sc;
            for (long long i = 0; i < D; ++i) {
                const long long v = std::min(127LL, std::max(-127LL, (long long)std::nearbyint(x[i] * inv)));
                c[i] = (int8_t)v;
                const double e = x[i] - (double)sc * v;
                ss += e * e;
            }
        }
        const double bound = ss == 0 ? 0 : std::sqrt(ss) * grow + tiny;
        float err = (float)bound;
        if (err < bound) err = std::nextafter(err, INFINITY);
        p.scales[2 * r] = sc;
        p.scales[2 * r + 1] = err;
    });
}

std::unique_ptr<Problem> makeProblem(BsBackend& be, const ProblemSpec& s) {
    std::unique_ptr<Problem> p(new Problem);
    p->spec = s;
    const long long N = s.N, D = s.D;
    p->X.resize((size_t)N * D);
    const long long blk = 4096;
    parallelFor(ceilDiv(N, blk), [&](long long b) {
        Rng r(s.seed * 1000003ull + (uint64_t)b);
        for (long long i = b * blk; i < std::min(N, (b + 1) * blk); ++i) {
            const float scale = (float)(0.25 + 2.0 * r.u01());
            float* x = &p->X[(size_t)i * D];
            for (long long d = 0; d < D; ++d) x[d] = r.sym() * scale;
        }
    });
    Rng r(s.seed ^ 0xABCDEFull);
    const long long dups = (long long)(s.dupFrac * N);
    for (long long t = 0; t < dups; ++t) {
        long long i = 1 + (long long)(r.u01() * (N - 1));
        long long j = (long long)(r.u01() * i);  // an earlier row (it may itself be a copy)
        if (i >= N || j >= i) continue;
        std::memcpy(&p->X[(size_t)i * D], &p->X[(size_t)j * D], D * sizeof(float));
        p->lastCopy = std::max(p->lastCopy, i);
    }
    for (int o = 0; o < s.oddRows && N > 0; ++o) {
        long long i = (long long)(r.u01() * N);
        float* x = &p->X[(size_t)i * D];
        if (o % 2 == 0) {  // small integers times a power of two, 127 among them: codes exact
            for (long long d = 0; d < D; ++d) x[d] = std::ldexp((float)((long long)(r.u01() * 255) - 127), -3);
            x[(size_t)(r.u01() * D)] = 127 * 0.125f;
        } else {
            x[(size_t)(r.u01() * D)] *= 1000.0f;  // one outlier dimension: the others lose precision
        }
        if (i == p->lastCopy) p->lastCopy = -1;
    }
    for (int z = 0; z < s.zeroRows && N > 0; ++z) {
        long long i = (long long)(r.u01() * N);
        std::memset(&p->X[(size_t)i * D], 0, D * sizeof(float));
        if (i == p->lastCopy) p->lastCopy = -1;  // (it may still equal other zero rows)
    }
    p->norms.resize(N);
    p->norm64.resize(N);
    parallelFor(N, [&](long long i) {
        double a = 0;
        const float* x = &p->X[(size_t)i * D];
        for (long long d = 0; d < D; ++d) a += (double)x[d] * x[d];
        p->norm64[i] = std::sqrt(a);
        p->norms[i] = (float)std::sqrt(a);
    });
    encodeCodes(*p);
    p->dCodes = DevBuf(&be, std::max<size_t>(16, p->codes.size()));
    p->dScales = DevBuf(&be, p->scales.size() * 4);
    be.upload(p->dCodes.p, p->codes.data(), p->codes.size());
    be.upload(p->dScales.p, p->scales.data(), p->scales.size() * 4);
    p->dX = DevBuf(&be, p->X.size() * 4);
    p->dNorms = DevBuf(&be, p->norms.size() * 4);
    be.upload(p->dX.p, p->X.data(), p->X.size() * 4);
    be.upload(p->dNorms.p, p->norms.data(), p->norms.size() * 4);
    return p;
}

struct Queries {
    int Q, D;
    std::vector<float> raw;   // Q x D
    std::vector<float> hat;   // q / max(|q|, 1e-8): what the host passes for cosine
    std::vector<double> nq64;
    std::vector<double> stats;  // per query |q|^2 and |q| of the raw query, summed in double
};

// special: 0 random; 1 query 0 is zero, query 1 copies a row that has duplicates, others random
Queries makeQueries(const Problem& p, int Q, uint64_t seed, int special) {
    Queries q;
    q.Q = Q;
    q.D = p.spec.D;
    const int D = q.D;
    q.raw.resize((size_t)Q * D);
    Rng r(seed);
    for (int i = 0; i < Q; ++i) {
        // half of the queries are perturbed rows (realistic near neighbours), half random
        float* d = &q.raw[(size_t)i * D];
        if (i % 2 == 0 && p.spec.N > 0) {
            long long row = (long long)(r.u01() * p.spec.N);
            const float* x = &p.X[(size_t)row * D];
            for (int j = 0; j < D; ++j) d[j] = x[j] + 0.05f * r.sym();
        } else {
            for (int j = 0; j < D; ++j) d[j] = r.sym();
        }
    }
    if (special == 1) {
        if (Q > 0) std::fill(q.raw.begin(), q.raw.begin() + D, 0.0f);
        if (Q > 1 && p.spec.N > 0) {
            // a copy of a row that has duplicates (ties at the top), else of the last row
            const long long pick = p.lastCopy >= 0 ? p.lastCopy : p.spec.N - 1;
            std::memcpy(&q.raw[(size_t)1 * D], &p.X[(size_t)pick * D], D * 4);
        }
    }
    q.hat.resize(q.raw.size());
    q.nq64.resize(Q);
    q.stats.resize(2 * (size_t)Q);
    for (int i = 0; i < Q; ++i) {
        double a = 0;
        for (int j = 0; j < D; ++j) a += (double)q.raw[(size_t)i * D + j] * q.raw[(size_t)i * D + j];
        q.nq64[i] = std::sqrt(a);
        q.stats[2 * i] = a;
        q.stats[2 * i + 1] = q.nq64[i];
        const double den = std::max(q.nq64[i], 1e-8);
        for (int j = 0; j < D; ++j) q.hat[(size_t)i * D + j] = (float)(q.raw[(size_t)i * D + j] / den);
    }
    return q;
}

// ---------------------------------------------------------------------------------------------
// the host side of a search (what the Java host does), on the backend

struct Tuning {
    int rowsPerBlock = 0;  // scan: override the planned rows per block
    int selectChunk = 0;   // gemm: rows of the tile per select block
    int tileRows = 0;      // gemm: rows per SGEMM tile
    int mergeChunk = 0;    // merge: candidates per merge block
    int pieceRows = 0;     // codes: launch per piece of this many rows (idBase, listOffset)
    int rerankChunk = 0;   // codes: rows per rerank block
};

struct SearchOut {
    std::vector<float> scores;
    std::vector<int> ids;
    std::string plan;
};

// The merge rounds: while more than one chunk of candidates remains per query, each chunk of Q
// lists of M packed candidates (row stride `stride`) is reduced to its k best, ping-ponging between
// a and b (both grown as needed, never shrunk). Returns the buffer that holds what is left; M and
// stride follow it. toList: one more round takes what is left to one list of k per query.
DevBuf* launchMergeRounds(BsBackend& be, DevBuf& a, DevBuf& b, long long& M, long long& stride, int Q, int k,
                          const Tuning& tu, bool toList, std::string* plan) {
    // a merge round must shrink the candidates: chunk >= 2k (the default is >= 8k)
    const int chunk = tu.mergeChunk > 0 ? std::max(tu.mergeChunk, 2 * k) : mergeChunk(k);
    DevBuf* cur = &a;
    DevBuf* nxt = &b;
    for (bool last = false; !last;) {
        last = M <= chunk;
        if (last && !toList) break;
        const int ch = last ? (int)M : chunk;
        const long long nChunks = ceilDiv(M, ch);
        const long long outStride = nChunks * k;
        if (nxt->bytes < (size_t)Q * outStride * 8) *nxt = DevBuf(&be, (size_t)Q * outStride * 8);
        const unsigned long long* c = cur->as<unsigned long long>();
        int Mi = (int)M, ki = k, chi = ch;
        unsigned long long* o = nxt->as<unsigned long long>();
        long long cs = stride, os = outStride;
        void* args[] = {&c, &cs, &Mi, &ki, &chi, &o, &os};
        BsDim g;
        g.x = (unsigned)nChunks;
        g.y = (unsigned)Q;
        be.launch("blocksim_merge_candidates", g, mergeSmem(k), args);
        if (plan) *plan += " merge(" + std::to_string(M) + "->" + std::to_string(outStride) + ")";
        std::swap(cur, nxt);
        M = outStride;
        stride = outStride;
    }
    return cur;
}

// Merges Q lists of M packed candidates (in a, row stride M) down to the final top k: the merge
// rounds, then merge_final with `metric` (scores, or kMetricKeys for the raw keys).
void launchMerges(BsBackend& be, DevBuf& a, DevBuf& b, long long M, int Q, int k, int metric,
                  const Tuning& tu, DevBuf& outScores, DevBuf& outIds, std::string* plan) {
    long long stride = M;
    DevBuf* cur = launchMergeRounds(be, a, b, M, stride, Q, k, tu, false, plan);
    const unsigned long long* c = cur->as<unsigned long long>();
    int Mi = (int)M, ki = k, mi = metric;
    long long cs = stride;
    float* s = outScores.as<float>();
    int* ids = outIds.as<int>();
    void* args[] = {&c, &cs, &Mi, &ki, &mi, &s, &ids};
    BsDim g;
    g.x = 1;
    g.y = (unsigned)Q;
    be.launch("blocksim_merge_final", g, mergeSmem(k), args);
    if (plan) *plan += " final(" + std::to_string(M) + ")";
}

// Merges Q lists of M packed candidates (in a) down to one list of the k best per query, without
// the final merge's decoding: returns the buffer that holds them at stride k.
DevBuf* launchMergesToList(BsBackend& be, DevBuf& a, DevBuf& b, long long M, int Q, int k,
                           const Tuning& tu, std::string* plan) {
    long long stride = M;
    return launchMergeRounds(be, a, b, M, stride, Q, k, tu, true, plan);
}

struct Searcher {
    BsBackend& be;
    const Problem& p;
    DevBuf dQ;       // queries as passed to the kernels (hat for cosine, raw for L2)
    DevBuf cand, cand2, outScores, outIds, tile;
    DevBuf dStats, hiKeys, candLo, candLo2, rescored;  // the compressed scan
    const DevBuf* tauList = nullptr;
    int m = 0;                                        // the rerank's list length
    int Q = 0, k = 0, metric = 0;
    Searcher(BsBackend& b, const Problem& pr) : be(b), p(pr) {}

    void setQueries(const Queries& q, int metricIn, int kIn) {
        cachedRpb = -1;
        Q = q.Q;
        k = kIn;
        metric = metricIn;
        const std::vector<float>& v = metric == kMetricCosine ? q.hat : q.raw;
        if (dQ.bytes < v.size() * 4) dQ = DevBuf(&be, v.size() * 4);
        be.upload(dQ.p, v.data(), v.size() * 4);
        if (dStats.bytes < q.stats.size() * 8) dStats = DevBuf(&be, q.stats.size() * 8);
        be.upload(dStats.p, q.stats.data(), q.stats.size() * 8);
        if (outScores.bytes < (size_t)Q * k * 4) {
            outScores = DevBuf(&be, (size_t)Q * k * 4);
            outIds = DevBuf(&be, (size_t)Q * k * 4);
        }
    }

    ScanPlan cachedPlan;
    int cachedRpb = -1;
    ScanPlan scanPlan(const Tuning& tu) {
        if (cachedRpb == tu.rowsPerBlock) return cachedPlan;  // (Q, k, metric fixed per Searcher)
        const int qc = scanQueryChunk(Q, k, be.maxSmemOptin());
        const char* kern = scanKernel(metric, qc);
        const int occ = be.occupancy(kern, scanSmem(qc, k));
        if (occ < 1) throw std::runtime_error(std::string(kern) + ": does not fit on an SM");
        cachedPlan = planScan(p.spec.N, Q, k, metric, be.smCount(), occ, be.maxSmemOptin(),
                              tu.rowsPerBlock);
        cachedRpb = tu.rowsPerBlock;
        return cachedPlan;
    }

    // fused scan + merges; returns the plan description
    std::string runScan(const Tuning& tu, bool withMerge = true) {
        ScanPlan sp = scanPlan(tu);
        const long long M = (long long)sp.rowBlocks * k;
        if (cand.bytes < (size_t)Q * M * 8) cand = DevBuf(&be, (size_t)Q * M * 8);
        const float* X = p.dX.as<float>();
        const float* nr = p.dNorms.as<float>();
        const float* qs = dQ.as<float>();
        int N = p.spec.N, D = p.spec.D, nQ = Q, ki = k, rpb = sp.rowsPerBlock, idBase = 0,
            listOffset = 0;
        unsigned long long* c = cand.as<unsigned long long>();
        long long cs = M;
        void* args[] = {&X, &nr, &N, &D, &qs, &nQ, &ki, &rpb, &idBase, &c, &cs, &listOffset};
        BsDim g;
        g.x = (unsigned)sp.qChunks;
        g.y = (unsigned)sp.rowBlocks;
        be.launch(sp.kernel, g, sp.smem, args);
        std::string plan = std::string(sp.kernel) + " grid(" + std::to_string(g.x) + "," +
                           std::to_string(g.y) + ") rows/block " +
                           std::to_string(sp.rowsPerBlock) + " smem " + std::to_string(sp.smem);
        if (withMerge) launchMerges(be, cand, cand2, M, Q, k, metric, tu, outScores, outIds, &plan);
        return plan;
    }

    // SGEMM (cuBLAS, or host-computed tiles) + select + merges
    std::string runGemm(const Tuning& tu, const Queries& hq) {
        const int N = p.spec.N, D = p.spec.D;
        const int T = tu.tileRows > 0 ? std::min(tu.tileRows, N) : gemmTileRows(N, Q);
        const char* selKernel = metric == kMetricCosine ? "blocksim_select_cos" : "blocksim_select_l2";
        const long long slots = (long long)be.smCount() * std::max(1, be.occupancy(selKernel, selectSmem(k, metric)));
        auto chunkOf = [&](int rows) { return tu.selectChunk > 0 ? tu.selectChunk : selectChunk(k, rows, Q, slots); };
        const int chunk = chunkOf((int)std::min<long long>(T, N));
        long long lists = 0;
        for (long long t0 = 0; t0 < N; t0 += T) {
            const int rows = (int)std::min<long long>(T, N - t0);
            lists += ceilDiv(rows, chunkOf(rows));
        }
        const long long M = lists * k;
        if (cand.bytes < (size_t)Q * M * 8) cand = DevBuf(&be, (size_t)Q * M * 8);
        if (tile.bytes < (size_t)Q * T * 4) tile = DevBuf(&be, (size_t)Q * T * 4);
        const bool useBlas = be.hasSgemm();
        std::vector<float> hostTile;
        const std::vector<float>& hqv = metric == kMetricCosine ? hq.hat : hq.raw;
        int listOffset = 0;
        for (long long t0 = 0; t0 < N; t0 += T) {
            const int rows = (int)std::min<long long>(T, N - t0);
            const long long ldS = T;
            if (useBlas) {
                be.sgemm(p.dX.as<float>() + t0 * D, rows, dQ.as<float>(), Q, D, tile.as<float>(), ldS);
            } else {
                // host-made tile, with random errors of up to half the SGEMM error bound that the
                // select kernels assume (D * 2^-24 * |x| |q|): the result must stay exact
                hostTile.assign((size_t)Q * ldS, 0.0f);
                parallelFor(Q, [&](long long q) {
                    const float* qq = &hqv[(size_t)q * D];
                    double nq = 0;
                    for (int d = 0; d < D; ++d) nq += (double)qq[d] * qq[d];
                    nq = std::sqrt(nq);
                    Rng rng(1000003ull * (uint64_t)q + (uint64_t)t0);
                    for (int r = 0; r < rows; ++r) {
                        const float* x = &p.X[(size_t)(t0 + r) * D];
                        float a = 0;
                        for (int d = 0; d < D; ++d) a = std::fma(x[d], qq[d], a);
                        const double err = 0.5 * D * 5.9604644775390625e-8 * p.norm64[t0 + r] * nq;
                        hostTile[(size_t)q * ldS + r] = (float)(a + rng.sym() * err);
                    }
                });
                be.upload(tile.p, hostTile.data(), hostTile.size() * 4);
            }
            const float* S = tile.as<float>();
            const float* nr = p.dNorms.as<float>() + t0;
            const float* Xt = p.dX.as<float>() + t0 * D;
            const float* qs = dQ.as<float>();
            int nRowsTile = rows, ki = k, ch = chunkOf(rows), idBase = (int)t0, Di = D;
            float errCoef = 0.0f;
            unsigned long long* c = cand.as<unsigned long long>();
            long long cs = M, lds = ldS;
            BsDim g;
            g.x = (unsigned)ceilDiv(rows, ch);
            g.y = (unsigned)Q;
            void* args[] = {&S, &lds, &nRowsTile, &nr, &Xt, &Di, &qs, &errCoef,
                            &ki, &ch, &idBase, &c, &cs, &listOffset};
            be.launch(metric == kMetricCosine ? "blocksim_select_cos" : "blocksim_select_l2", g,
                      selectSmem(k, metric), args);
            listOffset += (int)g.x;
        }
        std::string plan = std::string(useBlas ? "cuBLAS" : "host") + " tiles of " +
                           std::to_string(T) + " rows, select chunk " + std::to_string(chunk) +
                           ", " + std::to_string(lists) + " lists";
        launchMerges(be, cand, cand2, M, Q, k, metric, tu, outScores, outIds, &plan);
        return plan;
    }

    // The compressed scan: per piece the code scan (lower bounds into lists of k, upper bounds into
    // hiKeys), the lists merged to tau, per piece the gather re-rank keeping the best m of the
    // survivors, then the merges; outScores/outIds hold Q x m raw keys (kMetricKeys).
    std::string runCodes(const Tuning& tu, int mIn) {
        const int N = p.spec.N, D = p.spec.D;
        m = mIn;
        const int piece = tu.pieceRows > 0 ? std::min(tu.pieceRows, N) : N;
        const int qc = codeScanQueryChunk(Q, k, be.maxSmemOptin());
        const char* kern = codeScanKernel(metric, qc);
        const int occ = be.occupancy(kern, codeScanSmem(qc, k));
        if (occ < 1) throw std::runtime_error(std::string(kern) + ": does not fit on an SM");
        long long listsLo = 0;
        for (long long p0 = 0; p0 < N; p0 += piece)
            listsLo += planCodeScan((int)std::min<long long>(piece, N - p0), Q, k, metric, be.smCount(), occ,
                                    be.maxSmemOptin(), tu.rowsPerBlock).rowBlocks;
        const long long Mlo = listsLo * k;
        if (candLo.bytes < (size_t)Q * Mlo * 8) candLo = DevBuf(&be, (size_t)Q * Mlo * 8);
        if (hiKeys.bytes < (size_t)Q * N * 4) hiKeys = DevBuf(&be, std::max<size_t>(16, (size_t)Q * N * 4));
        std::string plan;
        int listOffset = 0;
        for (long long p0 = 0; p0 < N; p0 += piece) {
            const int rows = (int)std::min<long long>(piece, N - p0);
            ScanPlan sp = planCodeScan(rows, Q, k, metric, be.smCount(), occ, be.maxSmemOptin(), tu.rowsPerBlock);
            const signed char* C = (const signed char*)p.dCodes.as<int8_t>() + p0 * D;
            const float* sc = p.dScales.as<float>() + 2 * p0;
            const float* nr = p.dNorms.as<float>() + p0;
            const float* qs = dQ.as<float>();
            const double* st = dStats.as<double>();
            float* hk = hiKeys.as<float>();
            int Di = D, nQ = Q, ki = k, rpb = sp.rowsPerBlock, idBase = (int)p0, lo = listOffset;
            long long hs = N, cs = Mlo;
            unsigned long long* c = candLo.as<unsigned long long>();
            void* args[] = {&C, &sc, &nr, (void*)&rows, &Di, &qs, &st, &nQ, &ki, &rpb, &idBase, &hk, &hs, &c, &cs, &lo};
            BsDim g;
            g.x = (unsigned)sp.qChunks;
            g.y = (unsigned)sp.rowBlocks;
            be.launch(sp.kernel, g, sp.smem, args);
            if (p0 == 0)
                plan = std::string(sp.kernel) + " grid(" + std::to_string(g.x) + "," + std::to_string(g.y) +
                       ") rows/block " + std::to_string(sp.rowsPerBlock) + " pieces of " + std::to_string(piece);
            listOffset += sp.rowBlocks;
        }
        tauList = launchMergesToList(be, candLo, candLo2, Mlo, Q, k, tu, &plan);

        const char* rk = rerankKernel(metric);
        const long long slots = (long long)be.smCount() * std::max(1, be.occupancy(rk, rerankSmem(m)));
        auto chunkOf = [&](int rows) { return tu.rerankChunk > 0 ? tu.rerankChunk : rerankChunk(m, rows, Q, slots); };
        long long listsRe = 0;
        for (long long p0 = 0; p0 < N; p0 += piece) {
            const int rows = (int)std::min<long long>(piece, N - p0);
            listsRe += ceilDiv(rows, chunkOf(rows));
        }
        const long long M = listsRe * m;
        if (cand.bytes < (size_t)Q * M * 8) cand = DevBuf(&be, (size_t)Q * M * 8);
        if (rescored.bytes < (size_t)Q * 4) rescored = DevBuf(&be, (size_t)Q * 4);
        std::vector<unsigned> zeros(Q, 0u);
        be.upload(rescored.p, zeros.data(), (size_t)Q * 4);
        listOffset = 0;
        for (long long p0 = 0; p0 < N; p0 += piece) {
            const int rows = (int)std::min<long long>(piece, N - p0);
            const float* X = p.dX.as<float>() + p0 * D;
            const float* nr = p.dNorms.as<float>() + p0;
            const float* qs = dQ.as<float>();
            const float* hk = hiKeys.as<float>();
            const unsigned long long* tl = tauList->as<unsigned long long>();
            long long hs = N, ts = k, cs = M;
            int Di = D, tk = k, mi = m, ch = chunkOf(rows), idBase = (int)p0, lo = listOffset;
            unsigned* rs = rescored.as<unsigned>();
            unsigned long long* c = cand.as<unsigned long long>();
            void* args[] = {&X, &nr, (void*)&rows, &Di, &qs, &hk, &hs, &tl, &ts, &tk, &mi, &ch, &idBase, &rs, &c, &cs, &lo};
            BsDim g;
            g.x = (unsigned)ceilDiv(rows, ch);
            g.y = (unsigned)Q;
            be.launch(rk, g, rerankSmem(m), args);
            listOffset += (int)g.x;
        }
        plan += " rerank chunk " + std::to_string(chunkOf(std::min(piece, N))) + " m " + std::to_string(m);
        if (outScores.bytes < (size_t)Q * m * 4) {
            outScores = DevBuf(&be, (size_t)Q * m * 4);
            outIds = DevBuf(&be, (size_t)Q * m * 4);
        }
        launchMerges(be, cand, cand2, M, Q, m, kMetricKeys, tu, outScores, outIds, &plan);
        return plan;
    }

    SearchOut fetch(int per = 0) {
        SearchOut o;
        if (per <= 0) per = k;
        o.scores.resize((size_t)Q * per);
        o.ids.resize((size_t)Q * per);
        be.download(o.scores.data(), outScores.p, o.scores.size() * 4);
        be.download(o.ids.data(), outIds.p, o.ids.size() * 4);
        return o;
    }
};

// ---------------------------------------------------------------------------------------------
// float64 reference and the comparison

struct CheckResult {
    bool ok = true;
    std::string msg;
};

// The first query's failure, or ok.
CheckResult firstFailure(const std::vector<std::string>& errs) {
    CheckResult cr;
    for (const std::string& e : errs)
        if (!e.empty()) {
            cr.ok = false;
            cr.msg = e;
            break;
        }
    return cr;
}

CheckResult check(const Problem& p, const Queries& qs, int k, int metric, const SearchOut& out) {
    const int N = p.spec.N, D = p.spec.D, Q = qs.Q;
    std::vector<std::string> errs(Q);
    parallelFor(Q, [&](long long qi) {
        const int q = (int)qi;
        std::vector<double> ref(N);
        const float* qv = &qs.raw[(size_t)q * D];
        for (int r = 0; r < N; ++r) {
            const float* x = &p.X[(size_t)r * D];
            double a = 0;
            if (metric == kMetricCosine) {
                for (int d = 0; d < D; ++d) a += (double)x[d] * qv[d];
                ref[r] = a / (std::max(p.norm64[r], 1e-8) * std::max(qs.nq64[q], 1e-8));
            } else {
                for (int d = 0; d < D; ++d) {
                    double t = (double)x[d] - qv[d];
                    a += t * t;
                }
                ref[r] = std::sqrt(a);
            }
        }
        auto better = [&](int a, int b) {
            if (ref[a] != ref[b]) return metric == kMetricCosine ? ref[a] > ref[b] : ref[a] < ref[b];
            return a < b;
        };
        const int kv = std::min(k, N);
        std::vector<int> order(N);
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + kv, order.end(), better);
        auto tol = [&](double v) { return metric == kMetricCosine ? 1e-5 : 1e-5 * std::fabs(v) + 1e-7; };
        char b[512];
        std::vector<int> seen;
        for (int j = 0; j < k; ++j) {
            const int id = out.ids[(size_t)q * k + j];
            const float s = out.scores[(size_t)q * k + j];
            if (j >= N) {
                if (id != -1 || !std::isnan(s)) {
                    std::snprintf(b, sizeof b, "q %d pos %d: expected padding (id -1, NaN) for k > rows, got id %d score %.9g", q, j, id, s);
                    errs[q] = b;
                    return;
                }
                continue;
            }
            const int rid = order[j];
            if (id < 0 || id >= N) {
                std::snprintf(b, sizeof b, "q %d pos %d: invalid id %d (expected id %d score %.9g)", q, j, id, rid, ref[rid]);
                errs[q] = b;
                return;
            }
            const double rs = ref[id];
            if (!(std::fabs((double)s - rs) <= tol(rs))) {
                std::snprintf(b, sizeof b, "q %d pos %d: id %d score %.9g but its reference score is %.12g (expected id %d score %.12g)", q, j, id, s, rs, rid, ref[rid]);
                errs[q] = b;
                return;
            }
            if (!(std::fabs(rs - ref[rid]) <= tol(ref[rid]))) {
                std::snprintf(b, sizeof b, "q %d pos %d: got id %d (ref score %.12g), expected id %d (ref score %.12g)", q, j, id, rs, rid, ref[rid]);
                errs[q] = b;
                return;
            }
            if (j > 0) {
                const int pid = out.ids[(size_t)q * k + j - 1];
                const float ps = out.scores[(size_t)q * k + j - 1];
                if (metric == kMetricCosine ? s > ps : s < ps) {
                    std::snprintf(b, sizeof b, "q %d pos %d: scores out of order (%.9g after %.9g)", q, j, s, ps);
                    errs[q] = b;
                    return;
                }
                if (ref[pid] == rs && pid > id) {
                    std::snprintf(b, sizeof b, "q %d pos %d: tie (identical reference scores %.12g) broken against the lower id: %d after %d", q, j, rs, id, pid);
                    errs[q] = b;
                    return;
                }
            }
            seen.push_back(id);
        }
        std::vector<int> srt = seen;
        std::sort(srt.begin(), srt.end());
        for (size_t i = 1; i < srt.size(); ++i)
            if (srt[i] == srt[i - 1]) {
                std::snprintf(b, sizeof b, "q %d: id %d returned twice", q, srt[i]);
                errs[q] = b;
                return;
            }
        // ties at the boundary: every row with the last returned row's exact reference score and
        // a lower id than the highest returned id of that score must be in the result
        if (kv > 0) {
            const double sK = ref[seen[kv - 1]];
            int maxId = -1;
            for (int id : seen)
                if (ref[id] == sK) maxId = std::max(maxId, id);
            for (int r = 0; r < maxId; ++r)
                if (ref[r] == sK && !std::binary_search(srt.begin(), srt.end(), r)) {
                    std::snprintf(b, sizeof b, "q %d: boundary tie: row %d (score %.12g) left out but row %d of the same score returned", q, r, sK, maxId);
                    errs[q] = b;
                    return;
                }
        }
    });
    return firstFailure(errs);
}

// ---------------------------------------------------------------------------------------------
// cases

// the packed candidate of bs_common.cuh, on the host
unsigned long long hostPack(float key, int id) {
    unsigned u;
    std::memcpy(&u, &key, 4);
    if ((u << 1) == 0u) u = 0u;
    if ((u & 0x7fffffffu) > 0x7f800000u) u = 0xff800000u;
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((unsigned long long)u << 32) | (unsigned long long)(~(unsigned)id);
}

// The compressed scan, checked exactly: (1) every row's upper bound is at least its canonical score
// (io.blocksim.search.CanonicalScores: double, clamped cosine / distance rounded to float); (2) tau
// is at most the canonical k-th best (packed with its row); (3) the rows re-scored are exactly those
// whose upper bound reaches tau; (4) the m keys returned are, bit for bit, the best m of those rows
// by the float scan's own arithmetic (fmaf in order d = 0..D-1), padded with (id -1, NaN).
CheckResult checkCodes(const Problem& p, const Queries& qs, int k, int m, int metric, BsBackend& be,
                       const Searcher& s, const SearchOut& out) {
    const int N = p.spec.N, D = p.spec.D, Q = qs.Q;
    std::vector<float> hi((size_t)Q * N);
    std::vector<unsigned long long> tau((size_t)Q * k);
    std::vector<unsigned> resc(Q);
    be.download(hi.data(), s.hiKeys.p, hi.size() * 4);
    be.download(tau.data(), s.tauList->p, tau.size() * 8);
    be.download(resc.data(), s.rescored.p, resc.size() * 4);
    std::vector<std::string> errs(Q);
    parallelFor(Q, [&](long long qi) {
        const int q = (int)qi;
        const float* qr = &qs.raw[(size_t)q * D];
        const float* qh = &qs.hat[(size_t)q * D];
        const unsigned long long t = tau[(size_t)q * k + k - 1];
        std::vector<unsigned long long> canon(N), dev;
        long long survivors = 0;
        char b[512];
        for (int r = 0; r < N; ++r) {
            const float* x = &p.X[(size_t)r * D];
            float ckey, dkey;
            if (metric == kMetricCosine) {
                double dot = 0, xx = 0;
                float a = 0;
                for (int d = 0; d < D; ++d) {
                    dot += (double)x[d] * qr[d];
                    xx += (double)x[d] * x[d];
                    a = std::fma(x[d], qh[d], a);
                }
                const double c = dot / (std::max(std::sqrt(xx), 1e-8) * std::max(qs.nq64[q], 1e-8));
                ckey = (float)std::min(1.0, std::max(-1.0, c));
                dkey = a / std::max(p.norms[r], 1e-8f);
            } else {
                double ss = 0;
                float a = 0;
                for (int d = 0; d < D; ++d) {
                    const double e = (double)x[d] - qr[d];
                    ss += e * e;
                    const float tf = x[d] - qr[d];
                    a = std::fma(tf, tf, a);
                }
                ckey = -(float)std::sqrt(ss);
                dkey = -a;
            }
            const float h = hi[(size_t)q * N + r];
            if (!(h >= ckey)) {
                std::snprintf(b, sizeof b, "q %d row %d: upper bound %.9g below the canonical key %.9g", q, r, h, ckey);
                errs[q] = b;
                return;
            }
            canon[r] = hostPack(ckey, r);
            if (hostPack(h, r) >= t) {
                ++survivors;
                dev.push_back(hostPack(dkey, r));
            }
        }
        std::sort(canon.begin(), canon.end(), std::greater<unsigned long long>());
        if (t > canon[std::min(k, N) - 1]) {
            std::snprintf(b, sizeof b, "q %d: tau %llx above the canonical k-th best %llx", q, t, canon[std::min(k, N) - 1]);
            errs[q] = b;
            return;
        }
        if (survivors != (long long)resc[q]) {
            std::snprintf(b, sizeof b, "q %d: %u rows re-scored, expected %lld", q, resc[q], survivors);
            errs[q] = b;
            return;
        }
        std::sort(dev.begin(), dev.end(), std::greater<unsigned long long>());
        for (int j = 0; j < m; ++j) {
            const int id = out.ids[(size_t)q * m + j];
            const float key = out.scores[(size_t)q * m + j];
            const bool pad = j >= (int)dev.size();
            const int eid = pad ? -1 : (int)~(unsigned)(dev[j] & 0xffffffffull);
            const bool ok = pad ? (id == -1 && std::isnan(key)) : (id == eid && hostPack(key, id) == dev[j]);
            if (!ok) {
                std::snprintf(b, sizeof b, "q %d pos %d of %d: id %d key %.9g, expected id %d (of %zu survivors)", q, j, m, id, key, eid, dev.size());
                errs[q] = b;
                return;
            }
        }
    });
    return firstFailure(errs);
}

struct Case {
    std::string name;
    ProblemSpec prob;
    int Q, k, metric;
    bool gemm;
    int special;
    Tuning tu;
    bool codes = false;  // the compressed scan (code scan + gather re-rank)
};

std::vector<Case> buildCases(bool quick) {
    std::vector<Case> cs;
    auto add = [&](const ProblemSpec& ps, int Q, int k, int metric, bool gemm, int special,
                   Tuning tu, const char* tag) {
        char b[256];
        std::snprintf(b, sizeof b, "%s %s N=%d D=%d Q=%d k=%d%s%s", gemm ? "gemm" : "scan",
                      metric == kMetricCosine ? "cos" : "l2 ", ps.N, ps.D, Q, k, *tag ? " " : "",
                      tag);
        cs.push_back(Case{b, ps, Q, k, metric, gemm, special, tu});
    };
    auto codes = [&](const ProblemSpec& ps, int Q, int k, int special, Tuning tu, const char* tag) {
        for (int metric : {kMetricCosine, kMetricL2}) {
            char b[256];
            std::snprintf(b, sizeof b, "codes %s N=%d D=%d Q=%d k=%d%s%s",
                          metric == kMetricCosine ? "cos" : "l2 ", ps.N, ps.D, Q, k, *tag ? " " : "", tag);
            Case c{b, ps, Q, k, metric, false, special, tu};
            c.codes = true;
            cs.push_back(c);
        }
    };
    auto both = [&](const ProblemSpec& ps, int Q, int k, bool gemm, int special, Tuning tu,
                    const char* tag) {
        add(ps, Q, k, kMetricCosine, gemm, special, tu, tag);
        add(ps, Q, k, kMetricL2, gemm, special, tu, tag);
    };
    Tuning dflt;
    if (quick) {
        Tuning small;  // force several lists, tiles and merge rounds at small sizes
        small.rowsPerBlock = 700;
        small.selectChunk = 512;
        small.tileRows = 1280;
        small.mergeChunk = 1024;
        ProblemSpec a{1000, 384, 0.1, 3, 1};
        both(a, 1, 1, false, 0, dflt, "k=1");
        both(a, 2, 1000, false, 0, dflt, "k=rows");
        both(a, 3, 1024, false, 0, dflt, "k>rows");
        both(a, 8, 1000, true, 0, small, "k=rows");
        both(a, 3, 1024, true, 0, dflt, "k>rows");
        ProblemSpec b{3001, 384, 0.3, 5, 2};
        both(b, 8, 50, false, 1, small, "dups+zeros");
        both(b, 8, 50, true, 1, small, "dups+zeros");
        both(b, 5, 10, false, 1, dflt, "dups+zeros");
        both(b, 2, 1024, false, 0, small, "");
        both(b, 64, 10, false, 1, dflt, "");
        ProblemSpec c{777, 388, 0.05, 1, 3};
        both(c, 5, 17, false, 0, dflt, "D%16!=0");
        both(c, 5, 17, true, 0, small, "D%16!=0");
        ProblemSpec d{300, 4, 0.2, 2, 4};
        both(d, 5, 300, false, 1, dflt, "D=4");
        both(d, 5, 300, true, 1, small, "D=4");
        ProblemSpec e{1100, 3840, 0.05, 2, 5};
        both(e, 8, 10, false, 1, dflt, "");
        both(e, 2, 1024, true, 0, small, "");
        ProblemSpec f{613, 384, 0.1, 1, 6};
        both(f, 1024, 10, false, 1, dflt, "");
        both(f, 160, 3, true, 0, dflt, "");
        Tuning pieces = small;  // several pieces (idBase, listOffset), lists and merge rounds
        pieces.pieceRows = 1000;
        pieces.rerankChunk = 600;
        ProblemSpec h{2500, 384, 0.2, 4, 8, 40};
        codes(h, 1, 1, 0, dflt, "k=1");
        codes(h, 3, 10, 1, pieces, "dups+zeros+odd pieces");
        codes(h, 8, 50, 1, dflt, "dups+zeros+odd");
        codes(h, 5, 10, 0, pieces, "Q%QC!=0 pieces");
        ProblemSpec i{300, 80, 0.1, 2, 9, 20};  // D % 64 != 0: a partial last stage
        codes(i, 2, 300, 1, dflt, "k=rows D%64!=0");
        codes(i, 9, 7, 0, dflt, "two query chunks");
        ProblemSpec j{700, 16, 0.3, 3, 10, 30};
        codes(j, 4, 20, 1, pieces, "D=16");
        return cs;
    }
    ProblemSpec a{1000, 384, 0.1, 3, 1};
    both(a, 1, 1, false, 0, dflt, "k=1");
    both(a, 2, 1000, false, 0, dflt, "k=rows");
    both(a, 3, 1024, false, 0, dflt, "k>rows");
    both(a, 8, 1000, true, 0, dflt, "k=rows");
    both(a, 3, 1024, true, 0, dflt, "k>rows");
    ProblemSpec b{5003, 384, 0.3, 5, 2};
    both(b, 8, 50, false, 1, dflt, "dups+zeros");
    both(b, 8, 50, true, 1, dflt, "dups+zeros");
    both(b, 2, 1024, false, 0, dflt, "");
    both(b, 64, 10, false, 1, dflt, "");
    Tuning small;
    small.rowsPerBlock = 700;
    small.selectChunk = 512;
    small.tileRows = 1280;
    small.mergeChunk = 1024;
    both(b, 8, 50, false, 1, small, "small tiles");
    both(b, 8, 50, true, 1, small, "small tiles");
    ProblemSpec c{777, 388, 0.05, 1, 3};
    both(c, 5, 17, false, 0, dflt, "D%16!=0");
    both(c, 5, 17, true, 0, dflt, "D%16!=0");
    ProblemSpec d{300, 4, 0.2, 2, 4};
    both(d, 5, 300, false, 1, dflt, "D=4");
    both(d, 5, 300, true, 1, dflt, "D=4");
    ProblemSpec e{20011, 3840, 0.05, 2, 5};
    both(e, 8, 10, false, 1, dflt, "");
    add(e, 64, 10, kMetricCosine, false, 0, dflt, "");
    both(e, 64, 1024, true, 0, dflt, "");
    add(e, 1, 1024, kMetricL2, false, 0, dflt, "");
    ProblemSpec f{100003, 384, 0.02, 3, 6};
    both(f, 1024, 10, false, 1, dflt, "");
    both(f, 1024, 10, true, 1, dflt, "");
    add(f, 512, 100, kMetricCosine, false, 0, dflt, "");
    ProblemSpec g{858923, 384, 0.01, 4, 7};
    both(g, 1, 10, false, 1, dflt, "");
    both(g, 2, 10, false, 1, dflt, "");
    both(g, 8, 10, false, 1, dflt, "");
    add(g, 64, 10, kMetricCosine, false, 1, dflt, "");
    add(g, 2, 1024, kMetricCosine, false, 0, dflt, "");
    both(g, 64, 10, true, 1, dflt, "");
    add(g, 8, 1024, kMetricL2, true, 0, dflt, "");
    ProblemSpec h{100003, 384, 0.02, 3, 6, 40};
    codes(h, 1, 10, 1, dflt, "");
    codes(h, 8, 10, 1, dflt, "");
    codes(h, 8, 1000, 0, dflt, "");
    codes(g, 1, 10, 1, dflt, "");
    codes(g, 8, 10, 0, dflt, "");
    return cs;
}

// ---------------------------------------------------------------------------------------------
// timing

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

void timingTable(BsBackend& be, const BsOptions& opt) {
    const ProblemSpec gs{858923, 384, 0.0, 0, 11};
    std::printf("\n== timing: N=%d D=%d k=10, float32, median of repeats (cudaEvent) ==\n", gs.N, gs.D);
    double t0 = now();
    std::unique_ptr<Problem> p = makeProblem(be, gs);
    std::printf("(data generated and uploaded in %.1f s)\n", now() - t0);
    const size_t bytes = p->X.size() * 4;
    DevBuf dst(&be, bytes);
    std::vector<double> ts;
    for (int i = 0; i < 3; ++i) be.copyDevice(dst.p, p->dX.p, bytes);
    for (int i = 0; i < 10; ++i)
        ts.push_back(be.timeMs([&] { be.copyDevice(dst.p, p->dX.p, bytes); }));
    const double tCopy = median(ts);
    const double copyBw = 2.0 * bytes / (tCopy * 1e-3) / 1e9;  // bytes read + written
    std::printf("device-to-device copy of the %.3f GB of candidates: %.3f ms = %.0f GB/s (read+written)\n",
                bytes / 1e9, tCopy, copyBw);
    std::printf("%-6s %-4s %-22s %10s %10s %10s %8s %8s  %s\n", "metric", "Q", "kernel",
                "scan_ms", "total_ms", "scan_GB/s", "ratio", "per_q_us", "plan");
    const int Qs[] = {1, 2, 8, 64, 512, 1024};
    for (int metric : {kMetricCosine, kMetricL2}) {
        for (int Q : Qs) {
            if (metric == kMetricL2 && Q > 64) continue;
            Queries q = makeQueries(*p, Q, 99 + Q, 0);
            Searcher s(be, *p);
            s.setQueries(q, metric, 10);
            Tuning tu;
            s.runScan(tu);  // warm-up
            be.sync();
            const int reps = opt.reps > 0 ? opt.reps : (Q <= 8 ? 30 : (Q <= 64 ? 10 : 3));
            std::vector<double> tScan, tAll;
            std::string plan;
            for (int r = 0; r < reps; ++r) {
                tScan.push_back(be.timeMs([&] { plan = s.runScan(tu, false); }));
                tAll.push_back(be.timeMs([&] { s.runScan(tu, true); }));
            }
            be.sync();
            const double ms = median(tScan), all = median(tAll);
            const double bw = bytes / (ms * 1e-3) / 1e9;
            ScanPlan sp = s.scanPlan(tu);
            std::printf("%-6s %-4d %-22s %10.3f %10.3f %10.0f %8.3f %8.1f  %s\n",
                        metric == kMetricCosine ? "cos" : "l2", Q, sp.kernel, ms, all, bw,
                        bw / copyBw, all * 1e3 / Q, plan.c_str());
            std::fflush(stdout);
        }
    }
    std::printf("ratio = (candidate bytes / scan time) / (copy bandwidth, read+written); "
                "total = scan + merges (complete top-k).\n");
    // the compressed scan against the float scan, end to end on the device (both with merges; the
    // codes path asks for m = k + 16 rows as the Java host does)
    std::printf("\n-- compressed scan (codes + gather re-rank) vs fused float scan, k=10, m=26, total ms --\n");
    std::printf("%-6s %-4s %10s %10s %8s %12s  %s\n", "metric", "Q", "codes_ms", "scan_ms", "ratio",
                "rescored/q", "plan");
    for (int metric : {kMetricCosine, kMetricL2}) {
        for (int Q : {1, 2, 8}) {
            Queries q = makeQueries(*p, Q, 99 + Q, 0);
            Searcher s(be, *p);
            s.setQueries(q, metric, 10);
            Tuning tu;
            std::string plan = s.runCodes(tu, 26);  // warm-up
            s.runScan(tu);
            be.sync();
            std::vector<double> tc, ts;
            for (int r = 0; r < (opt.reps > 0 ? opt.reps : 20); ++r) {
                tc.push_back(be.timeMs([&] { s.runCodes(tu, 26); }));
                ts.push_back(be.timeMs([&] { s.runScan(tu, true); }));
            }
            be.sync();
            std::vector<unsigned> resc(Q);
            be.download(resc.data(), s.rescored.p, (size_t)Q * 4);
            double sum = 0;
            for (unsigned r : resc) sum += r;
            std::printf("%-6s %-4d %10.3f %10.3f %8.3f %12.1f  %s\n", metric == kMetricCosine ? "cos" : "l2", Q,
                        median(tc), median(ts), median(tc) / median(ts), sum / Q, plan.c_str());
            std::fflush(stdout);
        }
    }
    if (be.hasSgemm()) {
        std::printf("\n-- SGEMM (cuBLAS) + select + merge path, k=10 --\n");
        std::printf("%-6s %-5s %10s  %s\n", "metric", "Q", "total_ms", "plan");
        for (int metric : {kMetricCosine, kMetricL2}) {
            for (int Q : {64, 512, 1024}) {
                Queries q = makeQueries(*p, Q, 99 + Q, 0);
                Searcher s(be, *p);
                s.setQueries(q, metric, 10);
                Tuning tu;
                s.runGemm(tu, q);
                be.sync();
                std::vector<double> t;
                std::string plan;
                for (int r = 0; r < 3; ++r) t.push_back(be.timeMs([&] { plan = s.runGemm(tu, q); }));
                std::printf("%-6s %-5d %10.3f  %s\n", metric == kMetricCosine ? "cos" : "l2", Q,
                            median(t), plan.c_str());
                std::fflush(stdout);
            }
        }
    } else {
        std::printf("(cuBLAS not loaded: no SGEMM timings)\n");
    }
}

// The select's rows per block against the score distribution: plain random queries, and the
// adversarial ones (a zero query, whose scores all tie, and a copy of a duplicated row) on data with
// 2% duplicate rows. Picks the chunk rule from measurements rather than a model.
void selectSweep(BsBackend& be) {
    if (!be.hasSgemm()) {
        std::printf("(select sweep: cuBLAS not loaded)\n");
        return;
    }
    const ProblemSpec gs{858923, 384, 0.02, 3, 7};
    std::unique_ptr<Problem> p = makeProblem(be, gs);
    std::printf("\n== select chunk sweep: N=%d D=%d k=10, SGEMM path total ms (median of 3) ==\n", gs.N, gs.D);
    const int chunks[] = {4096, 16384, 32768, 65536, 0};
    std::printf("%-6s %-5s %-8s", "metric", "Q", "queries");
    for (int c : chunks) std::printf(" %10s", c ? std::to_string(c).c_str() : "auto");
    std::printf("\n");
    for (int metric : {kMetricCosine, kMetricL2}) {
        for (int Q : {64, 512, 1024}) {
            for (int special : {0, 1}) {
                Queries q = makeQueries(*p, Q, 7 + Q, special);
                Searcher s(be, *p);
                s.setQueries(q, metric, 10);
                std::printf("%-6s %-5d %-8s", metric == kMetricCosine ? "cos" : "l2", Q, special ? "adverse" : "random");
                for (int c : chunks) {
                    Tuning tu;
                    tu.selectChunk = c;
                    s.runGemm(tu, q);
                    be.sync();
                    std::vector<double> t;
                    for (int r = 0; r < 3; ++r) t.push_back(be.timeMs([&] { s.runGemm(tu, q); }));
                    std::printf(" %10.3f", median(t));
                }
                std::printf("\n");
                std::fflush(stdout);
            }
        }
    }
    // where the SGEMM path starts to beat the fused scan (random cosine queries, k = 10)
    std::printf("\n-- scan vs SGEMM path, cos, random queries, k=10, total ms (median of 5) --\n");
    std::printf("%-5s %10s %10s\n", "Q", "scan", "sgemm");
    for (int Q : {8, 12, 16, 24, 32, 48, 64, 96, 128}) {
        Queries q = makeQueries(*p, Q, 7 + Q, 0);
        Searcher s(be, *p);
        s.setQueries(q, kMetricCosine, 10);
        Tuning tu;
        s.runScan(tu);
        s.runGemm(tu, q);
        be.sync();
        std::vector<double> a, g;
        for (int r = 0; r < 5; ++r) {
            a.push_back(be.timeMs([&] { s.runScan(tu, true); }));
            g.push_back(be.timeMs([&] { s.runGemm(tu, q); }));
        }
        std::printf("%-5d %10.3f %10.3f\n", Q, median(a), median(g));
        std::fflush(stdout);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: blocksim_check [--fatbin PATH] [--quick] [--no-timing] [--timing-only]\n"
                 "                      [--filter TEXT] [--reps N] [--no-cublas] [--select-sweep]\n"
                 "       blocksim_emu_check [--filter TEXT] [--smem-limit BYTES] [--copy-mode 0|1|2]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    BsOptions opt;
    opt.fatbin = BLOCKSIM_DEFAULT_FATBIN;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--fatbin") opt.fatbin = val();
        else if (a == "--quick") opt.quick = true;
        else if (a == "--no-timing") opt.timing = false;
        else if (a == "--timing-only") opt.checks = false;
        else if (a == "--filter") opt.filter = val();
        else if (a == "--reps") opt.reps = std::atoi(val().c_str());
        else if (a == "--smem-limit") opt.smemLimit = (size_t)std::atoll(val().c_str());
        else if (a == "--copy-mode") opt.copyMode = std::atoi(val().c_str());
        else if (a == "--no-cublas") opt.noCublas = true;
        else if (a == "--select-sweep") { opt.checks = false; opt.timing = false; opt.selectSweep = true; }
        else return usage();
    }
    std::unique_ptr<BsBackend> be;
    try {
        be = bs_make_backend(opt);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "blocksim_check: %s\n", e.what());
        return 2;
    }
    if (be->isEmulator()) {
        opt.quick = true;
        opt.timing = false;
    }
    std::printf("backend: %s\n", be->describe().c_str());
    be->printKernelInfo();
    int fails = 0, passes = 0;
    try {
        if (opt.checks) {
            std::vector<Case> cases = buildCases(opt.quick);
            std::stable_sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) {
                return a.prob < b.prob;
            });
            std::unique_ptr<Problem> prob;
            std::printf("\n== correctness: %zu cases vs float64 reference ==\n", cases.size());
            for (const Case& c : cases) {
                if (!opt.filter.empty() && c.name.find(opt.filter) == std::string::npos) continue;
                if (!prob || prob->spec < c.prob || c.prob < prob->spec) {
                    prob.reset();
                    prob = makeProblem(*be, c.prob);
                }
                const double t0 = now();
                std::string plan, what;
                bool ok = false;
                try {
                    Queries q = makeQueries(*prob, c.Q, c.prob.seed * 31 + c.Q + c.k, c.special);
                    Searcher s(*be, *prob);
                    s.setQueries(q, c.metric, c.k);
                    const int m = std::min({c.k + 16, c.prob.N, 1024});
                    plan = c.codes ? s.runCodes(c.tu, m) : c.gemm ? s.runGemm(c.tu, q) : s.runScan(c.tu);
                    be->sync();
                    const double tRun = now() - t0;
                    SearchOut out;
                    CheckResult cr;
                    if (c.codes) {
                        // exact checks of the bounds and the re-rank, then the usual check of the k
                        // best (keys decoded as the final merge would)
                        SearchOut keys = s.fetch(m);
                        cr = checkCodes(*prob, q, c.k, m, c.metric, *be, s, keys);
                        for (int i = 0; i < c.Q; ++i)
                            for (int j = 0; j < c.k; ++j) {
                                const float key = keys.scores[(size_t)i * m + j];
                                out.ids.push_back(keys.ids[(size_t)i * m + j]);
                                out.scores.push_back(c.metric == kMetricL2 ? std::sqrt(0.0f - key) : key);
                            }
                    } else {
                        out = s.fetch();
                    }
                    if (cr.ok) cr = check(*prob, q, c.k, c.metric, out);
                    if (cr.ok && c.gemm) {
                        // the GEMM path re-scores exactly: it must equal the fused scan bit for bit
                        s.runScan(Tuning());
                        be->sync();
                        SearchOut ref = s.fetch();
                        for (size_t i = 0; i < out.ids.size() && cr.ok; ++i)
                            if (out.ids[i] != ref.ids[i] ||
                                std::memcmp(&out.scores[i], &ref.scores[i], 4) != 0) {
                                char b[256];
                                std::snprintf(b, sizeof b, "gemm path differs from the scan at q %zu pos %zu: id %d score %.9g vs id %d score %.9g",
                                              i / c.k, i % c.k, out.ids[i], out.scores[i], ref.ids[i], ref.scores[i]);
                                cr.ok = false;
                                cr.msg = b;
                            }
                    }
                    ok = cr.ok;
                    char b[64];
                    std::snprintf(b, sizeof b, " [run %.2f s, total %.2f s]", tRun, now() - t0);
                    what = ok ? std::string(b) : cr.msg + b;
                } catch (const std::exception& e) {
                    what = std::string("error: ") + e.what();
                    if (!be->isEmulator()) {
                        std::printf("FAIL %-48s %s\n", c.name.c_str(), what.c_str());
                        throw;  // a device error poisons the context: stop
                    }
                }
                std::printf("%s %-48s %s\n", ok ? "PASS" : "FAIL", c.name.c_str(), what.c_str());
                if (!ok) std::printf("     plan: %s\n", plan.c_str());
                std::fflush(stdout);
                (ok ? passes : fails)++;
            }
            prob.reset();
            std::printf("correctness: %d PASS, %d FAIL\n", passes, fails);
        }
        if (opt.timing && !be->isEmulator()) timingTable(*be, opt);
        if (opt.selectSweep && !be->isEmulator()) selectSweep(*be);
    } catch (const std::exception& e) {
        std::printf("ERROR: %s\n", e.what());
        return 2;
    }
    return fails ? 1 : 0;
}
