package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NPY headers byte for byte: padding, the largest v1.0 header, strict reading and its edge cases. */
class NpyHeaderTest {
    @TempDir
    Path tmp;

    /** A file of the magic, version {@code major}.0, the header length and {@code dict} as is (no padding), then {@code data}. */
    private Path raw(String name, int major, String dict, Charset cs, long headerLen, byte[] data) throws IOException {
        byte[] d = dict.getBytes(cs);
        ByteBuffer b = ByteBuffer.allocate(12 + d.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(NpyHeader.MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) headerLen);
        } else {
            b.putInt((int) headerLen);
        }
        b.put(d).put(data);
        Path f = tmp.resolve(name);
        Files.write(f, Arrays.copyOf(b.array(), b.position()));
        return f;
    }

    private Path raw(String name, String dict) throws IOException {
        return raw(name, 1, dict, StandardCharsets.ISO_8859_1, dict.length(), new byte[0]);
    }

    /** What is wrong with {@code f}; the exception names the file it is about. */
    private static String problem(Path f) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.readHeader(f));
        assertEquals(f, e.file());
        return e.problem();
    }

    private static String dictOf(byte[] header) {
        return new String(header, 10, header.length - 10, StandardCharsets.US_ASCII).stripTrailing();
    }

    /** The data starts at the first multiple of 64 after magic, version, length, dict and '\n': never a whole block of padding. */
    @Test
    void headersArePaddedToTheNextMultipleOf64Only() {
        Set<Integer> residues = new HashSet<>();
        for (int ndim = 0; ndim <= 30; ndim++) {
            for (long first : new long[] {1, 10, 100}) {
                long[] shape = new long[ndim];
                Arrays.fill(shape, 1);
                if (ndim > 0) {
                    shape[0] = first;
                }
                NpyHeader h = NpyHeader.forWrite(NpyDtype.FLOAT32, shape);
                byte[] bytes = h.encode();
                assertEquals(h.dataOffset(), bytes.length);
                assertEquals(0, bytes.length % 64);
                int unpadded = 10 + dictOf(bytes).length() + 1;
                int padding = bytes.length - unpadded;
                assertTrue(padding >= 0 && padding < 64, "padding " + padding + " for " + Arrays.toString(shape));
                residues.add(unpadded % 64);
            }
        }
        assertTrue(residues.contains(0) && residues.contains(63), "the lengths that end exactly at a boundary were tried");
    }

    /** A v1.0 header holds up to 65,535 bytes after its first ten: 65,536 in all is the largest that encodes. */
    @Test
    void theLargestV10HeaderEncodesItsLengthLittleEndianAndReadsBack() throws IOException {
        // the fewest dimensions of 1 whose header needs 65,536 bytes (a binary search: the offset grows with ndim)
        int lo = 0;
        int hi = 30_000;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (NpyHeader.forWrite(NpyDtype.FLOAT32, ones(mid)).dataOffset() < 65_536) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        int ndim = lo;
        NpyHeader h = NpyHeader.forWrite(NpyDtype.FLOAT32, ones(ndim));
        assertEquals(65_536, h.dataOffset());
        byte[] bytes = h.encode();
        assertEquals((byte) 0xF6, bytes[8]);  // 65,526 = 0xFFF6
        assertEquals((byte) 0xFF, bytes[9]);
        Path f = tmp.resolve("big-header.npy");
        Files.write(f, Arrays.copyOf(bytes, bytes.length + 4));
        NpyHeader back = Npy.readHeader(f);
        assertEquals(h, back);
        assertEquals(ndim, back.ndim());

        int more = ndim;
        while (NpyHeader.forWrite(NpyDtype.FLOAT32, ones(more)).dataOffset() == 65_536) {
            more++;
        }
        NpyHeader tooBig = NpyHeader.forWrite(NpyDtype.FLOAT32, ones(more));
        assertEquals(65_600, tooBig.dataOffset());
        String m = assertThrows(IllegalStateException.class, tooBig::encode).getMessage();
        assertEquals("header of 65600 bytes does not fit NPY v1.0 at offset 65600", m);
    }

    private static long[] ones(int n) {
        long[] s = new long[n];
        Arrays.fill(s, 1);
        return s;
    }

    @Test
    void tenBytesAreEnoughToBeReadAsAHeaderNineAreNot() throws IOException {
        Path nine = tmp.resolve("nine.npy");
        Files.write(nine, Arrays.copyOf(NpyHeader.MAGIC, 9));
        assertEquals("is not a .npy file (9 bytes, shorter than an NPY header)", problem(nine));
        Path ten = raw("ten.npy", "");
        assertEquals(10, Files.size(ten));
        assertEquals("has a malformed header (ends before its header dict is complete)", problem(ten));
    }

    @Test
    void aHeaderLengthUpToOneMiBIsPlausible() throws IOException {
        Path mib = raw("mib.npy", 2, "{", StandardCharsets.ISO_8859_1, 1 << 20, new byte[0]);
        assertEquals("is truncated (the file ends inside its header)", problem(mib));
        Path more = raw("more.npy", 2, "{", StandardCharsets.ISO_8859_1, (1 << 20) + 1, new byte[0]);
        assertEquals("has an implausible header length of 1048577 bytes", problem(more));
    }

    /** Version 3.0 headers are UTF-8, earlier ones Latin-1: a dtype is quoted as it was written. */
    @Test
    void version3HeadersAreUtf8() throws IOException {
        String dict = "{'descr': '<f\u00e9', 'fortran_order': False, 'shape': (1,), }";
        int utf8 = dict.getBytes(StandardCharsets.UTF_8).length;
        Path v3 = raw("v3.npy", 3, dict, StandardCharsets.UTF_8, utf8, new byte[0]);
        assertTrue(problem(v3).startsWith("has unsupported dtype '<f\u00e9'"), problem(v3));
        Path v1 = raw("v1.npy", 1, dict, StandardCharsets.ISO_8859_1, dict.length(), new byte[0]);
        assertTrue(problem(v1).startsWith("has unsupported dtype '<f\u00e9'"), problem(v1));
    }

    @Test
    void aStructuredArrayNamesItsFields() throws IOException {
        Path f = raw("rec.npy", "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }");
        assertEquals("holds a structured array (descr [('a', '<f4'), ('b', '<i4')])", problem(f));
    }

    /** A one-dimensional array is the same in either order: fortran_order True is accepted for it. */
    @Test
    void fortranOrderIsOnlyRefusedForMoreThanOneDimension() throws IOException {
        NpyHeader h = Npy.readHeader(raw("f1.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }"));
        assertArrayEquals(new long[] {3}, h.shape());
        assertEquals("is in Fortran (column-major) order",
                problem(raw("f2.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1), }")));
    }

    /** Python allows whitespace around every token of the dict; so does the parser. */
    @Test
    void whitespaceAroundEveryTokenIsAllowed() throws IOException {
        NpyHeader h = Npy.readHeader(raw("ws.npy",
                "  {  'descr'  :  '<i4'  ,  'fortran_order'  :  False  ,  'shape'  :  (  2  ,  3  ,  )  ,  }  \n"));
        assertEquals(NpyDtype.INT32, h.dtype());
        assertArrayEquals(new long[] {2, 3}, h.shape());
        NpyHeader tight = Npy.readHeader(raw("tight.npy", "{'descr':'<i4','fortran_order':False,'shape':(2,3)}"));
        assertArrayEquals(new long[] {2, 3}, tight.shape());
    }

    @Test
    void aHeaderThatEndsInsideTheShapeIsMalformed() throws IOException {
        assertEquals("has a malformed header (ends before its header dict is complete)",
                problem(raw("cut.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (12")));
        assertEquals("has a malformed header (ends before its header dict is complete)",
                problem(raw("cut2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (")));
    }

    /** readFully stops at the end of the file and returns what it read, from where it was asked. */
    @Test
    void readFullyReadsFromItsPositionUntilTheEnd() throws IOException {
        Path f = tmp.resolve("ten.bin");
        Files.write(f, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4);
            assertEquals(2, NpyHeader.readFully(ch, b, 8));
            assertArrayEquals(new byte[] {8, 9, 0, 0}, b.array());
            ByteBuffer c = ByteBuffer.allocate(4);
            assertEquals(4, NpyHeader.readFully(ch, c, 3));
            assertArrayEquals(new byte[] {3, 4, 5, 6}, c.array());
            assertEquals(0, NpyHeader.readFully(ch, ByteBuffer.allocate(4), 10));
        }
    }

    @Test
    void headersAreEqualByDtypeShapeAndOffset() {
        NpyHeader h = new NpyHeader(NpyDtype.FLOAT32, new long[] {3, 4}, 128);
        NpyHeader same = new NpyHeader(NpyDtype.FLOAT32, new long[] {3, 4}, 128);
        assertEquals(h, same);
        assertEquals(h.hashCode(), same.hashCode());
        assertEquals("NpyHeader[<f4 (3, 4) at 128]", h.toString());
        assertEquals("NpyHeader[|u1 (7,) at 64]", new NpyHeader(NpyDtype.UINT8, new long[] {7}, 64).toString());
        NpyHeader[] others = {
            new NpyHeader(NpyDtype.INT32, new long[] {3, 4}, 128),
            new NpyHeader(NpyDtype.FLOAT32, new long[] {4, 3}, 128),
            new NpyHeader(NpyDtype.FLOAT32, new long[] {3, 4}, 192),
        };
        Set<Integer> hashes = new HashSet<>(Set.of(h.hashCode()));
        for (NpyHeader o : others) {
            assertNotEquals(h, o);
            assertNotEquals(o, h);
            hashes.add(o.hashCode());
        }
        assertEquals(4, hashes.size(), "headers that differ in any part hash apart");
        assertNotEquals(h, (Object) "NpyHeader[<f4 (3, 4) at 128]");
    }

    @Test
    void writesReturnTheCrc32cOfTheirData() {
        Path ints = tmp.resolve("i.npy");
        long crc = Npy.writeInts(ints, new int[] {1, -2, 3});
        CRC32C ref = new CRC32C();
        ref.update(new byte[] {1, 0, 0, 0, (byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 3, 0, 0, 0});
        assertEquals(ref.getValue(), crc);
        Path bytes = tmp.resolve("b.npy");
        crc = Npy.writeBytes(bytes, new byte[] {5, 6, 7}, 3);
        ref.reset();
        ref.update(new byte[] {5, 6, 7});
        assertEquals(ref.getValue(), crc);
    }

    /** A heap segment of ints (no byte buffer view) checksums like its bytes. */
    @Test
    void theCrcOfAnIntArrayIsTheCrcOfItsBytes() {
        int[] values = {1, -2, 3, Integer.MAX_VALUE};
        MemorySegment le = Npy.littleEndian(values);
        assertEquals(Npy.crc32c(le), Npy.crc32c(MemorySegment.ofArray(le.toArray(ValueLayout.JAVA_BYTE))));
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            assertEquals(Npy.crc32c(le), Npy.crc32c(MemorySegment.ofArray(values)));
        }
        float[] floats = {1.5f, -0.25f};
        CRC32C ref = new CRC32C();
        ref.update(MemorySegment.ofArray(floats).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(ref.getValue(), Npy.crc32c(MemorySegment.ofArray(floats)));
    }

    /** Data longer than one 64 MiB chunk is checksummed to its last byte. */
    @Test
    void theCrcCoversDataPastTheFirstChunk() {
        long size = (64L << 20) + 3;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(size);
            s.fill((byte) 7);
            s.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
            CRC32C ref = new CRC32C();
            ref.update(s.asByteBuffer());
            assertEquals(ref.getValue(), Npy.crc32c(s));
            s.set(ValueLayout.JAVA_BYTE, size - 2, (byte) 2);
            assertNotEquals(ref.getValue(), Npy.crc32c(s));
        }
    }
}
