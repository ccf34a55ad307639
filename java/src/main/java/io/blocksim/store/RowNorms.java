package io.blocksim.store;

import io.blocksim.search.Norms;
import java.lang.foreign.MemorySegment;

/**
 * Row norms for a shard being committed: {@link Norms#compute} (double accumulation, all cores)
 * plus the check that every row is finite, since a NaN or infinite vector must never be stored.
 */
final class RowNorms {
    private RowNorms() {
    }

    /**
     * Writes the norm of each of {@code rows} rows of {@code dim} floats in {@code vectors} to
     * {@code norms} (float32). Returns the first row with a NaN or infinite value, or whose norm
     * overflows float32, or -1 when all are finite.
     */
    static long compute(MemorySegment vectors, long rows, int dim, MemorySegment norms) {
        Norms.compute(vectors, Math.toIntExact(rows), dim, norms);
        for (long r = 0; r < rows; r++) {
            if (!Float.isFinite(norms.getAtIndex(Npy.FLOAT32, r))) {
                return r;
            }
        }
        return -1;
    }

    /** The first column of {@code row} that is NaN or infinite, or -1 (its norm merely overflowed). */
    static int firstNonFinite(MemorySegment vectors, long row, int dim) {
        for (int c = 0; c < dim; c++) {
            if (!Float.isFinite(vectors.getAtIndex(Npy.FLOAT32, row * dim + c))) {
                return c;
            }
        }
        return -1;
    }
}
