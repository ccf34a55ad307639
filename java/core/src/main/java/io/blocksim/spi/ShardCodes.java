package io.blocksim.spi;

import java.lang.foreign.MemorySegment;

/**
 * The compact codes of a {@link VectorShard}'s rows (the store's {@code RowCodes} files, memory-mapped):
 * {@code codes} holds int8 [rows, dim] (row-major), {@code scales} float32 [rows, 2] little-endian:
 * per row its scale s and a bound E on the norm of its coding error, so that the decoded row
 * {@code s * codes[r]} is within E of the row in L2 norm. A search that reads the codes instead of
 * the floats re-scores exactly every row the bound cannot exclude.
 */
public record ShardCodes(MemorySegment codes, MemorySegment scales) {
    public ShardCodes {
        if (codes == null || scales == null) {
            throw new IllegalArgumentException("codes and scales are both needed");
        }
        codes = Segments.plain(codes);
        scales = Segments.plain(scales);
    }
}
