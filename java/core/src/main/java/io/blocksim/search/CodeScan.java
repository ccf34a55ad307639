package io.blocksim.search;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.Segments;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The compressed scan: exact top-k that reads every row's int8 codes (a quarter of the float32
 * bytes) and the floats of only the rows it cannot exclude.
 *
 * <p>Pass 1 (all workers, chunks claimed in increasing order as in the float32 scan): for every row
 * and query an interval [lo, hi] that provably holds the row's canonical score
 * ({@link CodeBounds}: the coding error bound E stored with the codes, the float rounding of the
 * code dot product, the query's normalization, the norm's rounding and the canonical score's own
 * rounding), kept by {@link CodeCandidates}: the k best lower bounds, and every row whose upper
 * bound reached the k-th best lower bound seen so far.
 *
 * <p>Pass 2 (per query, queries in parallel): T = the k-th best lower bound over all rows; every row
 * with hi >= T is re-scored from the float32 shard by {@link CanonicalScores}, which also ranks them.
 * Every row of the canonical top-k has hi >= its score >= the canonical k-th score >= T (k rows
 * have scores >= their lo >= T), so the answer is exactly the float32 scan's: the same rows, order
 * and scores, bit for bit, whatever the data (zero rows, ties, k = rows: then T is the lowest lower
 * bound and every row is re-scored).
 *
 * <p>Thread safety: each search has its own state; the shards are only read.
 */
final class CodeScan {
    /** Queries per kernel call: each chunk of codes is widened once for up to this many. */
    static final int GROUP = 8;
    /** Rows scored against every query group before moving on (their codes stay in L1/L2). */
    static final int BLOCK_ROWS = 256;
    /** Above this dimension the bounds' growth factors get too large to be useful; the float32 scan runs. */
    static final int MAX_DIM = 1 << 20;

    private CodeScan() {
    }

    /** Whether {@code data} can be searched by codes: every shard has them. */
    static boolean usable(VectorSet data) {
        return data.hasCodes() && data.dim() < MAX_DIM;
    }

    /** Whether {@link #search} runs the native kernel ({@link NativeCodes}) for data of this dimension. */
    static boolean nativeKernel(boolean wanted, int dim) {
        return wanted && NativeCodes.available() && dim <= NativeCodes.MAX_DIM;
    }

    /**
     * The exact top-k of each query (already validated) by the compressed scan.
     *
     * @param pool helpers' pool, or null to scan on the calling thread alone
     * @param nativeWanted run pass 1 on {@link NativeCodes} where it is available (else the Java kernels)
     */
    static SearchResult search(VectorSet data, float[][] queries, int k, Metric metric, int threads, int chunkRows,
            Executor pool, SearchRules.NormsCache normsCache, boolean nativeWanted) {
        int dim = data.dim();
        int nq = queries.length;
        boolean cosine = metric == Metric.COSINE;
        float[][] prepared = cosine ? CpuSearchBackend.prepareQueries(queries, metric) : queries;
        List<VectorShard> shards = data.shards();
        MemorySegment[] norms = new MemorySegment[shards.size()];
        boolean shareable = true;
        for (int i = 0; i < shards.size(); i++) {
            VectorShard s = shards.get(i);
            if (cosine) {
                norms[i] = normsCache.of(s, dim);
            }
            shareable &= Segments.shareable(s.codes().codes()) && Segments.shareable(s.codes().scales())
                    && Segments.shareable(norms[i]) && Segments.shareable(s.vectors());
        }
        int[] chunks = chunks(shards, chunkRows);
        int workers = shareable && pool != null ? Math.max(1, Math.min(threads, chunks.length / 3)) : 1;
        boolean useNative = nativeKernel(nativeWanted, dim);
        CodeCandidates[] found = new CodeCandidates[workers];
        for (int w = 0; w < workers; w++) {
            found[w] = new CodeCandidates(nq, k, useNative);
        }
        int lanes = Vectorization.VECTOR_API ? Vectorization.LANES : 1;
        // an automatic arena: no close (a shared arena's close costs a handshake with every thread)
        Pass1 pass = new Pass1(shards, norms, chunks, dim, cosine, prepared, lanes,
                useNative ? java.lang.foreign.Arena.ofAuto() : null);
        Workers.run(workers == 1 ? null : pool, workers, w -> pass.run(found[w]));

        int[][] rows = new int[nq][k];
        float[][] scores = new float[nq][k];
        int[] rescored = new int[nq];
        AtomicInteger next = new AtomicInteger();
        int mergers = shareable && pool != null ? Math.max(1, Math.min(threads, nq)) : 1;
        Workers.run(mergers == 1 ? null : pool, mergers, w -> {
            for (int q = next.getAndIncrement(); q < nq; q = next.getAndIncrement()) {
                int[] candidates = survivors(found, q, k);
                rescored[q] = candidates.length;
                candidates = cut(shards, norms, prepared[q], metric, dim, k, candidates);
                CanonicalScores.topK(data, queries[q], q, metric, k, candidates, rows[q], scores[q]);
            }
        });
        return new SearchResult(metric, k, rows, scores, null, null, SearchResult.SCAN_CODES, rescored);
    }

