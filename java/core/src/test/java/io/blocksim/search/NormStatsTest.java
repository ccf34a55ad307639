package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blocksim.InvalidArgumentException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.Store;
import io.blocksim.store.TestStores;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The norm table against a float64 two-pass reference: the first rows across shards, sample std, blocks in order. */
class NormStatsTest {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static double[] reference(VectorSet set, int rows) {
        List<Double> v = new ArrayList<>();
        for (VectorShard s : set.shards()) {
            for (int i = 0; i < s.rows() && v.size() < rows; i++) {
                v.add((double) s.norms().getAtIndex(F32, i));
            }
        }
        double mean = v.stream().mapToDouble(Double::doubleValue).sum() / v.size();
        double ss = v.stream().mapToDouble(x -> (x - mean) * (x - mean)).sum();
        return new double[] {v.size(), mean, Math.sqrt(ss / (v.size() - 1))};
    }

    @Test
    void firstRowsAcrossShardsSampleStdBlocksInOrder(@TempDir Path dir) {
        List<EntrySpec> entries = List.of(new EntrySpec(new EntryKey("proj_output", 1, 7), 16),
                new EntrySpec(new EntryKey("proj_output", 0, 7), 16), new EntrySpec(new EntryKey("ffwd_output", 0, 7), 16),
                new EntrySpec(new EntryKey("proj_output", 0, 3), 16));
        Path p = TestStores.build(dir.resolve("s"), 8, 1_000, 300, entries, 9);
        try (Store st = Store.open(p)) {
            for (int rows : new int[] {2, 299, 300, 301, 777, 1_000, 5_000}) {
                List<NormStats.Row> table = NormStats.table(st, "proj_output", rows);
                assertEquals(2, table.size(), "last-position entries only");
                for (int b = 0; b < 2; b++) {
                    NormStats.Row r = table.get(b);
                    assertEquals(b, r.block(), "ordered by block");
                    double[] ref = reference(st.vectors(new EntryKey("proj_output", b, 7)), rows);
                    assertEquals((int) ref[0], r.rows());
                    assertEquals(Math.min(rows, 1_000), r.rows());
                    assertEquals(ref[1], r.mean(), 1e-12 * ref[1]);
                    assertEquals(ref[2], r.std(), 1e-9 * ref[2] + 1e-12);
                }
            }
            assertThrows(InvalidArgumentException.class, () -> NormStats.table(st, "proj_output", 1));
            assertThrows(InvalidArgumentException.class, () -> NormStats.table(st, "block_output", 10));
        }
    }

    @Test
    void largeMeansKeepTheirSpread() {
        // 100,000 norms alternating 1e7 and 1e7 + 2: mean 1e7 + 1, sample std sqrt(n / (n - 1)); the
        // sum-of-squares form subtracts two numbers near 1e19 and keeps only thousands of its units
        int n = 100_000;
        MemorySegment seg = MemorySegment.ofArray(new byte[n * 4]);
        for (int i = 0; i < n; i++) {
            seg.setAtIndex(F32, i, i % 2 == 0 ? 1e7f : 1e7f + 2);
        }
        VectorSet set = new VectorSet(1, List.of(new VectorShard(MemorySegment.ofArray(new byte[n * 4]), seg, 0, n)));
        NormStats.Row r = NormStats.of(4, set, n + 10);
        assertEquals(4, r.block());
        assertEquals(n, r.rows());
        assertEquals(1e7 + 1, r.mean(), 1e-6);
        assertEquals(Math.sqrt((double) n / (n - 1)), r.std(), 1e-9);
    }
}
