package io.blocksim.search;

import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a fixed set of CPU searches and norm computations and prints every result, one line each:
 * {@link ScalarFallbackTest} runs it in a child JVM without {@code --add-modules
 * jdk.incubator.vector} (scalar path) and compares its output with {@link #run()} in its own JVM
 * (vector path). Line formats:
 * <pre>
 * shape vector=BOOL lanes=L normLanes=N
 * norms DATASET hexbits...
 * search DATASET METRIC nq=Q k=K q=I row:hexbits row:hexbits ...
 * </pre>
 */
public final class ScalarSearchMain {
    /** Query counts: 1-query, padded 4-group, 4-group, 8-group, two 8-groups, one and two gemm groups. */
    static final int[] QUERY_COUNTS = {1, 2, 3, 8, 12, 20, 70};

    private ScalarSearchMain() {
    }

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        for (String line : run()) {
            out.append(line).append('\n');
        }
        System.out.print(out);
        System.out.flush();
    }

    /** Name, rows, dim, shard sizes, whether the shards come with norms (else the backend computes them). */
    private record Dataset(String name, int rows, int dim, int[] shards, boolean withNorms, long seed) {
    }

    static List<String> run() {
        List<Dataset> sets = List.of(
                new Dataset("odd37", 203, 37, new int[] {100, 0, 103}, true, 1),
                new Dataset("nonorms100", 311, 100, new int[] {311}, false, 2),
                new Dataset("whole384", 131, 384, new int[] {64, 67}, true, 3),
                new Dataset("tiny5", 45, 5, new int[] {45}, true, 4));
        List<String> lines = new ArrayList<>();
        lines.add("shape vector=" + Vectorization.VECTOR_API + " lanes=" + Vectorization.LANES + " normLanes="
                + Vectorization.NORM_LANES);
        CpuSearchBackend backend = new CpuSearchBackend(2, 61);  // small chunks: several workers' heaps merge
        try (Arena arena = Arena.ofShared()) {
            for (Dataset ds : sets) {
                float[][] data = data(ds);
                VectorSet set = TestVectors.shards(arena, data, ds.shards(), ds.withNorms());
                VectorSet coded = CodeScanPropertyTest.withCodes(arena, set);
                MemorySegment all = TestVectors.segment(arena, data);
                MemorySegment norms = Norms.compute(all, ds.rows(), ds.dim(), arena);
                StringBuilder n = new StringBuilder("norms " + ds.name());
                for (int r = 0; r < ds.rows(); r++) {
                    float norm = norms.getAtIndex(Norms.LE_FLOAT, r);
                    n.append(' ').append(Integer.toHexString(Float.floatToRawIntBits(norm)));
                }
                lines.add(n.toString());
                for (Metric metric : Metric.values()) {
                    for (int nq : QUERY_COUNTS) {
                        float[][] queries = queries(data, nq, ds.seed() * 100 + nq);
                        for (int k : new int[] {1, 7, ds.rows()}) {
                            SearchResult res = backend.search(set, queries, k, metric);
                            // the compressed scan (its scalar loops in the child) must give the same lines
                            SearchResult byCodes = backend.search(coded, queries, k, metric, ScanMode.CODES);
                            for (int q = 0; q < nq; q++) {
                                for (SearchResult r : new SearchResult[] {res, byCodes}) {
                                    StringBuilder s = new StringBuilder("search " + ds.name() + " " + metric + " nq=" + nq
                                            + " k=" + k + " q=" + q);
                                    for (int i = 0; i < k; i++) {
                                        s.append(' ').append(r.rows()[q][i]).append(':')
                                                .append(Integer.toHexString(Float.floatToRawIntBits(r.scores()[q][i])));
                                    }
                                    lines.add(s.toString());
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            backend.close();
        }
        return lines;
    }

    /** Gaussian rows with a zero row and repeated rows (ties must go to the lower row). */
    private static float[][] data(Dataset ds) {
        float[][] data = TestVectors.gaussian(ds.rows(), ds.dim(), ds.seed());
        data[17] = new float[ds.dim()];
        data[30] = data[10].clone();
        data[ds.rows() - 1] = data[10].clone();
        data[ds.rows() - 2] = data[11].clone();
        return data;
    }

    /** Near and random queries, the first an exact repeated row, and (from 3 queries) a zero query. */
    private static float[][] queries(float[][] data, int nq, long seed) {
        float[][] q = TestVectors.queries(data, nq, seed);
        q[0] = data[10].clone();
        if (nq >= 3) {
            q[nq - 1] = new float[data[0].length];
        }
        return q;
    }
}
