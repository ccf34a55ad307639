// Host-side launch planning for the blocksim kernels: the C++ twin of kernels/README.md, which the
// Java host (io.blocksim.cuda) implements the same way. Keep the three in step.
#pragma once
#include <algorithm>
#include <cstddef>

namespace bsplan {

const int kThreads = 256;
const int kMetricCosine = 0;
const int kMetricL2 = 1;

inline int pow2ceil(int x) {
    int p = 1;
    while (p < x) p <<= 1;
    return p;
}
inline long long ceilDiv(long long a, long long b) { return (a + b - 1) / b; }

// shared memory of the top-k engine with `slots` query slots
inline size_t engineBytes(int slots, int k) {
    const size_t L = (size_t)pow2ceil(k);
    const size_t B = std::max<size_t>(L, 512);
    return (slots * (L + B) * 8 + (size_t)slots * 16 + (size_t)slots * 4 + 15) & ~(size_t)15;
}
inline size_t scanSmem(int qc, int k) {
    return 3 * 256 * 20 * 4 + 3 * (size_t)qc * 16 * 4 + engineBytes(qc, k);
}
inline size_t selectSmem(int k, int metric) {
    return engineBytes(1, k) + (metric == kMetricL2 ? 1024 : 0);
}
inline size_t mergeSmem(int k) { return engineBytes(1, k); }

// queries per scan block: the largest of 8, 4, 2, 1 that is <= pow2ceil(Q) and fits
inline int scanQueryChunk(int Q, int k, size_t maxSmemOptin) {
    int qc = std::min(8, pow2ceil(Q));
    while (qc > 1 && scanSmem(qc, k) > maxSmemOptin) qc >>= 1;
    return qc;
}
inline const char* scanKernel(int metric, int qc) {
    static const char* cos[] = {"blocksim_scan_cos_q1", "blocksim_scan_cos_q2", nullptr,
                                "blocksim_scan_cos_q4", nullptr, nullptr, nullptr,
                                "blocksim_scan_cos_q8"};
    static const char* l2[] = {"blocksim_scan_l2_q1", "blocksim_scan_l2_q2", nullptr,
                               "blocksim_scan_l2_q4", nullptr, nullptr, nullptr,
                               "blocksim_scan_l2_q8"};
    return metric == kMetricL2 ? l2[qc - 1] : cos[qc - 1];
}

struct ScanPlan {
    int qc = 1, qChunks = 1, rowBlocks = 1, rowsPerBlock = 1;
    size_t smem = 0;
    const char* kernel = nullptr;
};
// one wave of blocks: row blocks per query chunk so that all chunks' blocks fill the SMs once
inline void planRowBlocks(ScanPlan& p, int N, int Q, int smCount, int occupancy,
                          int rowsPerBlockOverride) {
    p.qChunks = (int)ceilDiv(Q, p.qc);
    const long long slots = (long long)smCount * std::max(1, occupancy);
    long long rb = std::max(1LL, slots / p.qChunks);
    rb = std::min(rb, std::max(1LL, ceilDiv(N, 256)));
    rb = std::min(rb, 65535LL);
    p.rowsPerBlock = (int)std::max(1LL, ceilDiv(N, rb));
    if (rowsPerBlockOverride > 0) p.rowsPerBlock = rowsPerBlockOverride;
    p.rowBlocks = (int)std::max(1LL, ceilDiv(N, p.rowsPerBlock));
}
// occupancy: blocks per SM for (kernel, 256 threads, smem) from the occupancy calculator.
inline ScanPlan planScan(int N, int Q, int k, int metric, int smCount, int occupancy,
                         size_t maxSmemOptin, int rowsPerBlockOverride = 0) {
    ScanPlan p;
    p.qc = scanQueryChunk(Q, k, maxSmemOptin);
    p.kernel = scanKernel(metric, p.qc);
    p.smem = scanSmem(p.qc, k);
    planRowBlocks(p, N, Q, smCount, occupancy, rowsPerBlockOverride);
    return p;
}

// ---- the compressed scan (kernels/bs_codes.cuh) ----
const int kMetricKeys = 2;  // merge_final: report the raw keys
// 3 stages x 256 rows x 80 B of codes, 3 stages of the chunk's queries (64 floats each), the engine
inline size_t codeScanSmem(int qc, int k) {
    return 3 * 256 * 80 + 3 * (size_t)qc * 64 * 4 + engineBytes(qc, k);
}
inline int codeScanQueryChunk(int Q, int k, size_t maxSmemOptin) {
    int qc = std::min(8, pow2ceil(Q));
    while (qc > 1 && codeScanSmem(qc, k) > maxSmemOptin) qc >>= 1;
    return qc;
}
inline const char* codeScanKernel(int metric, int qc) {
    static const char* cos[] = {"blocksim_codescan_cos_q1", "blocksim_codescan_cos_q2", nullptr,
                                "blocksim_codescan_cos_q4", nullptr, nullptr, nullptr,
                                "blocksim_codescan_cos_q8"};
    static const char* l2[] = {"blocksim_codescan_l2_q1", "blocksim_codescan_l2_q2", nullptr,
                               "blocksim_codescan_l2_q4", nullptr, nullptr, nullptr,
                               "blocksim_codescan_l2_q8"};
    return metric == kMetricL2 ? l2[qc - 1] : cos[qc - 1];
}
// as planScan, with the code scan's kernels and shared memory (the codes need D % 16 == 0)
inline ScanPlan planCodeScan(int N, int Q, int k, int metric, int smCount, int occupancy,
                             size_t maxSmemOptin, int rowsPerBlockOverride = 0) {
    ScanPlan p;
    p.qc = codeScanQueryChunk(Q, k, maxSmemOptin);
    p.kernel = codeScanKernel(metric, p.qc);
    p.smem = codeScanSmem(p.qc, k);
    planRowBlocks(p, N, Q, smCount, occupancy, rowsPerBlockOverride);
    return p;
}
inline const char* rerankKernel(int metric) {
    return metric == kMetricL2 ? "blocksim_rerank_l2" : "blocksim_rerank_cos";
}
inline size_t rerankSmem(int k) { return engineBytes(1, k); }
// rerank: rows per block. A block reads 4 bytes of each row (its hi key) and scores only the few
// survivors, so one wave of `slots` blocks over the rows, at least max(2048, 4 L(k)) rows a block
// (its list of k candidates stays small next to the rows it covers).
inline int rerankChunk(int k, int rows, int Q, long long slots) {
    const long long base = std::max(2048, 4 * pow2ceil(k));
    const long long perQuery = std::max(1LL, slots / std::max(1, Q));
    return (int)std::max(base, ceilDiv(std::max(rows, 1), perQuery));
}

// merge: candidates per block before the final merge
inline int mergeChunk(int k) { return std::max(8192, 8 * pow2ceil(k)); }
// select: rows of the score tile per block. Each block pays a fixed cost (two exact re-scorings of
// its k best, latency bound), so blocks are made as large as one wave of `slots` resident blocks
// allows: at least max(4096, 16 L(k)) rows, at most the tile. (H200, Q = 1,024, 65,536-row tiles:
// 4,096-row blocks took 3.35 ms a tile, the SGEMM 1.25 ms.)
// But a block's cost also grows with the rows that tie near its k-th score (a zero cosine query ties
// them all), so blocks stop at 16,384 rows: H200, 858,923 rows, Q = 1,024, random / adverse queries:
// 4,096 rows 60.7 / 61.0 ms, 16,384 rows 36.3 / 38.5 ms, 65,536 rows 29.0 / 98.7 ms.
inline int selectChunk(int k, int rows, int Q, long long slots) {
    const long long base = std::max(4096, 16 * pow2ceil(k));
    const long long cap = std::max(base, 16384LL);
    const long long perQuery = std::max(1LL, slots / std::max(1, Q));
    return (int)std::min(cap, std::max(base, ceilDiv(std::max(rows, 1), perQuery)));
}
// rows per SGEMM score tile: Q x tileRows floats kept under ~256 MiB
inline int gemmTileRows(int N, int Q) {
    long long t = (256LL << 20) / (4LL * Q);
    t = std::max(256LL, t / 256 * 256);
    return (int)std::min<long long>(N, t);
}

}  // namespace bsplan
