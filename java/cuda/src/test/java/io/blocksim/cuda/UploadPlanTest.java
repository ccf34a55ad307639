package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class UploadPlanTest {
    @Test
    void piecesCoverEveryShardInOrderWithinTheLimit() {
        int dim = 384;
        long max = 1000L * dim * 4;  // 1,000 rows per piece at most
        int[] rows = {2500, 0, 1000, 1, 999};
        int[] first = {0, 2500, 2500, 3500, 3501};
        List<UploadPlan.Piece> pieces = UploadPlan.pieces(rows, first, dim, max);
        int next = 0;
        for (UploadPlan.Piece p : pieces) {
            assertEquals(next, p.idBase());
            assertEquals(first[p.shard()] + p.firstRow(), p.idBase());
            assertTrue(p.rows() >= 1 && p.vectorBytes(dim) <= max);
            next += p.rows();
        }
        assertEquals(4500, next);
        // 2,500 rows: three equal pieces (834, 834, 832), not 1000 + 1000 + 500
        assertEquals(List.of(834, 834, 832), pieces.stream().filter(p -> p.shard() == 0).map(UploadPlan.Piece::rows).toList());
        assertEquals(6, pieces.size());
    }

    @Test
    void aRowLargerThanThePieceLimitIsStillOnePiece() {
        List<UploadPlan.Piece> p = UploadPlan.pieces(new int[] {3}, new int[] {0}, 4096, 100);
        assertEquals(3, p.size());
    }

    @Test
    void chunksStayUnderTwoGigabytes() {
        long bytes = 5_000_000_000L;
        List<UploadPlan.Chunk> c = UploadPlan.chunks(bytes, Long.MAX_VALUE);
        assertEquals(3, c.size());
        long next = 0;
        for (UploadPlan.Chunk x : c) {
            assertEquals(next, x.offset());
            assertTrue(x.bytes() <= UploadPlan.MAX_CHUNK_BYTES && x.bytes() <= Integer.MAX_VALUE);
            next += x.bytes();
        }
        assertEquals(bytes, next);
        assertEquals(List.of(new UploadPlan.Chunk(0, 64), new UploadPlan.Chunk(64, 36)), UploadPlan.chunks(100, 66));
        assertTrue(UploadPlan.chunks(0, 64).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> UploadPlan.chunks(10, 3));
    }
}
