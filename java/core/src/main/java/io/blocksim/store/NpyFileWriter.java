package io.blocksim.store;

import com.sun.nio.file.ExtendedOpenOption;
import io.blocksim.FileAccessException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A .npy file filled in memory and written whole: {@link #create} creates a temp file beside the
 * target and hands out a data buffer in native memory; the caller fills {@link #data()} (an
 * extractor copies ONNX Runtime's outputs straight in); {@link #write()} writes header and data to
 * the temp file with large positional writes; {@link #makeDurable()} fsyncs it and renames it to
 * the target ({@link #finish()} does all three and returns the CRC32C). Until then the target name
 * never holds a partial file, and {@link #close()} without finish deletes the temp file.
 *
 * <p>Why not a read-write mapping of the file, as before: filling a fresh mapping of a sparse file
 * takes one page fault per 4 KiB page with the page cache's bookkeeping in each, and writing the
 * dirty pages back then ran at a third of the disk's speed; together a fifth of an extraction's
 * CPU time went to the kernel, and the cores waited for {@code force}. Here the file is written
 * with direct I/O ({@code O_DIRECT}: from the buffer to the disk, no copy into the page cache)
 * where the file system allows it, and with buffered writes elsewhere (tmpfs, say). The header
 * lies in the buffer just before the data, so that header and data go out as one aligned run.
 *
 * <p>The buffer is either the writer's own (freed by {@link #write()} or {@link #close()}) or the
 * caller's ({@link #create(Path, NpyDtype, MemorySegment, long...)}: zeroed here, never freed here,
 * so a store writer can reuse it for every shard). Several threads may fill the data; the other
 * methods are for one thread at a time, which need not be the thread that created the writer.
 */
public final class NpyFileWriter implements AutoCloseable {
    /** Suffix of files being written; a reader never accepts them, a resuming writer deletes them. */
    public static final String TEMP_SUFFIX = ".tmp";

    /**
     * Alignment of buffers, file offsets and lengths for direct I/O: a multiple of every block
     * size in use (512 and 4096).
     */
    public static final int DIRECT_ALIGN = 4096;

    /** Bytes per write call: a multiple of {@link #DIRECT_ALIGN}, below 2 GiB. */
    private static final long WRITE_CHUNK = 64L << 20;

    private final Path target;
    private final Path temp;
    private final NpyHeader header;
    private final Arena arena; // null when the buffer is the caller's
    private final FileChannel channel;
    private final MemorySegment file; // header and data, as the file holds them
    private final MemorySegment data;
    private boolean written;
    private boolean done;

    private NpyFileWriter(Path target, Path temp, NpyHeader header, Arena arena, FileChannel channel, MemorySegment file) {
        this.target = target;
        this.temp = temp;
        this.header = header;
        this.arena = arena;
        this.channel = channel;
        this.file = file;
        this.data = file.asSlice(header.dataOffset(), header.dataBytes());
    }

    /**
     * A writer with a zeroed buffer of its own.
     *
     * @throws FileAccessException when the temp file cannot be created, the disk has too little
     *     space for the file or there is no memory for its buffer
     * @throws IllegalArgumentException for a shape whose size overflows
     */
    public static NpyFileWriter create(Path target, NpyDtype dtype, long... shape) {
        return open(target, NpyHeader.forWrite(dtype, shape), null);
    }

    /**
     * The bytes a buffer for {@link #create(Path, NpyDtype, MemorySegment, long...)} needs: header
     * and data of a file of this dtype and shape.
     */
    public static long bufferBytes(NpyDtype dtype, long... shape) {
        NpyHeader h = NpyHeader.forWrite(dtype, shape);
        return h.dataOffset() + h.dataBytes();
    }

    /**
     * A writer whose header and data lie at the start of {@code buffer} ({@link #bufferBytes} of
     * them), which it zeroes; the caller keeps the buffer alive until {@link #write()} or
     * {@link #close()} has returned and may reuse it afterwards. A buffer aligned to
     * {@link #DIRECT_ALIGN} is written with direct I/O where the file system allows it.
     *
     * @throws IllegalArgumentException when the buffer is too small
     * @throws FileAccessException when the temp file cannot be created or the disk has too little
     *     space for the file
     */
    public static NpyFileWriter create(Path target, NpyDtype dtype, MemorySegment buffer, long... shape) {
        NpyHeader h = NpyHeader.forWrite(dtype, shape);
        if (buffer.byteSize() < h.dataOffset() + h.dataBytes()) {
            throw new IllegalArgumentException("buffer of " + buffer.byteSize() + " bytes for a file of "
                    + (h.dataOffset() + h.dataBytes()) + " bytes");
        }
        return open(target, h, buffer);
    }

    private static NpyFileWriter open(Path target, NpyHeader h, MemorySegment buffer) {
        Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        long total = h.dataOffset() + h.dataBytes();
        FileChannel ch = null;
        Arena arena = null;
        try {
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
            long free = FileOps.usableSpace(temp.getParent());
            if (total > free) {
                throw new IOException("it needs " + FileOps.bytes(total) + ", " + FileOps.bytes(free) + " are free");
            }
            MemorySegment file;
            if (buffer == null) {
                arena = Arena.ofShared();
                file = arena.allocate(total, DIRECT_ALIGN); // zeroed
            } else {
                file = buffer.asSlice(0, total);
                file.fill((byte) 0);
            }
            MemorySegment.copy(MemorySegment.ofArray(h.encode()), 0, file, 0, h.dataOffset());
            return new NpyFileWriter(target, temp, h, arena, ch, file);
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            if (arena != null) {
                arena.close();
            }
            closeQuietly(ch);
            deleteQuietly(temp);
            if (e instanceof IOException io) {
                throw FileOps.io("create", temp, io);
            }
            if (e instanceof OutOfMemoryError) {
                throw FileOps.io("create", temp, new IOException("no memory for a buffer of " + FileOps.bytes(total)));
            }
            throw (RuntimeException) e;
        }
    }

    public Path target() {
        return target;
    }

    public Path tempFile() {
        return temp;
    }

    public NpyHeader header() {
        return header;
    }

    /** The data buffer, {@code header().dataBytes()} long; not to be used after write or close. */
    public MemorySegment data() {
        return data;
    }

    /** The CRC32C of the data, as the manifest records it; before {@link #write()}. */
    public long crc32c() {
        if (written || done) {
            throw new IllegalStateException(target + " already written, finished or closed");
        }
        return Npy.crc32c(data);
    }

    /**
     * Writes header and data to the temp file (direct I/O where the file system allows it and the
     * buffer is aligned; nothing is durable yet) and frees the writer's own buffer.
     *
     * @throws FileAccessException when the file cannot be written (the temp file is deleted)
     * @throws IllegalStateException when already written, finished or closed
     */
    public void write() {
        if (written || done) {
            throw new IllegalStateException(target + " already written, finished or closed");
        }
        try {
            long direct = writeDirect();
            for (long off = direct; off < file.byteSize(); off += WRITE_CHUNK) {
                writeFully(channel, file.asSlice(off, Math.min(WRITE_CHUNK, file.byteSize() - off)).asByteBuffer(), off);
            }
            written = true;
            if (arena != null) {
                arena.close();
            }
        } catch (IOException e) {
            close();
            throw FileOps.io("write", temp, e);
        }
    }

    /**
     * Writes the file's whole aligned blocks with direct I/O and returns how many bytes that was:
     * 0 when the buffer is not aligned or the file system refuses direct I/O (the caller writes
     * them buffered).
     */
    private long writeDirect() throws IOException {
        long aligned = file.byteSize() / DIRECT_ALIGN * DIRECT_ALIGN;
        if (aligned == 0 || file.address() % DIRECT_ALIGN != 0) {
            return 0;
        }
        FileChannel d;
        try {
            long block = Files.getFileStore(temp).getBlockSize();
            if (block <= 0 || DIRECT_ALIGN % block != 0) {
                return 0; // a file system with larger blocks (some network ones): buffered writes
            }
            d = FileChannel.open(temp, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return 0; // tmpfs and some others: buffered writes
        }
        try (d) {
            for (long off = 0; off < aligned; off += WRITE_CHUNK) {
                writeFully(d, file.asSlice(off, Math.min(WRITE_CHUNK, aligned - off)).asByteBuffer(), off);
            }
        } catch (IOException e) {
            return 0; // refused part way (an alignment this file system wants): the buffered writes redo it all,
                      // and a real error (a full disk) comes back from them
        }
        return aligned;
    }

    /**
     * Fsyncs the written temp file, closes it and renames it to the target. May run on another
     * thread than {@link #write()} (one thread at a time).
     *
     * @throws FileAccessException when the file cannot be synced or renamed (the temp file is deleted)
     * @throws IllegalStateException before {@link #write()}, or when already finished or closed
     */
    public void makeDurable() {
        if (!written || done) {
            throw new IllegalStateException(target + (written ? " already finished or closed" : " not written yet"));
        }
        try {
            channel.force(true);
            channel.close();
            FileOps.atomicMove(temp, target);
            done = true;
        } catch (IOException e) {
            close();
            throw FileOps.io("write", target, e);
        }
    }

    /**
     * Writes the file and makes it durable under the target name. Returns the data's CRC32C.
     *
     * @throws FileAccessException when the file cannot be written, synced or renamed
     */
    public long finish() {
        long crc = crc32c();
        write();
        makeDurable();
        return crc;
    }

    /** Abandons an unfinished file: frees its own buffer and deletes the temp file. No-op after finish. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
        closeQuietly(channel);
        deleteQuietly(temp);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long pos = position;
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing useful to do while cleaning up
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover temp file is deleted when the store is next resumed
        }
    }
}
