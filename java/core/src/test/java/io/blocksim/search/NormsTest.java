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
}
