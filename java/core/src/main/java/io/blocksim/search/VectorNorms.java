package io.blocksim.search;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Norms}' loop with the Vector API, used only when {@link Vectorization#VECTOR_API} is true
 * (this class names Vector API types). {@link Norms#scalarNorm} repeats it lane by lane.
 */
final class VectorNorms {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    /** Lanes of each double accumulator: the summation order depends on it. */
    static final int DOUBLE_LANES = DS.length();

    private VectorNorms() {
    }

    /** The norm of the {@code dim} little-endian floats at byte {@code offset} of {@code vectors}. */
    static float norm(MemorySegment vectors, long offset, int dim) {
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
            double v = vectors.get(Norms.LE_FLOAT, offset + (long) d * Float.BYTES);
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
