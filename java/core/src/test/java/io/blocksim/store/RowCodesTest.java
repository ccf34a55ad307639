package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The codes' one promise: the stored bound E of every row is never below the row's true coding
 * error |x - s c|, computed here exactly (BigDecimal). Checked on every shard of a small store made
 * by the writer (several entries, an earlier position, several shards each) and on adversarial rows
 * (zero, subnormal, near float's maximum, one outlier dimension, values that round to .5).
 */
class RowCodesTest {
    @TempDir
    Path tmp;

    @Test
    void theStoredBoundIsNeverBelowTheTrueErrorOnEveryShardOfAStore() {
        List<EntrySpec> entries = List.of(new EntrySpec("proj_output", 0, 5, 24), new EntrySpec("ffwd_output", 1, 2, 7),
                new EntrySpec("block_output", 2, 5, 33));
        Path dir = TestStores.build(tmp.resolve("s"), 6, 300, 70, entries, 7);
        int shards = 0;
        try (Store s = Store.open(dir)) {
            assertTrue(s.manifest().hasCodes());
            for (Manifest.Entry e : s.entries()) {
                VectorSet set = s.vectors(e.key());
                assertTrue(set.hasCodes(), e.key().toString());
                for (VectorShard sh : set.shards()) {
                    assertNotNull(sh.codes());
                    checkShard(sh.vectors(), sh.codes().codes(), sh.codes().scales(), sh.rows(), e.dim());
                    shards++;
                }
            }
        }
        assertEquals(3 * 5, shards);
        assertTrue(StoreVerifier.verify(dir).ok());
    }

    @Property(tries = 200)
    void theBoundHoldsOnAdversarialRows(@ForAll long seed, @ForAll @IntRange(min = 1, max = 70) int dim,
            @ForAll @IntRange(min = 0, max = 7) int kind) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = 6;
        float[] v = new float[rows * dim];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (kind) {
                case 0 -> 0f;
                case 1 -> Float.MIN_VALUE * rnd.nextInt(-300, 300);  // subnormal: the scale underflows
                case 2 -> (float) (Float.MAX_VALUE * (rnd.nextDouble() * 2 - 1));
                case 3 -> i % dim == 0 ? 1e30f : (float) rnd.nextGaussian();  // one outlier dimension
                case 4 -> (rnd.nextInt(255) - 127) + 0.5f;  // halves: rint ties
                // clamped: at 1e38 a gaussian past 3.4 would round to infinity, which no store holds
                case 5 -> (float) Math.clamp(rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-40, 39)), -Float.MAX_VALUE,
                        Float.MAX_VALUE);
                case 6 -> (float) (rnd.nextGaussian() * 1e-36);  // normal values whose scale is subnormal
                default -> (float) rnd.nextGaussian();
            };
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate((long) v.length * Float.BYTES);
            MemorySegment.copy(v, 0, x, Npy.FLOAT32, 0, v.length);
            MemorySegment c = arena.allocate(v.length);
            MemorySegment s = arena.allocate((long) rows * 2 * Float.BYTES);
            RowCodes.encode(x, rows, dim, c, s);
            checkShard(x, c, s, rows, dim);
        }
    }

    @Test
    void aZeroRowHasZeroCodesScaleAndBound() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(5 * Float.BYTES);
            MemorySegment c = arena.allocate(5);
            c.fill((byte) 9);
            MemorySegment s = arena.allocate(2 * Float.BYTES);
            RowCodes.encode(x, 1, 5, c, s);
            for (int i = 0; i < 5; i++) {
                assertEquals(0, c.get(ValueLayout.JAVA_BYTE, i));
            }
            assertEquals(0f, s.getAtIndex(Npy.FLOAT32, 0));
            assertEquals(0f, s.getAtIndex(Npy.FLOAT32, 1));
        }
    }

    @Test
    void codeFilesAreNamedAfterTheVectorsFile() {
        assertEquals("a-b0-t1/codes-00003.npy", RowCodes.codesFile("a-b0-t1/vectors-00003.npy"));
        assertEquals("a-b0-t1/codescales-00003.npy", RowCodes.scalesFile("a-b0-t1/vectors-00003.npy"));
        assertThrows(IllegalArgumentException.class, () -> RowCodes.codesFile("a-b0-t1/norms-00003.npy"));
    }

    /** Every row: codes in -127..127, scale = fl(max|x| / 127) (0 when it underflows), E >= |x - s c| exactly. */
    static void checkShard(MemorySegment x, MemorySegment codes, MemorySegment scales, int rows, int dim) {
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int i = 0; i < dim; i++) {
                max = Math.max(max, Math.abs(x.getAtIndex(Npy.FLOAT32, (long) r * dim + i)));
            }
            float scale = scales.getAtIndex(Npy.FLOAT32, 2L * r);
            float bound = scales.getAtIndex(Npy.FLOAT32, 2L * r + 1);
            assertEquals((float) (max / 127.0), scale, "row " + r);
            assertTrue(bound >= 0 && Float.isFinite(bound), "row " + r + " bound " + bound);
            BigDecimal ss = BigDecimal.ZERO;
            BigDecimal bs = new BigDecimal(scale);
            boolean nonzero = false;
            for (int i = 0; i < dim; i++) {
                float xi = x.getAtIndex(Npy.FLOAT32, (long) r * dim + i);
                int ci = codes.get(ValueLayout.JAVA_BYTE, (long) r * dim + i);
                assertTrue(ci >= -127 && ci <= 127);
                nonzero |= xi != 0;
                BigDecimal e = new BigDecimal(xi).subtract(bs.multiply(BigDecimal.valueOf(ci)));
                ss = ss.add(e.multiply(e));
            }
            BigDecimal b = new BigDecimal(bound);
            assertTrue(b.multiply(b).compareTo(ss) >= 0, "row " + r + ": bound " + bound + " below the true error "
                    + ss.sqrt(MathContext.DECIMAL64));
            if (!nonzero) {
                assertEquals(0f, bound);
            }
        }
    }

    @Test
    void aStoreWithoutCodesOpensAndSearchesWithout() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        StoreIndexerTest.dropCodes(dir);
        try (Store s = Store.open(dir)) {
            assertFalse(s.manifest().hasCodes());
            assertFalse(s.vectors(s.entries().get(0).key()).hasCodes());
        }
        assertTrue(StoreVerifier.verify(dir).ok());
    }
}
