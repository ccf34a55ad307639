package io.blocksim.spi;

import java.lang.foreign.MemorySegment;

/**
 * One contiguous piece of a {@link VectorSet}: {@code rows} float32 vectors of the set's
 * dimension, little-endian, row-major, in {@code vectors} (normally a memory-mapped .npy shard's
 * data, never a heap copy), with their L2 norms as float32 in {@code norms} (null when not
 * precomputed). Row {@code i} of the shard is row {@code firstRow + i} of the set. {@code codes}
 * are the rows' compact codes for the compressed scan (null when the shard has none; they must
 * hold {@code rows} rows). Off-heap segments are kept as plain native views of the same memory
 * ({@link Segments#plain}).
 */
public record VectorShard(MemorySegment vectors, MemorySegment norms, int firstRow, int rows, ShardCodes codes) {
    /** A shard without codes. */
    public VectorShard(MemorySegment vectors, MemorySegment norms, int firstRow, int rows) {
        this(vectors, norms, firstRow, rows, null);
    }

    public VectorShard {
        if (rows < 0 || firstRow < 0) {
            throw new IllegalArgumentException("negative rows or firstRow");
        }
        vectors = Segments.plain(vectors);
        norms = Segments.plain(norms);
    }
}
