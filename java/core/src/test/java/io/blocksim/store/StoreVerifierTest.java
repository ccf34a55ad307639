package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreVerifierTest {
    @TempDir
    Path tmp;

    @Test
    void aGoodStoreChecksEveryFile() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        List<String> seen = new ArrayList<>();
        StoreVerifier.Result r = StoreVerifier.verify(dir, (name, bytes) -> seen.add(name));
        assertTrue(r.ok(), r.problems().toString());
        // strings + 2 prefix indexes + 4 entries x 3 shards x (vectors + norms)
        assertEquals(1 + 2 + 24, r.filesChecked());
        assertEquals(r.filesChecked(), seen.size());
        assertTrue(r.bytesChecked() > 0);
    }

    @Test
    void eachAlteredOrBrokenFileIsNamed() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        flipDataByte(dir.resolve("block_output-b0-t3/vectors-00001.npy"), 37);
        flipDataByte(dir.resolve("prefix-t1.npy"), 1);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("embedding-b0-t0/norms-00000.npy").toFile(), "rw")) {
            f.setLength(f.length() - 1);
        }
        Files.delete(dir.resolve("ffwd_output-b1-t1/vectors-00002.npy"));

        StoreVerifier.Result r = StoreVerifier.verify(dir);
        assertEquals(4, r.problems().size(), r.problems().toString());
        assertEquals(27, r.filesChecked());
        String all = r.problems().toString();
        assertTrue(has(r, "block_output-b0-t3/vectors-00001.npy", "checksum mismatch"), all);
        assertTrue(has(r, "prefix-t1.npy", "checksum mismatch"), all);
        assertTrue(has(r, "embedding-b0-t0/norms-00000.npy", "truncated"), all);
        assertTrue(has(r, "ffwd_output-b1-t1/vectors-00002.npy", "missing"), all);
    }

    @Test
    void aChangedHeaderIsReported() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path f = dir.resolve("block_output-b1-t3/norms-00000.npy");
        byte[] b = Files.readAllBytes(f);
        String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1).replace("'<f4'", "'<i4'");
        Files.write(f, s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        StoreVerifier.Result r = StoreVerifier.verify(dir);
        assertTrue(has(r, "block_output-b1-t3/norms-00000.npy", "holds int32"), r.problems().toString());
    }

    @Test
    void aMissingStoreIsAnError() {
        assertThrows(StoreNotFoundException.class, () -> StoreVerifier.verify(tmp.resolve("none")));
    }

    private static boolean has(StoreVerifier.Result r, String file, String text) {
        return r.problems().stream().anyMatch(p -> p.file().equals(file) && p.message().contains(text));
    }

    /** Alters one bit of byte {@code index} of the data (after the header). */
    private static void flipDataByte(Path file, long index) throws IOException {
        long at = Npy.readHeader(file).dataOffset() + index;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
    }
}
