package io.blocksim.store;

import java.lang.foreign.MemorySegment;

/**
 * L2 norms of float32 rows, accumulated in double (search's cosine divides by them). A plain
 * scalar loop on purpose: its result does not depend on whether the JIT has compiled it yet, so a
 * resumed extraction writes the same bytes as an uninterrupted one (a Vector API version differed
 * by an ulp between interpreted and compiled runs, which ExtractResumeTest caught). It runs once
 * per shard at commit time, far cheaper than the model that produced the rows.
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
        long bad = -1;
        long base = 0;
        for (long r = 0; r < rows; r++) {
            double sum = 0;
            for (int c = 0; c < dim; c++) {
                double v = vectors.getAtIndex(Npy.FLOAT32, base + c);
                sum += v * v;
            }
            float norm = (float) Math.sqrt(sum);
            norms.setAtIndex(Npy.FLOAT32, r, norm);
            if (bad < 0 && !Float.isFinite(norm)) {
                bad = r;
            }
            base += dim;
        }
        return bad;
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
