package io.blocksim.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 GEMM rate this machine's cores reach from Java: the CPU search's gemm tile shape
 * ({@link #ROWS} rows times {@link #VECTORS} query vectors of the kernels' species, the transposed
 * query block {@code dim x QP} and each row value broadcast, exactly as {@code CpuKernelTiles.gemmDotTile}
 * computes) run over a block of rows that stays in the core's L2 cache, with nothing else: no
 * selection, no memory traffic beyond the caches. Every thread runs its own copy at once. This is
 * the roof the similar-strings job's GEMM-shaped work is compared with: what the same kernel does
 * when the cores do nothing but its FMAs.
 *
 * <p>FLOP are counted as the job counts them: 2 per multiply-add of a row value with a query value.
 */
public final class GemmRate {
    /** Rows per tile and query vectors per tile: the CPU kernels' (Vectorization.GEMM_ROWS, GEMM_VECTORS). */
    public static final int ROWS = 6;
    public static final int VECTORS = 4;
    /** Rows scored per pass: the CPU backend scores blocks of about 192 KiB of rows against a query group. */
    static final int BLOCK_ROWS = 120;
    private static final VectorSpecies<Float> S = species();
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One measurement: GFLOP/s of each round (all threads together) and their median. */
    public record Rate(int threads, int dim, int queries, int rows, double gflopPerS, double[] rounds) {
    }

    private GemmRate() {
    }

    /** The kernels' species: the widest float species up to 512 bits, at least 256 (as CpuKernels picks it). */
    private static VectorSpecies<Float> species() {
        VectorSpecies<Float> p = FloatVector.SPECIES_PREFERRED;
        if (p.vectorBitSize() > 512) {
            return FloatVector.SPECIES_512;
        }
        return p.vectorBitSize() < 256 ? FloatVector.SPECIES_256 : p;
    }

    /** Queries in one tile's group: {@code VECTORS} vectors of the species' lanes (64 with AVX-512). */
    public static int groupQueries() {
        return VECTORS * S.length();
    }

    /**
     * Runs {@code rounds} rounds of about {@code roundMillis} each on {@code threads} threads at once
     * (after one untimed round that gets the tile compiled) and returns every round's rate.
     */
    public static Rate measure(int threads, int dim, int rounds, long roundMillis) {
        if (threads < 1 || dim < 1 || rounds < 1 || roundMillis < 1) {
            throw new IllegalArgumentException("threads, dim, rounds and roundMillis must be at least 1");
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "gemm-rate");
            t.setDaemon(true);
            return t;
        });
        try {
            // warm-up until the rate settles: interpreted, a Vector API tile runs thousands of times
            // slower, and how soon C2 has compiled it depends on what else the machine is doing
            double last = 0;
            for (int i = 0; i < 40; i++) {
                double r = round(pool, threads, dim, Math.min(200, roundMillis));
                if (i >= 2 && r > 0 && Math.abs(r - last) <= 0.05 * r) {
                    break;
                }
                last = r;
            }
            double[] rates = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                rates[i] = round(pool, threads, dim, roundMillis);
            }
            double[] sorted = rates.clone();
            Arrays.sort(sorted);
            double median = rounds % 2 == 1 ? sorted[rounds / 2] : (sorted[rounds / 2 - 1] + sorted[rounds / 2]) / 2;
            return new Rate(threads, dim, groupQueries(), BLOCK_ROWS, median, rates);
        } finally {
            pool.shutdownNow();
        }
    }

    private static double round(ExecutorService pool, int threads, int dim, long millis) {
        List<Future<long[]>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        long end = t0 + millis * 1_000_000L;
        for (int t = 0; t < threads; t++) {
            fs.add(pool.submit(() -> spin(dim, end)));
        }
        long tiles = 0;
        try {
            for (Future<long[]> f : fs) {
                tiles += f.get()[0];
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return tiles * 2.0 * ROWS * groupQueries() * dim / seconds / 1e9;
    }

    /** One thread: tiles over its own cache-resident rows until {@code end}; {tiles done, checksum bits}. */
    private static long[] spin(int dim, long end) {
        int qp = groupQueries();
        float[] qt = new float[dim * qp];
        for (int i = 0; i < qt.length; i++) {
            qt[i] = (i % 13) * 0.01f - 0.06f;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate((long) BLOCK_ROWS * dim * Float.BYTES, 64);
            for (long i = 0; i < (long) BLOCK_ROWS * dim; i++) {
                v.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 7) * 0.1f - 0.3f);
            }
            long rb = (long) dim * Float.BYTES;
            long tiles = 0;
            float sink = 0;
            while (System.nanoTime() < end) {
                for (int r = 0; r + ROWS <= BLOCK_ROWS; r += ROWS) {
                    sink += tile(v, r * rb, dim, qt, qp);
                }
                tiles += BLOCK_ROWS / ROWS;
            }
            return new long[] {tiles, Float.floatToIntBits(sink)};
        }
    }

    /** The gemm tile: 6 rows x 4 query vectors, 24 accumulators, one broadcast per row value. */
    private static float tile(MemorySegment v, long o0, int dim, float[] qt, int qp) {
        int l = S.length();
        long rb = (long) dim * Float.BYTES;
        long o1 = o0 + rb;
        long o2 = o1 + rb;
        long o3 = o2 + rb;
        long o4 = o3 + rb;
        long o5 = o4 + rb;
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        FloatVector a10 = a00;
        FloatVector a11 = a00;
        FloatVector a12 = a00;
        FloatVector a13 = a00;
        FloatVector a20 = a00;
        FloatVector a21 = a00;
        FloatVector a22 = a00;
        FloatVector a23 = a00;
        FloatVector a30 = a00;
        FloatVector a31 = a00;
        FloatVector a32 = a00;
        FloatVector a33 = a00;
        FloatVector a40 = a00;
        FloatVector a41 = a00;
        FloatVector a42 = a00;
        FloatVector a43 = a00;
        FloatVector a50 = a00;
        FloatVector a51 = a00;
        FloatVector a52 = a00;
        FloatVector a53 = a00;
        for (int d = 0; d < dim; d++) {
            int t = d * qp;
            FloatVector q0 = FloatVector.fromArray(S, qt, t);
            FloatVector q1 = FloatVector.fromArray(S, qt, t + l);
            FloatVector q2 = FloatVector.fromArray(S, qt, t + 2 * l);
            FloatVector q3 = FloatVector.fromArray(S, qt, t + 3 * l);
            long od = (long) d * Float.BYTES;
            FloatVector x = FloatVector.broadcast(S, v.get(LE_FLOAT, o0 + od));
            a00 = q0.fma(x, a00);
            a01 = q1.fma(x, a01);
            a02 = q2.fma(x, a02);
            a03 = q3.fma(x, a03);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o1 + od));
            a10 = q0.fma(x, a10);
            a11 = q1.fma(x, a11);
            a12 = q2.fma(x, a12);
            a13 = q3.fma(x, a13);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o2 + od));
            a20 = q0.fma(x, a20);
            a21 = q1.fma(x, a21);
            a22 = q2.fma(x, a22);
            a23 = q3.fma(x, a23);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o3 + od));
            a30 = q0.fma(x, a30);
            a31 = q1.fma(x, a31);
            a32 = q2.fma(x, a32);
            a33 = q3.fma(x, a33);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o4 + od));
            a40 = q0.fma(x, a40);
            a41 = q1.fma(x, a41);
            a42 = q2.fma(x, a42);
            a43 = q3.fma(x, a43);
            x = FloatVector.broadcast(S, v.get(LE_FLOAT, o5 + od));
            a50 = q0.fma(x, a50);
            a51 = q1.fma(x, a51);
            a52 = q2.fma(x, a52);
            a53 = q3.fma(x, a53);
        }
        FloatVector s = a00.add(a01).add(a02.add(a03)).add(a10.add(a11)).add(a12.add(a13)).add(a20.add(a21))
                .add(a22.add(a23)).add(a30.add(a31)).add(a32.add(a33)).add(a40.add(a41)).add(a42.add(a43))
                .add(a50.add(a51)).add(a52.add(a53));
        return s.lane(0);
    }
}
