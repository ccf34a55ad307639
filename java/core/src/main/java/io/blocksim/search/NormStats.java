package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.spi.VectorShard;
import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The notebook's norm table: for a site, per block, the mean and sample standard deviation of the
 * L2 norms of the last-position vectors of the first {@code rows} strings (the seed's batch 0).
 * Reads the norms stored beside each shard, in double precision.
 */
public final class NormStats {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** One block's statistics over {@code rows} vectors. */
    public record Row(int block, int rows, double mean, double std) {
    }

    private NormStats() {
    }

    /**
     * Per block of {@code site}, the statistics of the last-position norms of the first
     * {@code rows} strings (all of them when the store holds fewer), ordered by block.
     *
     * @throws InvalidArgumentException for fewer than 2 rows, or a site the store does not hold at
     *     the last position
     * @throws ClosedException when the store is closed
     */
    public static List<Row> table(Store store, String site, int rows) {
        if (rows < 2) {
            throw new InvalidArgumentException("rows must be at least 2 for a standard deviation, got " + rows);
        }
        int last = store.stringLength() - 1;
        List<Row> out = new ArrayList<>();
        for (Manifest.Entry e : store.entries()) {
            if (e.site().equals(site) && e.position() == last) {
                out.add(of(e.block(), store.vectors(e.key()), rows));
            }
        }
        if (out.isEmpty()) {
            // let the store say what it holds
            store.entry(site, 0, -1);
        }
        out.sort(java.util.Comparator.comparingInt(Row::block));
        return out;
    }

    static Row of(int block, VectorSet set, int rows) {
        int n = Math.min(rows, set.rows());
        // Welford's update: no sum-of-squares minus squared-sum cancellation for large means
        double mean = 0;
        double m2 = 0;
        int seen = 0;
        for (VectorShard s : set.shards()) {
            MemorySegment norms = s.norms();
            for (int i = 0; i < s.rows() && seen < n; i++) {
                double v = norms.getAtIndex(F32, i);
                seen++;
                double d = v - mean;
                mean += d / seen;
                m2 += d * (v - mean);
            }
        }
        return new Row(block, n, mean, Math.sqrt(m2 / (n - 1)));
    }
}
