package io.blocksim.search;

import io.blocksim.spi.Segments;
import io.blocksim.UserError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * L2 norms of float32 rows, as the store writes them beside each shard and the cosine search reads
 * them. Each norm is summed in double and rounded once, in an order that depends only on the row's
 * values, so identical rows always get bit-identical norms (the search's tie rule relies on it).
 */
public final class Norms {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
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
            throw UserError.data("vector data holds fewer than " + rows + " rows of " + dim + " floats");
        }
        if (out.byteSize() < (long) rows * Float.BYTES) {
            throw new IllegalArgumentException("norms output holds fewer than " + rows + " floats");
        }
        MemorySegment in = Segments.plain(vectors);
        int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
        IntStream range = IntStream.range(0, blocks);
        if (blocks > 1 && Parallel.shareable(vectors) && Parallel.shareable(out)) {
            range = range.parallel();
        }
        range.forEach(b -> {
            int end = Math.min(rows, (b + 1) * BLOCK_ROWS);
            for (int r = b * BLOCK_ROWS; r < end; r++) {
                out.set(LE_FLOAT, (long) r * Float.BYTES, norm(in, r * rowBytes, dim));
            }
        });
    }

    /** Allocates the norms in {@code arena} and computes them. */
    public static MemorySegment compute(MemorySegment vectors, int rows, int dim, Arena arena) {
        MemorySegment out = arena.allocate((long) Math.max(rows, 1) * Float.BYTES, 64);
        compute(vectors, rows, dim, out);
        return out;
    }

    /** The norm of the {@code dim} floats at byte {@code offset} of {@code vectors}. */
    public static float norm(MemorySegment vectors, long offset, int dim) {
        DoubleVector acc0 = DoubleVector.zero(DS);
        DoubleVector acc1 = DoubleVector.zero(DS);
        int d = 0;
        // Only the full-width path pairs one float vector with two double vectors.
        if (FS.length() == 2 * DS.length()) {
            for (; d + FS.length() <= dim; d += FS.length()) {
                FloatVector x = FloatVector.fromMemorySegment(FS, vectors, offset + (long) d * Float.BYTES,
                        ByteOrder.LITTLE_ENDIAN);
                DoubleVector lo = (DoubleVector) x.convertShape(VectorOperators.F2D, DS, 0);
                DoubleVector hi = (DoubleVector) x.convertShape(VectorOperators.F2D, DS, 1);
                acc0 = lo.fma(lo, acc0);
                acc1 = hi.fma(hi, acc1);
            }
        }
        double sum = sumLanes(acc0.add(acc1));
        for (; d < dim; d++) {
            double v = vectors.get(LE_FLOAT, offset + (long) d * Float.BYTES);
            sum += v * v;
        }
        return (float) Math.sqrt(sum);
    }

    private static final VectorShuffle<Double> SWAP_HALF = VectorShuffle.fromOp(DS, i -> i ^ (DS.length() / 2));

    /** A fixed summation tree: the interpreter and the JIT give the same bits. */
    private static double sumLanes(DoubleVector v) {
        int n = DS.length();
        if (n >= 2) {
            v = v.add(v.rearrange(SWAP_HALF));
        }
        double[] lanes = v.toArray();
        double s = 0;
        for (int i = 0; i < Math.max(1, n / 2); i++) {
            s += lanes[i];
        }
        return s;
    }
}
