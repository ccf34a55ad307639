package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.Metric;
import io.blocksim.bench.SyntheticVectors;

import java.lang.foreign.Arena;

/** Scratch: single-thread kernel speed on cache-resident data (not a test). */
public final class KernelProbe {
    public static void main(String[] args) {
        int rows = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        int dim = Integer.getInteger("dim", 384);
        long seconds = Long.getLong("seconds", 4);
        try (Arena arena = Arena.ofShared(); CpuSearchBackend b = new CpuSearchBackend(threads)) {
            VectorSet set = SyntheticVectors.create(arena, rows, dim, 1);
            for (int i = 2; i < args.length; i++) {
                String[] qm = args[i].split(":");
                int nq = Integer.parseInt(qm[0]);
                Metric m = Metric.parse(qm[1]);
                float[][] q = SyntheticVectors.queries(nq, dim, 5);
                long best = Long.MAX_VALUE;
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                int n = 0;
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    b.search(set, q, 10, m);
                    best = Math.min(best, System.nanoTime() - t0);
                    n++;
                }
                double fmas = (double) rows * nq * dim / CpuKernels.L;
                System.out.printf("q=%d %s: best %.3f ms (%d runs), %.2f ns/row, %.2f vector-FMA/ns%n", nq, m, best / 1e6, n,
                        best / (double) rows, fmas / best);
            }
        }
    }
}
