package io.blocksim.search;

import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The rules every backend shares, written once: what a search accepts, how rows with equal
 * reported scores are ordered, and where row norms come from when a shard has none.
 */
public final class SearchRules {
    /** What a compressed-scan request on data without codes is refused with (every backend alike). */
    public static final String NO_CODES = "the candidates have no codes for the compressed scan: add them"
            + " with 'blocksim index STORE', or search with --scan float32 (or auto)";

    private SearchRules() {
    }

    /**
     * The checks every backend makes before it searches, with the same messages.
     *
     * @throws InvalidArgumentException no queries, or k outside 1..rows
     * @throws InvalidDataException an empty set, a query of the wrong length or a non-finite value
     */
    public static void validate(VectorSet data, float[][] queries, int k) {
        if (queries == null || queries.length == 0) {
            throw new InvalidArgumentException("no queries: give at least one query vector");
        }
        int rows = data.rows();
        if (rows == 0) {
            throw new InvalidDataException("the vector set is empty: nothing to search");
        }
        if (k < 1 || k > rows) {
            throw new InvalidArgumentException("k must be between 1 and " + rows + " (the number of rows), got " + k);
        }
        for (int q = 0; q < queries.length; q++) {
            float[] v = queries[q];
            if (v == null || v.length != data.dim()) {
                throw new InvalidDataException("query " + q + " has " + (v == null ? 0 : v.length)
                        + " values but the vectors have dimension " + data.dim());
            }
            for (int d = 0; d < v.length; d++) {
                if (!Float.isFinite(v[d])) {
                    throw new InvalidDataException("query " + q + " holds a non-finite value (" + v[d]
                            + ") at position " + d);
                }
            }
        }
    }

    /**
     * Distinct squared distances can round to the same reported distance; within such a run the
     * rows must still go lowest first. Runs are short, so insertion sort.
     */
    public static void lowerRowFirstAmongEqual(int[] rows, float[] scores) {
        for (int i = 1; i < rows.length; i++) {
            int r = rows[i];
            int j = i - 1;
            while (j >= 0 && scores[j] == scores[i] && rows[j] > r) {
                rows[j + 1] = rows[j];
                j--;
            }
            rows[j + 1] = r;
        }
    }

    /**
     * Row norms for shards that come without them: computed once per shard ({@link Norms#compute})
     * and kept while the shard is reachable. Thread-safe; one per backend.
     */
    public static final class NormsCache {
        private final Map<VectorShard, MemorySegment> computed = Collections.synchronizedMap(new WeakHashMap<>());

        /**
         * The shard's own norms when it has them (checked for length), else computed ones.
         *
         * @throws InvalidDataException when the shard's norms hold fewer values than it has rows
         */
        public MemorySegment of(VectorShard s, int dim) {
            if (s.norms() != null) {
                if (s.norms().byteSize() < (long) s.rows() * Float.BYTES) {
                    throw new InvalidDataException("the norms of the shard at row " + s.firstRow()
                            + " hold fewer than " + s.rows() + " values");
                }
                return s.norms();
            }
            // an automatic arena: freed with the map entry once the caller drops the shard
            return computed.computeIfAbsent(s, x -> Norms.compute(x.vectors(), x.rows(), dim, Arena.ofAuto()));
        }

        public void clear() {
            computed.clear();
        }
    }
}
