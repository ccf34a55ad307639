package io.blocksim.bench;

import io.blocksim.search.Norms;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Benchmark data made off-heap, fast: each block of values gets its own splitmix64 stream keyed by
 * (seed, block), so the result does not depend on the thread count and no per-float Random call is
 * made. Values are uniform in [-1, 1).
 */
public final class SyntheticVectors {
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long BLOCK_FLOATS = 1 << 16;

    private SyntheticVectors() {
    }

    /** {@code rows x dim} floats in one shard allocated in {@code arena}, with norms computed as the store does. */
    public static VectorSet create(Arena arena, int rows, int dim, long seed) {
        long floats = (long) rows * dim;
        MemorySegment v = arena.allocate(Math.max(4, floats * Float.BYTES), 64);
        fill(v, floats, seed);
        MemorySegment norms = Norms.compute(v, rows, dim, arena);
        return new VectorSet(dim, List.of(new VectorShard(v, norms, 0, rows)));
    }

    /** {@code count} query vectors of {@code dim} floats from the same distribution. */
    public static float[][] queries(int count, int dim, long seed) {
        float[][] out = new float[count][dim];
        long state = mix(seed ^ 0x5DEECE66DL);
        for (float[] q : out) {
            for (int d = 0; d < dim; d++) {
                state += GOLDEN;
                q[d] = toFloat(mix(state) >>> 40);
            }
        }
        return out;
    }

    /** Fills the first {@code floats} float32 values of {@code seg}, two per 64-bit draw. */
    static void fill(MemorySegment seg, long floats, long seed) {
        long pairs = (floats + 1) / 2;
        int blocks = (int) ((pairs + BLOCK_FLOATS - 1) / BLOCK_FLOATS);
        IntStream.range(0, blocks).parallel().forEach(b -> {
            long state = mix(seed + b * 0x632BE59BD9B4E019L);
            long end = Math.min(pairs, (b + 1) * BLOCK_FLOATS);
            for (long p = b * BLOCK_FLOATS; p < end; p++) {
                state += GOLDEN;
                long z = mix(state);
                // low float from bits 40..63, high float from bits 8..31; both 24-bit uniform
                int lo = Float.floatToRawIntBits(toFloat(z >>> 40));
                int hi = Float.floatToRawIntBits(toFloat((z >>> 8) & 0xFFFFFF));
                long off = p * 8;
                if (2 * p + 1 < floats) {
                    seg.set(LE_LONG, off, (lo & 0xffffffffL) | ((long) hi << 32));
                } else {
                    seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off,
                            Float.intBitsToFloat(lo));
                }
            }
        });
    }

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A 24-bit integer to a float in [-1, 1). */
    private static float toFloat(long bits24) {
        return bits24 * 0x1.0p-23f - 1f;
    }
}
