package io.blocksim.store;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Reading and writing NPY files. Reads map the data with {@code FileChannel.map(..., arena)}, so
 * a shard costs no heap and is unmapped when its arena closes; writes go through a temp file and
 * an atomic rename ({@link NpyFileWriter}).
 */
public final class Npy {
    /** Element layouts of NPY data: little-endian whatever the platform, as the format says. */
    public static final ValueLayout.OfFloat FLOAT32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt INT32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong INT64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfByte UINT8 = ValueLayout.JAVA_BYTE;

    private static final long CRC_CHUNK = 1L << 26;

    private Npy() {
    }

    /**
     * Reads and checks the header only (the data is neither read nor size-checked).
     *
     * @throws NpyFormatException (an {@link io.blocksim.InvalidDataException}) when the file is
     *     missing or its header is not one blocksim reads
     * @throws io.blocksim.FileAccessException when the file cannot be read
     */
    public static NpyHeader readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return NpyHeader.read(ch, file);
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw FileOps.io("read", file, e);
        }
    }

    /**
     * Maps {@code file} read-only in {@code arena}. The file must hold exactly the bytes its header
     * promises: shorter is "truncated", longer is damage too.
     *
     * @throws NpyFormatException (an {@link io.blocksim.InvalidDataException}) when the file is
     *     missing, truncated, longer than its header says, or not an npy file blocksim reads
     * @throws io.blocksim.FileAccessException when the file cannot be read or mapped
     */
    public static NpyArray map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            NpyHeader h = NpyHeader.read(ch, file);
            checkSize(file, h, ch.size());
            if (h.dataOffset() % h.dtype().size() != 0) {
                throw new NpyFormatException(file, "has its data at byte " + h.dataOffset()
                        + ", not aligned to its " + h.dtype().size() + "-byte elements", "re-save it with numpy.save");
            }
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, h.dataOffset(), h.dataBytes(), arena);
            return new NpyArray(file, h, data);
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw FileOps.io("map", file, e);
        }
    }

    static void checkSize(Path file, NpyHeader h, long fileSize) {
        long expected = h.dataOffset() + h.dataBytes();
        if (fileSize < expected) {
            throw new NpyFormatException(file, "is truncated: its header says " + h.dtype().numpyName() + " "
                    + h.shapeString() + " (" + expected + " bytes with the header) but the file holds " + fileSize
                    + " bytes", "re-create it (a write was cut short)");
        }
        if (fileSize > expected) {
            throw new NpyFormatException(file, "is longer than its header says: " + fileSize + " bytes, expected "
                    + expected + " for " + h.dtype().numpyName() + " " + h.shapeString(), "re-create it");
        }
    }

    static NpyFormatException missing(Path file) {
        return new NpyFormatException(file, "is missing", "check the path");
    }

    /** Writes a whole array ({@code data}: its bytes, little-endian) atomically; returns the CRC32C of its data. */
    public static long write(Path file, NpyDtype dtype, long[] shape, MemorySegment data) {
        try (NpyFileWriter w = NpyFileWriter.create(file, dtype, shape)) {
            if (data.byteSize() != w.data().byteSize()) {
                throw new IllegalArgumentException("data holds " + data.byteSize() + " bytes; " + dtype.numpyName()
                        + " " + w.header().shapeString() + " needs " + w.data().byteSize());
            }
            MemorySegment.copy(data, 0, w.data(), 0, data.byteSize());
            return w.finish();
        }
    }

    public static long writeInts(Path file, int[] values) {
        return write(file, NpyDtype.INT32, new long[] {values.length}, littleEndian(values));
    }

    public static long writeFloats(Path file, float[] values, long... shape) {
        return write(file, NpyDtype.FLOAT32, shape, littleEndian(values));
    }

    /** The bytes of {@code values} as NPY stores them (little-endian, whatever the platform's order). */
    static MemorySegment littleEndian(int[] values) {
        MemorySegment out = MemorySegment.ofArray(new byte[values.length * Integer.BYTES]);
        MemorySegment.copy(MemorySegment.ofArray(values), ValueLayout.JAVA_INT, 0, out,
                ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
        return out;
    }

    static MemorySegment littleEndian(float[] values) {
        MemorySegment out = MemorySegment.ofArray(new byte[values.length * Float.BYTES]);
        MemorySegment.copy(MemorySegment.ofArray(values), ValueLayout.JAVA_FLOAT, 0, out,
                ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
        return out;
    }

    public static long writeBytes(Path file, byte[] values, long... shape) {
        return write(file, NpyDtype.UINT8, shape, MemorySegment.ofArray(values));
    }

    /** CRC32C of a segment's bytes; on mapped or native memory this runs the CPU's CRC instruction. */
    public static long crc32c(MemorySegment data) {
        CRC32C crc = new CRC32C();
        for (long off = 0; off < data.byteSize(); off += CRC_CHUNK) {
            long n = Math.min(CRC_CHUNK, data.byteSize() - off);
            MemorySegment chunk = data.asSlice(off, n);
            // heap segments of non-byte arrays have no ByteBuffer view: copy those (small) ones
            crc.update(chunk.isNative() || chunk.heapBase().orElse(null) instanceof byte[]
                    ? chunk.asByteBuffer() : java.nio.ByteBuffer.wrap(chunk.toArray(ValueLayout.JAVA_BYTE)));
        }
        return crc.getValue();
    }

    /** A CRC32C as the manifest writes it: 8 lower-case hex digits. */
    public static String hex(long crc) {
        return String.format("%08x", crc & 0xFFFFFFFFL);
    }
}
