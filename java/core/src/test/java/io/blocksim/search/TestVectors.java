package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.spi.VectorShard;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Test data: rows on the heap for the reference, the same rows off-heap in shards for the backend. */
final class TestVectors {
    private TestVectors() {
    }

    static float[][] gaussian(int rows, int dim, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] out = new float[rows][dim];
        for (float[] row : out) {
            for (int d = 0; d < dim; d++) {
                row[d] = (float) rnd.nextGaussian();
            }
        }
        return out;
    }

    /** Queries near given rows (a row plus a little noise), or fresh ones where {@code near} is negative. */
    static float[][] queries(float[][] data, int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int dim = data[0].length;
        float[][] out = new float[count][dim];
        for (int q = 0; q < count; q++) {
            boolean near = q % 2 == 0;
            float[] base = data[rnd.nextInt(data.length)];
            for (int d = 0; d < dim; d++) {
                out[q][d] = near ? base[d] + 0.3f * (float) rnd.nextGaussian() : (float) rnd.nextGaussian();
            }
        }
        return out;
    }

    /** Shards of the given sizes (which must add up to the row count), norms precomputed or not. */
    static VectorSet shards(Arena arena, float[][] data, int[] sizes, boolean withNorms) {
        int dim = data[0].length;
        List<VectorShard> shards = new ArrayList<>();
        int first = 0;
        for (int size : sizes) {
            MemorySegment v = arena.allocate((long) Math.max(size, 1) * dim * Float.BYTES, 64);
            for (int r = 0; r < size; r++) {
                MemorySegment.copy(data[first + r], 0, v, Norms.LE_FLOAT, (long) r * dim * Float.BYTES, dim);
            }
            MemorySegment n = withNorms ? Norms.compute(v, size, dim, arena) : null;
            shards.add(new VectorShard(v, n, first, size));
            first += size;
        }
        if (first != data.length) {
            throw new IllegalArgumentException("shard sizes add up to " + first + ", not " + data.length);
        }
        return new VectorSet(dim, shards);
    }

    /** The rows in one native segment, little-endian, 64-byte aligned. */
    static MemorySegment segment(Arena arena, float[][] data) {
        int dim = data[0].length;
        MemorySegment v = arena.allocate((long) data.length * dim * Float.BYTES, 64);
        for (int r = 0; r < data.length; r++) {
            MemorySegment.copy(data[r], 0, v, Norms.LE_FLOAT, (long) r * dim * Float.BYTES, dim);
        }
        return v;
    }

    static VectorSet oneShard(Arena arena, float[][] data) {
        return shards(arena, data, new int[] {data.length}, true);
    }
}
