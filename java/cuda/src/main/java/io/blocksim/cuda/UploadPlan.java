package io.blocksim.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * How a vector set reaches the device: shards are cut into pieces (the unit of residency and of one
 * scan launch, at most {@code maxPieceBytes} of vectors), and each piece's bytes are copied through
 * pinned staging buffers in chunks of at most {@code chunkBytes} (never over 2 GB: one chunk is one
 * direct ByteBuffer). Pure arithmetic, tested without a GPU.
 */
public final class UploadPlan {
    /** A direct ByteBuffer holds at most 2^31 - 1 bytes; chunks stay below 2 GB. */
    public static final long MAX_CHUNK_BYTES = 2_000_000_000L;

    private UploadPlan() {
    }

    /**
     * Rows {@code [firstRow, firstRow + rows)} of shard {@code shard}; the first global row is
     * {@code idBase} (the kernels' idBase).
     */
    public record Piece(int shard, int firstRow, int rows, int idBase) {
        public long vectorBytes(int dim) {
            return (long) rows * dim * Float.BYTES;
        }
    }

    /** A byte range of a piece: {@code [offset, offset + bytes)}. */
    public record Chunk(long offset, long bytes) {
    }

    /** Rows per piece so that a piece of {@code dim} floats per row stays within {@code maxPieceBytes}. */
    public static int rowsPerPiece(int dim, long maxPieceBytes) {
        long rowBytes = (long) dim * Float.BYTES;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxPieceBytes / rowBytes));
    }

    /** Pieces of consecutive shards ({@code shardRows[i]} rows each), in global row order; empty shards give none. */
    public static List<Piece> pieces(int[] shardRows, int[] shardFirstRows, int dim, long maxPieceBytes) {
        int per = rowsPerPiece(dim, maxPieceBytes);
        List<Piece> out = new ArrayList<>();
        for (int s = 0; s < shardRows.length; s++) {
            int rows = shardRows[s];
            // equal pieces rather than full ones plus a small tail: launches stay balanced
            int count = (int) LaunchPlan.ceilDiv(rows, per);
            int size = count == 0 ? 0 : (int) LaunchPlan.ceilDiv(rows, count);
            for (int r = 0; r < rows; r += size) {
                int n = Math.min(size, rows - r);
                out.add(new Piece(s, r, n, shardFirstRows[s] + r));
            }
        }
        return out;
    }

    /** Chunks of at most {@code chunkBytes} (a multiple of 4, capped at {@link #MAX_CHUNK_BYTES}) covering {@code bytes}. */
    public static List<Chunk> chunks(long bytes, long chunkBytes) {
        long c = Math.min(chunkBytes, MAX_CHUNK_BYTES) & ~3L;
        if (c <= 0) {
            throw new IllegalArgumentException("chunk size must be at least 4 bytes, got " + chunkBytes);
        }
        List<Chunk> out = new ArrayList<>();
        for (long o = 0; o < bytes; o += c) {
            out.add(new Chunk(o, Math.min(c, bytes - o)));
        }
        return out;
    }
}
