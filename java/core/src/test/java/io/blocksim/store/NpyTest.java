package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidDataException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void float32RoundTripKeepsShapeValuesAndAlignment() {
        float[] v = new float[3 * 5];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.25f - 1.5f;
        }
        Path f = tmp.resolve("a.npy");
        long crc = Npy.writeFloats(f, v, 3, 5);
        try (Arena arena = Arena.ofConfined()) {
            NpyArray a = Npy.map(f, arena);
            assertEquals(NpyDtype.FLOAT32, a.dtype());
            assertArrayEquals(new long[] {3, 5}, a.shape());
            assertEquals(0, a.header().dataOffset() % 64);
            assertArrayEquals(v, a.data().toArray(Npy.FLOAT32));
            assertEquals(crc, Npy.crc32c(a.data()));
            CRC32C ref = new CRC32C();
            ref.update(a.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            assertEquals(ref.getValue(), crc);
        }
    }

    @Test
    void everyDtypeAndShapeRoundTrips() {
        try (Arena arena = Arena.ofConfined()) {
            Path u8 = tmp.resolve("u8.npy");
            byte[] bytes = {0, 1, (byte) 200, (byte) 255, 7, 9};
            Npy.writeBytes(u8, bytes, 2, 3);
            NpyArray a = Npy.map(u8, arena);
            assertEquals(NpyDtype.UINT8, a.dtype());
            assertArrayEquals(bytes, a.data().toArray(Npy.UINT8));

            Path i4 = tmp.resolve("i4.npy");
            int[] ints = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 42};
            Npy.writeInts(i4, ints);
            NpyArray b = Npy.map(i4, arena);
            assertArrayEquals(new long[] {5}, b.shape());
            assertArrayEquals(ints, b.toIntArray());

            Path i8 = tmp.resolve("i8.npy");
            long[] longs = {Long.MIN_VALUE, 0, 1L << 40};
            Npy.write(i8, NpyDtype.INT64, new long[] {3}, MemorySegment.ofArray(longs));
            assertArrayEquals(longs, Npy.map(i8, arena).data().toArray(Npy.INT64));

            Path empty = tmp.resolve("empty.npy");
            Npy.writeFloats(empty, new float[0], 0, 384);
            NpyArray e = Npy.map(empty, arena);
            assertArrayEquals(new long[] {0, 384}, e.shape());
            assertEquals(0, e.data().byteSize());

            Path scalar = tmp.resolve("scalar.npy");
            Npy.writeFloats(scalar, new float[] {3.5f});
            NpyArray s = Npy.map(scalar, arena);
            assertEquals(0, s.ndim());
            assertEquals(3.5f, s.data().getAtIndex(Npy.FLOAT32, 0));
        }
    }

    @Test
    void headerIsNumpyStyleV1PaddedWithSpacesAndNewline() throws IOException {
        Path f = tmp.resolve("h.npy");
        Npy.writeInts(f, new int[] {1, 2, 3});
        byte[] all = Files.readAllBytes(f);
        assertEquals((byte) 0x93, all[0]);
        assertEquals("NUMPY", new String(all, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, all[6]);
        assertEquals(0, all[7]);
        int len = (all[8] & 0xFF) | (all[9] & 0xFF) << 8;
        assertEquals(0, (10 + len) % 64);
        String header = new String(all, 10, len, StandardCharsets.US_ASCII);
        assertTrue(header.startsWith("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"), header);
        assertTrue(header.endsWith(" \n"));
        assertEquals(10 + len + 12, all.length);
    }

    @Test
    void unfinishedWriterLeavesNoFile() {
        Path f = tmp.resolve("w.npy");
        MemorySegment data;
        try (NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.FLOAT32, 4, 2)) {
            data = w.data();
            data.setAtIndex(Npy.FLOAT32, 0, 1f);
            assertTrue(Files.exists(w.tempFile()));
            assertFalse(Files.exists(f));
        }
        assertFalse(Files.exists(f));
        assertFalse(Files.exists(tmp.resolve("w.npy" + NpyFileWriter.TEMP_SUFFIX)));
        MemorySegment unmapped = data;
        assertThrows(IllegalStateException.class, () -> unmapped.getAtIndex(Npy.FLOAT32, 0));
    }

    @Test
    void finishedWriterRenamesAndReturnsTheDataChecksum() {
        Path f = tmp.resolve("w.npy");
        long crc;
        try (NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.FLOAT32, 2, 2)) {
            for (int i = 0; i < 4; i++) {
                w.data().setAtIndex(Npy.FLOAT32, i, i + 0.5f);
            }
            crc = w.finish();
            assertThrows(IllegalStateException.class, () -> w.data().get(Npy.UINT8, 0));
        }
        assertFalse(Files.exists(tmp.resolve("w.npy.tmp")));
        try (Arena arena = Arena.ofConfined()) {
            NpyArray a = Npy.map(f, arena);
            assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f}, a.data().toArray(Npy.FLOAT32));
            assertEquals(crc, Npy.crc32c(a.data()));
        }
    }

    // ---- strict parsing ----

    private Path withHeader(String name, String dict, int major, byte[] data) throws IOException {
        byte[] d = dict.getBytes(StandardCharsets.ISO_8859_1);
        int pre = major == 1 ? 10 : 12;
        int total = (pre + d.length + 1 + 63) / 64 * 64;
        byte[] out = new byte[total + data.length];
        System.arraycopy(NpyHeader.MAGIC, 0, out, 0, 6);
        out[6] = (byte) major;
        int len = total - pre;
        out[8] = (byte) len;
        out[9] = (byte) (len >> 8);
        Arrays.fill(out, pre, total - 1, (byte) ' ');
        System.arraycopy(d, 0, out, pre, d.length);
        out[total - 1] = '\n';
        System.arraycopy(data, 0, out, total, data.length);
        Path f = tmp.resolve(name);
        Files.write(f, out);
        return f;
    }

    private static String message(Path f) {
        try (Arena arena = Arena.ofConfined()) {
            NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.map(f, arena));
            assertTrue(e instanceof InvalidDataException, "a malformed npy file is invalid data");
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            return e.getMessage();
        }
    }

    @Test
    void badMagicIsRefused() throws IOException {
        Path f = tmp.resolve("bad.npy");
        Files.write(f, "PK\u0003\u0004 this is a zip file, not an npy".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(message(f).contains("bad magic"));
        Path tiny = tmp.resolve("tiny.npy");
        Files.write(tiny, new byte[] {1, 2});
        assertTrue(message(tiny).contains("not a .npy file"));
    }

    @Test
    void unsupportedVersionIsRefused() throws IOException {
        Path f = withHeader("v4.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, new byte[4]);
        assertTrue(message(f).contains("unsupported NPY format version 4.0"));
    }

    @Test
    void version2HeadersAreRead() throws IOException {
        Path f = withHeader("v2.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 2, new byte[] {1, 0, 0, 0, 2, 0, 0, 0});
        try (Arena arena = Arena.ofConfined()) {
            assertArrayEquals(new int[] {1, 2}, Npy.map(f, arena).toIntArray());
        }
    }

    @Test
    void unsupportedDtypesAreRefusedByName() throws IOException {
        assertTrue(message(withHeader("f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 1, new byte[8]))
                .contains("unsupported dtype '<f8' (float64)"));
        assertTrue(message(withHeader("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 1, new byte[4]))
                .contains("big-endian"));
        assertTrue(message(withHeader("rec.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 1,
                new byte[4])).contains("structured"));
    }

    @Test
    void fortranOrderIsRefused() throws IOException {
        String m = message(withHeader("f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 1, new byte[16]));
        assertTrue(m.contains("Fortran"), m);
        assertTrue(m.contains("ascontiguousarray"), m);
    }

    @Test
    void shortFileIsTruncatedAndLongFileIsRefused() throws IOException {
        Path f = withHeader("t.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", 1, new byte[20]);
        assertTrue(message(f).contains("is truncated"));
        Path g = withHeader("g.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 1, new byte[8]);
        assertTrue(message(g).contains("longer than its header says"));
        Path h = tmp.resolve("h.npy");
        Files.write(h, Arrays.copyOf(Files.readAllBytes(g), 30));
        assertTrue(message(h).contains("truncated"));
    }

    @Test
    void malformedHeadersAreRefused() throws IOException {
        for (String dict : new String[] {
                "{'descr': '<f4', 'shape': (1,), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ",
                "['descr']"}) {
            Path f = withHeader("m.npy", dict, 1, new byte[4]);
            String m = message(f);
            assertTrue(m.contains("header") || m.contains("keys"), m);
        }
    }

    @Test
    void missingFileSaysSo() {
        assertTrue(message(tmp.resolve("nope.npy")).contains("is missing"));
    }

    @Test
    void headerOnlyReadDoesNotNeedTheData() throws IOException {
        Path f = withHeader("t.npy", "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (10, 3)}", 1, new byte[0]);
        NpyHeader h = Npy.readHeader(f);
        assertEquals(NpyDtype.UINT8, h.dtype());
        assertArrayEquals(new long[] {10, 3}, h.shape());
        assertEquals(30, h.dataBytes());
    }
}
