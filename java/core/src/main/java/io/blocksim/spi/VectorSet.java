package io.blocksim.spi;

import java.util.List;

/**
 * The candidates of a search: rows of {@code dim} floats spread over consecutive shards, and the
 * {@link MemoryGuard} that keeps their memory mapped while a backend reads it (a store's; none for
 * heap or automatic memory). A backend holds {@code guard().acquire()} for the length of a search.
 */
public record VectorSet(int dim, List<VectorShard> shards, MemoryGuard guard) {
    /** Rows in memory that nobody unmaps under a reader. */
    public VectorSet(int dim, List<VectorShard> shards) {
        this(dim, shards, MemoryGuard.NONE);
    }

    public VectorSet {
        guard = guard == null ? MemoryGuard.NONE : guard;
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
            if (s.codes() != null && (s.codes().codes().byteSize() < (long) s.rows() * dim
                    || s.codes().scales().byteSize() < (long) s.rows() * 2 * Float.BYTES)) {
                throw new IllegalArgumentException("the codes of the shard at row " + next + " hold fewer than "
                        + s.rows() + " rows");
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

    /** True when every shard has its {@link ShardCodes} (and there is at least one shard). */
    public boolean hasCodes() {
        return !shards.isEmpty() && shards.stream().allMatch(s -> s.codes() != null);
    }

    public boolean hasNorms() {
        return shards.stream().allMatch(s -> s.norms() != null);
    }
}
