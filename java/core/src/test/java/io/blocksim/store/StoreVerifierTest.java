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
        // strings + 2 prefix indexes + 4 entries x 3 shards x (vectors + norms + codes + code scales)
        assertEquals(1 + 2 + 48, r.filesChecked());
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
        assertEquals(51, r.filesChecked());
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
    void aFlippedDataByteOfANormsFileOfStringsNpyOrOfTheLabelsIsNamed() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        for (String name : List.of("ffwd_output-b1-t1/norms-00002.npy", "block_output-b0-t3/norms-00000.npy",
                Manifest.STRINGS_FILE)) {
            Path file = dir.resolve(name);
            byte[] before = Files.readAllBytes(file);
            flipDataByte(file, Files.size(file) - Npy.readHeader(file).dataOffset() - 1);  // the last byte
            StoreVerifier.Result r = StoreVerifier.verify(dir);
            assertEquals(1, r.problems().size(), r.problems().toString());
            assertTrue(has(r, name, "checksum mismatch"), r.problems().toString());
            Files.write(file, before);
        }
        Path imported = smallImported();
        Path labels = imported.resolve(Manifest.LABELS_FILE);
        assertTrue(StoreVerifier.verify(imported).ok());
        byte[] text = Files.readAllBytes(labels);
        text[text.length / 2] ^= 0x01;
        Files.write(labels, text);
        StoreVerifier.Result r = StoreVerifier.verify(imported);
        assertEquals(1, r.problems().size(), r.problems().toString());
        assertTrue(has(r, Manifest.LABELS_FILE, "checksum mismatch"), r.problems().toString());
    }

    /**
     * Every byte of every file is checked, whatever the read buffer's size: with a 7-byte buffer,
     * the last data byte, the first, and a header byte changed in a way the parser accepts (a
     * padding space made a tab) are each named.
     */
    @Test
    void everyByteOfEveryFileIsCheckedWhateverTheBufferSize() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        int saved = StoreVerifier.chunk;
        StoreVerifier.chunk = 7;
        try {
            assertTrue(StoreVerifier.verify(dir).ok());
            for (Path file : Fixtures.files(dir)) {
                String name = dir.relativize(file).toString();
                if (!name.endsWith(".npy")) {
                    continue;
                }
                long data = Files.size(file) - Npy.readHeader(file).dataOffset();
                byte[] before = Files.readAllBytes(file);
                for (long at : new long[] {0, data - 1}) {
                    flipDataByte(file, at);
                    assertTrue(has(StoreVerifier.verify(dir), name, "checksum mismatch"), name + " byte " + at);
                    Files.write(file, before);
                }
                byte[] padded = before.clone();
                int offset = (int) Npy.readHeader(file).dataOffset();
                int space = new String(before, 0, offset, java.nio.charset.StandardCharsets.ISO_8859_1).lastIndexOf(' ');
                padded[space] = '\t';
                Files.write(file, padded);
                Npy.readHeader(file);  // still a header the parser reads
                assertTrue(has(StoreVerifier.verify(dir), name, "header"), name + " padding");
                Files.write(file, before);
            }
        } finally {
            StoreVerifier.chunk = saved;
        }
    }

    /**
     * A file larger than any internal buffer or limit (real shards are about 200 MB; the fixtures
     * are tiny): a sparse 69 MB shard is checked to its last byte.
     */
    @Test
    void aShardLargerThan64MiBIsCheckedToItsLastByte() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(dir.resolve(Manifest.FILE).toFile());
        var entry = (com.fasterxml.jackson.databind.node.ObjectNode) tree.get("entries").get(3);
        assertEquals("embedding", entry.get("site").asText());
        var shard = (com.fasterxml.jackson.databind.node.ObjectNode) entry.get("shards").get(0);
        int rows = shard.get("rows").asInt();
        int dim = (int) ((65L << 20) / rows / 4 + 4099);  // > 65 MiB of data, not a multiple of any buffer
        String name = shard.get("file").asText();
        Path file = dir.resolve(name);
        byte[] header = NpyHeader.forWrite(NpyDtype.FLOAT32, rows, dim).encode();
        long dataBytes = (long) rows * dim * 4;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            f.write(header);
            f.setLength(header.length + dataBytes);  // sparse zeros
            f.seek(header.length + dataBytes - 1);
            f.write(1);
        }
        // the reference: CRC32C of the zeros and the final 1, in 1 MiB steps of its own
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        byte[] zeros = new byte[1 << 20];
        for (long left = dataBytes - 1; left > 0; left -= zeros.length) {
            crc.update(zeros, 0, (int) Math.min(zeros.length, left));
        }
        crc.update(1);
        entry.put("dim", dim);
        shard.put("crc32c", Npy.hex(crc.getValue()));
        Files.write(dir.resolve(Manifest.FILE), json.writeValueAsBytes(tree));
        assertTrue(StoreVerifier.verify(dir).problems().stream().noneMatch(p -> p.file().equals(name)),
                () -> StoreVerifier.verify(dir).problems().toString());
        flipDataByte(file, dataBytes - 1);
        StoreVerifier.Result r = StoreVerifier.verify(dir);
        assertTrue(has(r, name, "checksum mismatch"), r.problems().toString());
        assertTrue(r.bytesChecked() > dataBytes, "bytes checked " + r.bytesChecked());
    }

    @Test
    void aMissingStoreIsAnError() {
        assertThrows(StoreNotFoundException.class, () -> StoreVerifier.verify(tmp.resolve("none")));
    }

    private Path smallImported() throws IOException {
        Path vectors = tmp.resolve("v.npy");
        Npy.writeFloats(vectors, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 2);
        Path labels = tmp.resolve("labels.txt");
        Files.writeString(labels, "one\ntwo\nthree\nfour\nfive\n");
        StoreImporter.importVectors(vectors, labels, tmp.resolve("imported"), "mine", 2);
        return tmp.resolve("imported");
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
