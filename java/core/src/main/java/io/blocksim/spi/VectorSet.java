package io.blocksim.spi;

import java.util.List;

/** The candidates of a search: rows of {@code dim} floats spread over consecutive shards. */
public record VectorSet(int dim, List<VectorShard> shards) {
    public VectorSet {
        shards = List.copyOf(shards);
        int next = 0;
        for (VectorShard s : shards) {
            if (s.firstRow() != next) {
                throw new IllegalArgumentException("shards must be consecutive: expected first row " + next
                        + ", got " + s.firstRow());
            }
            if (s.vectors().byteSize() < (long) s.rows() * dim * Float.BYTES) {
                throw new IllegalArgumentException("shard at row " + next + " holds fewer than " + s.rows() + " rows");
            }
            next += s.rows();
        }
    }

    public int rows() {
        int n = 0;
        for (VectorShard s : shards) {
            n += s.rows();
        }
        return n;
    }

    public boolean hasNorms() {
        return shards.stream().allMatch(s -> s.norms() != null);
    }
}
