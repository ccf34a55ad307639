package io.blocksim.store;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A .npy file filled in place: {@link #create} writes the header to a temp file beside the
 * target, sizes it and maps the data read-write; the caller fills {@link #data()} (an extractor
 * lets ONNX Runtime write its outputs straight in); {@link #finish()} flushes, checksums and
 * renames it to the target. Until then the target name never holds a partial file, and
 * {@link #close()} without finish deletes the temp file.
 *
 * <p>The mapping lives in this writer's own shared arena (several threads may fill it) and is
 * unmapped by finish or close. The caller fsyncs the target's directory once per batch of files.
 */
public final class NpyFileWriter implements AutoCloseable {
    /** Suffix of files being written; a reader never accepts them, a resuming writer deletes them. */
    public static final String TEMP_SUFFIX = ".tmp";

    private final Path target;
    private final Path temp;
    private final NpyHeader header;
    private final Arena arena;
    private final FileChannel channel;
    private final MemorySegment data;
    private boolean done;

    private NpyFileWriter(Path target, Path temp, NpyHeader header, Arena arena, FileChannel channel, MemorySegment data) {
        this.target = target;
        this.temp = temp;
        this.header = header;
        this.arena = arena;
        this.channel = channel;
        this.data = data;
    }

    public static NpyFileWriter create(Path target, NpyDtype dtype, long... shape) {
        NpyHeader h = NpyHeader.forWrite(dtype, shape);
        Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        Arena arena = Arena.ofShared();
        FileChannel ch = null;
        try {
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            ByteBuffer hb = ByteBuffer.wrap(h.encode());
            while (hb.hasRemaining()) {
                ch.write(hb, hb.position());
            }
            long total = h.dataOffset() + h.dataBytes();
            if (total > h.dataOffset()) {
                // size the file now: mapping past the end would grow it too, but an explicit size
                // makes a short file impossible even if the caller fills nothing
                ch.write(ByteBuffer.wrap(new byte[1]), total - 1);
            }
            MemorySegment data = ch.map(FileChannel.MapMode.READ_WRITE, h.dataOffset(), h.dataBytes(), arena);
            return new NpyFileWriter(target, temp, h, arena, ch, data);
        } catch (IOException e) {
            arena.close();
            closeQuietly(ch);
            deleteQuietly(temp);
            throw FileOps.io("create", temp, e);
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

    /** The data region, mapped read-write, {@code header().dataBytes()} long; invalid after finish or close. */
    public MemorySegment data() {
        return data;
    }

    /**
     * Flushes the data and header to disk, computes the data's CRC32C, unmaps, and renames the
     * temp file to the target. Returns the CRC32C.
     */
    public long finish() {
        if (done) {
            throw new IllegalStateException(target + " already finished or closed");
        }
        try {
            data.force();
            long crc = Npy.crc32c(data);
            arena.close();
            channel.force(true);
            channel.close();
            FileOps.atomicMove(temp, target);
            done = true;
            return crc;
        } catch (IOException e) {
            close();
            throw FileOps.io("write", target, e);
        }
    }

    /** Abandons an unfinished file: unmaps it and deletes the temp file. No-op after finish. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        if (arena.scope().isAlive()) {
            arena.close();
        }
        closeQuietly(channel);
        deleteQuietly(temp);
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
