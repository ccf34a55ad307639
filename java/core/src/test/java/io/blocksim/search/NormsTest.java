package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class NormsTest {
    @Test
    void matchesDoubleNormsAndIsTheSameForEqualRows() {
        for (int dim : new int[] {1, 15, 16, 17, 384}) {
            float[][] data = TestVectors.gaussian(9000, dim, dim);
            data[8999] = data[3].clone();
            data[5] = new float[dim];
            try (Arena arena = Arena.ofShared()) {
                VectorSet set = TestVectors.shards(arena, data, new int[] {9000}, false);
                MemorySegment n = Norms.compute(set.shards().get(0).vectors(), 9000, dim, arena);
                for (int r = 0; r < data.length; r++) {
                    float want = (float) Reference.norm(data[r]);
                    assertEquals(want, n.getAtIndex(Norms.LE_FLOAT, r), Math.ulp(want), "dim " + dim + " row " + r);
                }
                assertEquals(0f, n.getAtIndex(Norms.LE_FLOAT, 5));
                assertEquals(n.getAtIndex(Norms.LE_FLOAT, 3), n.getAtIndex(Norms.LE_FLOAT, 8999));
            }
        }
    }

    /** The scalar path (no Vector API) gives the vector path's bits, and {@code norm} gives {@code compute}'s. */
    @Test
    void scalarPathAndSingleRowNormAreTheSameBits() {
        for (int dim : new int[] {1, 7, 8, 15, 16, 17, 33, 384, 385}) {
            float[][] data = TestVectors.gaussian(300, dim, 100 + dim);
            data[7] = new float[dim];
            data[9][0] = 3e19f;  // a square beyond float's range: still a finite norm
            try (Arena arena = Arena.ofShared()) {
                VectorSet set = TestVectors.shards(arena, data, new int[] {300}, false);
                MemorySegment v = set.shards().get(0).vectors();
                MemorySegment n = Norms.compute(v, 300, dim, arena);
                for (int r = 0; r < data.length; r++) {
                    long off = (long) r * dim * Float.BYTES;
                    float fromCompute = n.getAtIndex(Norms.LE_FLOAT, r);
                    assertEquals(fromCompute, Norms.norm(v, off, dim), "norm() dim " + dim + " row " + r);
                    assertEquals(fromCompute, Norms.scalarNorm(v, off, dim, Vectorization.NORM_LANES),
                            "scalar dim " + dim + " row " + r);
                }
                assertEquals((float) Reference.norm(data[9]), n.getAtIndex(Norms.LE_FLOAT, 9), Math.ulp(3e19f));
            }
        }
    }

    /** Many blocks of rows (the parallel path) and a row count off the block size: every row written, none beyond. */
    @Test
    void everyRowOfManyBlocksAndNothingBeyond() {
        int rows = 3 * 4096 + 5;
        float[][] data = TestVectors.gaussian(rows, 8, 3);
        try (Arena arena = Arena.ofShared()) {
            VectorSet set = TestVectors.shards(arena, data, new int[] {rows}, false);
            MemorySegment out = arena.allocate((long) (rows + 4) * Float.BYTES, 64);
            out.fill((byte) 0x7f);
            Norms.compute(set.shards().get(0).vectors(), rows, 8, out);
            for (int r = 0; r < rows; r++) {
                assertEquals((float) Reference.norm(data[r]), out.getAtIndex(Norms.LE_FLOAT, r), Math.ulp(10f), "row " + r);
            }
            for (int r = rows; r < rows + 4; r++) {
                assertEquals(Float.intBitsToFloat(0x7f7f7f7f), out.getAtIndex(Norms.LE_FLOAT, r), "untouched past the rows");
            }
            // too little input or output is refused, nothing written
            org.junit.jupiter.api.Assertions.assertThrows(io.blocksim.InvalidDataException.class,
                    () -> Norms.compute(set.shards().get(0).vectors(), rows + 1, 8, out));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> Norms.compute(set.shards().get(0).vectors(), rows, 8, out.asSlice(0, (long) (rows - 1) * 4)));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> Norms.compute(set.shards().get(0).vectors(), -1, 8, out));
        }
    }
}