    /** Below this many survivors pass 2 scores them canonically at once; above, {@link #cut} comes first. */
    static final int CUT_MIN = 256;

    /**
     * Pass 2's first cut, for a query with many survivors (a random query against anisotropic data
     * can leave 100,000 rows inside the codes' bounds; the canonical score, a double sum in one
     * fixed order, costs about 0.4 us a row): each survivor's float32 kernel key, the float scan's
     * own (a float dot product in any order over the stored norm, or minus the float sum of squared
     * differences), and only the rows whose key reaches {@link Slack}'s relaxation of the k-th best
     * key go on. Slack's proof holds for any k rows: the k best keys T among survivors belong to
     * rows whose canonical scores are >= T - E, so every row of the canonical top-k (all survivors)
     * has a key >= T - 2E. Rows whose key or (cosine) norm is not finite, or whose norm is above
     * 2^125 (the float scan's {@code hugeNormRows}), skip the cut and stay. Returns the rows kept.
     *
     * @param query the query as the float scan prepares it (cosine: normalized to float)
     */
    static int[] cut(List<VectorShard> shards, MemorySegment[] norms, float[] query, Metric metric, int dim, int k,
            int[] rows) {
        if (rows.length <= Math.max(CUT_MIN, 4L * k)) {
            return rows;
        }
        int[] sorted = rows.clone();
        Arrays.sort(sorted);  // in memory order, shard by shard
        boolean cosine = metric == Metric.COSINE;
        float[] keys = new float[sorted.length];
        boolean[] free = new boolean[sorted.length];  // skips the cut
        TopK best = new TopK(k);
        int si = 0;
        for (int i = 0; i < sorted.length; i++) {
            while (sorted[i] >= shards.get(si).firstRow() + shards.get(si).rows()) {
                si++;
            }
            VectorShard s = shards.get(si);
            int local = sorted[i] - s.firstRow();
            float key = kernelKey(s.vectors(), (long) local * dim * Float.BYTES, query, cosine);
            if (cosine) {
                float norm = norms[si].get(Norms.LE_FLOAT, (long) local * Float.BYTES);
                key = !(norm <= CpuSearchBackend.HUGE_NORM) ? Float.NaN : key / Math.max(norm, (float) Metric.NORM_EPS);
            }
            keys[i] = key;
            free[i] = !Float.isFinite(key);
            if (!free[i]) {
                best.offer(TopK.pack(key, sorted[i]));
            }
        }
        if (best.size() < k) {
            return rows;
        }
        float lowest = Slack.of(metric, dim).relax(best.threshold());
        int n = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (free[i] || !(keys[i] < lowest)) {
                sorted[n++] = sorted[i];
            }
        }
        return Arrays.copyOf(sorted, n);
    }

    /**
     * A float32 kernel key of the row at byte {@code off} of {@code v}: cosine the float dot product
     * with {@code q} (divided by the norm by the caller), L2 minus the float sum of squared
     * differences: {@link CodeKernels#floatKey} on the vector path, else eight independent fma chains
     * (Slack allows any order).
     */
    private static float kernelKey(MemorySegment v, long off, float[] q, boolean cosine) {
        if (Vectorization.VECTOR_API) {  // a constant: the JIT keeps one branch
            return CodeKernels.floatKey(v, off, q, cosine);
        }
        float a0 = 0;
        float a1 = 0;
        float a2 = 0;
        float a3 = 0;
        float a4 = 0;
        float a5 = 0;
        float a6 = 0;
        float a7 = 0;
        int dim = q.length;
        int d = 0;
        if (cosine) {
            for (; d + 8 <= dim; d += 8) {
                long o = off + (long) d * Float.BYTES;
                a0 = Math.fma(v.get(Norms.LE_FLOAT, o), q[d], a0);
                a1 = Math.fma(v.get(Norms.LE_FLOAT, o + 4), q[d + 1], a1);
                a2 = Math.fma(v.get(Norms.LE_FLOAT, o + 8), q[d + 2], a2);
                a3 = Math.fma(v.get(Norms.LE_FLOAT, o + 12), q[d + 3], a3);
                a4 = Math.fma(v.get(Norms.LE_FLOAT, o + 16), q[d + 4], a4);
                a5 = Math.fma(v.get(Norms.LE_FLOAT, o + 20), q[d + 5], a5);
                a6 = Math.fma(v.get(Norms.LE_FLOAT, o + 24), q[d + 6], a6);
                a7 = Math.fma(v.get(Norms.LE_FLOAT, o + 28), q[d + 7], a7);
            }
            for (; d < dim; d++) {
                a0 = Math.fma(v.get(Norms.LE_FLOAT, off + (long) d * Float.BYTES), q[d], a0);
            }
            return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        }
        for (; d + 4 <= dim; d += 4) {
            long o = off + (long) d * Float.BYTES;
            float e0 = v.get(Norms.LE_FLOAT, o) - q[d];
            float e1 = v.get(Norms.LE_FLOAT, o + 4) - q[d + 1];
            float e2 = v.get(Norms.LE_FLOAT, o + 8) - q[d + 2];
            float e3 = v.get(Norms.LE_FLOAT, o + 12) - q[d + 3];
            a0 = Math.fma(e0, e0, a0);
            a1 = Math.fma(e1, e1, a1);
            a2 = Math.fma(e2, e2, a2);
            a3 = Math.fma(e3, e3, a3);
        }
        for (; d < dim; d++) {
            float e = v.get(Norms.LE_FLOAT, off + (long) d * Float.BYTES) - q[d];
            a0 = Math.fma(e, e, a0);
        }
        return -(((a0 + a1) + (a2 + a3)));
    }

    /** The rows of query {@code q} whose upper bound reaches the k-th best lower bound over all rows. */
    private static int[] survivors(CodeCandidates[] found, int q, int k) {
        int lows = 0;
        int kept = 0;
        for (CodeCandidates c : found) {
            lows += c.lowCount(q);
            kept += c.keptCount(q);
        }
        long[] all = new long[lows];
        int at = 0;
        for (CodeCandidates c : found) {
            at = c.collectLows(q, all, at);
        }
        Arrays.sort(all);  // best lower bound first
        float t = TopK.keyOf(all[k - 1]);
        int[] out = new int[kept];
        int n = 0;
        for (CodeCandidates c : found) {
            n = c.collectKept(q, t, out, n);
        }
        return Arrays.copyOf(out, n);
    }

    /** Chunks as (shard, first local row, row count) triples, in increasing global row order. */
    private static int[] chunks(List<VectorShard> shards, int chunkRows) {
        int count = 0;
        for (VectorShard s : shards) {
            count += (s.rows() + chunkRows - 1) / chunkRows;
        }
        int[] flat = new int[3 * count];
        int c = 0;
        for (int i = 0; i < shards.size(); i++) {
            int rows = shards.get(i).rows();
            for (int r = 0; r < rows; r += chunkRows) {
                flat[3 * c] = i;
                flat[3 * c + 1] = r;
                flat[3 * c + 2] = Math.min(chunkRows, rows - r);
                c++;
            }
        }
        return flat;
    }

    /** Pass 1's shared, read-only description; each worker runs it with its own candidates. */
    private static final class Pass1 {
        private final VectorShard[] shards;
        private final MemorySegment[] norms;
        private final int[] chunks;
        private final int dim;
        private final boolean cosine;
        private final float[][][] groups;
        /** Per group of more than 4 queries: the 8-query kernels' interleaved copy (else null). */
        private final MemorySegment[] interleaved;
        /** Per query: |q|^2 and |q| (L2). */
        private final double[] qq;
        private final double[] qn;
        private final double g;
        private final double tiny;
        /** Per group, with the native kernel: its int16 queries and its parameters (else null). */
        private final NativeCodes.Quantized[] quantized;
        private final double[][] params;
        private final AtomicInteger next = new AtomicInteger();

        /** @param nativeArena for the native kernel's queries, or null to run the Java kernels */
        Pass1(List<VectorShard> shards, MemorySegment[] norms, int[] chunks, int dim, boolean cosine, float[][] queries,
                int lanes, java.lang.foreign.Arena nativeArena) {
            this.shards = shards.toArray(new VectorShard[0]);
            this.norms = norms;
            this.chunks = chunks;
            this.dim = dim;
            this.cosine = cosine;
            int n = (queries.length + GROUP - 1) / GROUP;
            groups = new float[n][][];
            for (int i = 0; i < n; i++) {
                groups[i] = Arrays.copyOfRange(queries, i * GROUP, Math.min(queries.length, (i + 1) * GROUP));
            }
            interleaved = new MemorySegment[n];
            if (Vectorization.VECTOR_API) {
                java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();
                for (int i = 0; i < n; i++) {
                    interleaved[i] = groups[i].length > 4 && nativeArena == null
                            ? CodeKernels.interleave(groups[i], dim, arena) : null;
                }
            }
            qq = new double[queries.length];
            qn = new double[queries.length];
            for (int j = 0; j < queries.length; j++) {
                double sum = 0;
                for (float f : queries[j]) {
                    sum += (double) f * f;
                }
                qq[j] = sum;
                qn[j] = Math.sqrt(sum);
            }
            int l = Math.max(lanes, 16);  // the bounds allow any order of up to dim + 16 terms
            g = cosine ? CodeBounds.cosineGrowth(dim, l) : CodeBounds.l2Growth(dim, l);
            tiny = (dim + l) * 0x1p-149;
            quantized = nativeArena == null ? null : new NativeCodes.Quantized[n];
            params = nativeArena == null ? null : new double[n][NativeCodes.PARAMS];
            for (int i = 0; nativeArena != null && i < n; i++) {
                quantized[i] = NativeCodes.quantize(groups[i], dim, nativeArena);
                double rel = 0;
                for (int j = 0; j < groups[i].length; j++) {
                    double e = quantized[i].err()[j];
                    // L2: relative to |q| (a zero query rounds exactly: e = 0)
                    rel = Math.max(rel, cosine || e == 0 ? e : e / qn[i * GROUP + j]);
                    params[i][NativeCodes.PARAM_INV + j] = quantized[i].inv()[j];
                    params[i][NativeCodes.PARAM_QQ + j] = qq[i * GROUP + j];
                    params[i][NativeCodes.PARAM_QN + j] = qn[i * GROUP + j];
                }
                params[i][NativeCodes.PARAM_G] = CodeBounds.integerGrowth(dim, l, rel);
                params[i][NativeCodes.PARAM_TINY] = tiny;
            }
        }

        void run(CodeCandidates out) {
            int count = chunks.length / 3;
            for (int c = next.getAndIncrement(); c < count; c = next.getAndIncrement()) {
                VectorShard s = shards[chunks[3 * c]];
                MemorySegment n = norms[chunks[3 * c]];
                int start = chunks[3 * c + 1];
                int end = start + chunks[3 * c + 2];
                for (int r = start; r < end; r += BLOCK_ROWS) {
                    int e = Math.min(end, r + BLOCK_ROWS);
                    for (int gi = 0; gi < groups.length; gi++) {
                        score(out, s, n, r, e, gi);
                    }
                }
            }
        }

        private void score(CodeCandidates out, VectorShard s, MemorySegment n, int r0, int r1, int gi) {
            float[][] q = groups[gi];
            int qOff = gi * GROUP;
            MemorySegment codes = s.codes().codes();
            MemorySegment scales = s.codes().scales();
            if (quantized != null) {
                integer(out, codes, scales, n, r0, r1, s.firstRow(), gi);
                return;
            }
            if (!Vectorization.VECTOR_API) {  // a constant: the JIT drops this branch on the vector path
                scalar(out, codes, scales, n, r0, r1, s.firstRow(), q, qOff);
                return;
            }
            if (cosine) {
                CodeKernels.dot(out, codes, scales, n, r0, r1, s.firstRow(), dim, q, interleaved[gi], qOff, q.length, g, tiny);
            } else {
                CodeKernels.l2(out, codes, scales, r0, r1, s.firstRow(), dim, q, interleaved[gi], qq, qn, qOff, q.length, g,
                        tiny);
            }
        }

        /**
         * Rows [r0, r1) against group {@code gi} on the native kernel: its exact integer sums and
         * its quick rejection, then the interval of each (row, query) it left, with the group's G
         * ({@link CodeBounds#integerGrowth}).
         */
        private void integer(CodeCandidates out, MemorySegment codes, MemorySegment scales, MemorySegment n, int r0,
                int r1, int base, int gi) {
            int step = NativeCodes.maxRows(dim);  // a critical call stays short at any dimension
            for (int a = r0; a < r1; a += step) {
                integerRows(out, codes, scales, n, a, Math.min(r1, a + step), base, gi);
            }
        }

        private void integerRows(CodeCandidates out, MemorySegment codes, MemorySegment scales, MemorySegment n, int r0,
                int r1, int base, int gi) {
            NativeCodes.Quantized q = quantized[gi];
            int nq = q.nq();
            int qOff = gi * GROUP;
            int[] dots = out.dots;
            int[] squares = out.squares;
            double[] param = params[gi];
            float[] bar = out.bar;
            int hits = NativeCodes.scan(codes, scales, cosine ? n : null, r0, r1 - r0, dim, q, param, bar, qOff, dots,
                    cosine ? null : squares, out.hits);
            double gg = param[NativeCodes.PARAM_G];
            float[] iv = out.interval;
            for (int h = 0; h < hits; h++) {
                int i = out.hits[h] >>> 8;
                int mask = out.hits[h] & 0xff;
                int r = r0 + i;
                float scale = scales.get(Norms.LE_FLOAT, (long) r * 8);
                float err = scales.get(Norms.LE_FLOAT, (long) r * 8 + 4);
                float norm = cosine ? n.get(Norms.LE_FLOAT, (long) r * 4) : 0f;
                double cc = cosine ? 0 : squares[i];
                for (int j = 0; j < nq; j++) {
                    if ((mask & 1 << j) == 0) {
                        continue;
                    }
                    double p = dots[j * (r1 - r0) + i] * param[NativeCodes.PARAM_INV + j];
                    int qi = qOff + j;
                    boolean may = cosine ? CodeBounds.cosine(p, scale, err, norm, gg, tiny, bar[qi], iv)
                            : CodeBounds.l2(p, cc, scale, err, qq[qi], qn[qi], gg, tiny, bar[qi], iv);
                    if (may) {
                        out.offer(qi, base + r, iv[0], iv[1]);
                    }
                }
            }
        }

        /** The same as the kernels, one value at a time (for a JVM without the Vector API). */
        private void scalar(CodeCandidates out, MemorySegment codes, MemorySegment scales, MemorySegment n, int r0, int r1,
                int base, float[][] q, int qOff) {
            float[] iv = out.interval;
            for (int r = r0; r < r1; r++) {
                long off = (long) r * dim;
                float scale = scales.get(Norms.LE_FLOAT, (long) r * 8);
                float err = scales.get(Norms.LE_FLOAT, (long) r * 8 + 4);
                long cc = 0;  // exact (a float sum is not, past 2^24: rows of more than 1,040 dimensions)
                for (int d = 0; d < dim; d++) {
                    int c = codes.get(ValueLayout.JAVA_BYTE, off + d);
                    cc += c * c;
                }
                for (int j = 0; j < q.length; j++) {
                    float[] v = q[j];
                    float acc = 0;
                    for (int d = 0; d < dim; d++) {
                        acc = Math.fma(codes.get(ValueLayout.JAVA_BYTE, off + d), v[d], acc);
                    }
                    float bar = out.bar[qOff + j];
                    boolean may = cosine ? CodeBounds.cosine(acc, scale, err, n.get(Norms.LE_FLOAT, (long) r * 4), g, tiny,
                            bar, iv) : CodeBounds.l2(acc, cc, scale, err, qq[qOff + j], qn[qOff + j], g, tiny, bar, iv);
                    if (may) {
                        out.offer(qOff + j, base + r, iv[0], iv[1]);
                    }
                }
            }
        }
    }
}
