package io.blocksim.search;

import io.blocksim.spi.Segments;
import io.blocksim.InvalidDataException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

/**
 * L2 norms of float32 rows, as the store writes them beside each shard and the cosine search reads
 * them. Each norm is summed in double and rounded once, in an order that depends only on the row's
 * values, so identical rows always get bit-identical norms (the search's tie rule relies on it).
 * With or without the Vector API (see {@link Vectorization}) the order and so the bits are the same.
 *
 * <p>Thread safety: stateless; {@link #compute} may run on several threads at once.
 */
public final class Norms {
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BLOCK_ROWS = 4096;

    private Norms() {
    }

    /**
     * Writes the L2 norm of each of {@code rows} rows of {@code dim} little-endian float32 values in
     * {@code vectors} to {@code out} as {@code rows} little-endian float32 values. Uses all cores
     * when both segments may be read by other threads.
     */
    public static void compute(MemorySegment vectors, int rows, int dim, MemorySegment out) {
        if (rows < 0 || dim < 1) {
            throw new IllegalArgumentException("rows must be >= 0 and dim >= 1");
        }
        long rowBytes = (long) dim * Float.BYTES;
        if (vectors.byteSize() < rows * rowBytes) {
            throw new InvalidDataException("vector data holds fewer than " + rows + " rows of " + dim + " floats");
        }
        if (out.byteSize() < (long) rows * Float.BYTES) {
            throw new IllegalArgumentException("norms output holds fewer than " + rows + " floats");
        }
        MemorySegment in = Segments.plain(vectors);
        int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
        IntStream range = IntStream.range(0, blocks);
        if (blocks > 1 && Segments.shareable(vectors) && Segments.shareable(out)) {
            range = range.parallel();
        }
        boolean vector = Vectorization.VECTOR_API;
        int lanes = Vectorization.NORM_LANES;
        range.forEach(b -> {
            int end = Math.min(rows, (b + 1) * BLOCK_ROWS);
            if (vector) {
                for (int r = b * BLOCK_ROWS; r < end; r++) {
                    out.set(LE_FLOAT, (long) r * Float.BYTES, VectorNorms.norm(in, r * rowBytes, dim));
                }
            } else {
                for (int r = b * BLOCK_ROWS; r < end; r++) {
                    out.set(LE_FLOAT, (long) r * Float.BYTES, scalarNorm(in, r * rowBytes, dim, lanes));
                }
            }
        });
    }

    /** Allocates the norms in {@code arena} and computes them. */
    public static MemorySegment compute(MemorySegment vectors, int rows, int dim, Arena arena) {
        MemorySegment out = arena.allocate((long) Math.max(rows, 1) * Float.BYTES, 64);
        compute(vectors, rows, dim, out);
        return out;
    }

    /**
     * The norm of the {@code dim} little-endian floats at byte {@code offset} of {@code vectors}
     * (the same bits on the vector and the scalar path).
     */
    public static float norm(MemorySegment vectors, long offset, int dim) {
        return Vectorization.VECTOR_API ? VectorNorms.norm(vectors, offset, dim)
                : scalarNorm(vectors, offset, dim, Vectorization.NORM_LANES);
    }

    /**
     * {@link VectorNorms#norm} without the Vector API, for accumulators of {@code lanes} doubles: the
     * same sums in the same order, lane by lane, so the same bits. Each chunk of {@code 2 * lanes}
     * floats is squared into two accumulators (lower and upper half; a float's square is exact in
     * double, so {@code +=} equals the vector path's fma), the two are added lane-wise, folded once
     * (lane i plus lane i ^ lanes/2), the first half of the lanes summed in order, then the leftover
     * values added one by one.
     */
    static float scalarNorm(MemorySegment vectors, long offset, int dim, int lanes) {
        double[] acc0 = new double[lanes];
        double[] acc1 = new double[lanes];
        int d = 0;
        for (; d + 2 * lanes <= dim; d += 2 * lanes) {
            for (int i = 0; i < lanes; i++) {
                double lo = vectors.get(LE_FLOAT, offset + (long) (d + i) * Float.BYTES);
                double hi = vectors.get(LE_FLOAT, offset + (long) (d + lanes + i) * Float.BYTES);
                acc0[i] += lo * lo;
                acc1[i] += hi * hi;
            }
        }
        for (int i = 0; i < lanes; i++) {
            acc0[i] += acc1[i];
        }
        double sum = 0;
        for (int i = 0; i < Math.max(1, lanes / 2); i++) {
            sum += lanes >= 2 ? acc0[i] + acc0[i ^ (lanes / 2)] : acc0[i];
        }
        for (; d < dim; d++) {
            double v = vectors.get(LE_FLOAT, offset + (long) d * Float.BYTES);
            sum += v * v;
        }
        return (float) Math.sqrt(sum);
    }
}
