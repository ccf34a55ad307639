package io.blocksim.store;

import io.blocksim.FileAccessException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Re-reads every file a store's manifest names and recomputes its CRC32C ({@code blocksim
 * verify}): every byte of every file is checked (an npy file's header against the exact bytes
 * blocksim writes, its data against the manifest's CRC32C; a text file's bytes against its CRC32C).
 * Files are read through a small buffer, not mapped, so a store larger than memory verifies too and
 * a file truncated while it is read is a problem, not a fault. Problems are collected, not thrown, so one run names every bad file; only a
 * missing or unreadable manifest is an error.
 */
public final class StoreVerifier {
    private StoreVerifier() {
    }

    /** One bad file: its path inside the store and what is wrong with it. */
    public record Problem(String file, String message) {
        @Override
        public String toString() {
            return file + ": " + message;
        }
    }

    /** What was checked and what was wrong; {@link #ok()} when nothing. */
    public record Result(Path dir, int filesChecked, long bytesChecked, List<Problem> problems) {
        public Result {
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /** Told about each file before it is checked (for a progress bar over {@code bytes}). */
    public interface Progress {
        void file(String name, long bytes);
    }

    /**
     * Checks every file of the store at {@code dir}; see {@link #verify(Path, Progress)}.
     *
     * @throws StoreNotFoundException when there is no store at {@code dir}
     * @throws StoreDamagedException when its manifest is damaged (bad files are problems, not
     *     exceptions)
     * @throws StoreIncompatibleException for a store of another format version
     * @throws FileAccessException when the manifest cannot be read
     */
    public static Result verify(Path dir) {
        return verify(dir, (name, bytes) -> { });
    }

    /**
     * Checks every file of the store at {@code dir}, telling {@code progress} about each before it
     * is read. An incomplete store is a problem, not an exception.
     *
     * @throws StoreNotFoundException when there is no store at {@code dir}
     * @throws StoreDamagedException when its manifest is damaged
     * @throws StoreIncompatibleException for a store of another format version
     * @throws FileAccessException when the manifest cannot be read
     */
    public static Result verify(Path dir, Progress progress) {
        Manifest m = Manifest.read(dir);
        Checker c = new Checker(dir, progress);
        if (!m.complete()) {
            c.problems.add(new Problem(Manifest.FILE, "the store is incomplete: " + m.shardsDone() + " of "
                    + m.shardsTotal() + " shards are extracted; run the same extraction again to resume it"));
        }
        if (m.strings() != null) {
            c.npy(m.strings().file(), m.strings().crc32c(), NpyDtype.UINT8, m.stringCount(), m.stringLength());
        }
        if (m.labels() != null) {
            c.raw(m.labels().file(), m.labels().crc32c());
        }
        for (Manifest.PrefixIndexFile p : m.prefixIndexes()) {
            c.npy(p.file(), p.crc32c(), NpyDtype.INT32, p.rows());
        }
        for (Manifest.Entry e : m.entries()) {
            for (Manifest.Shard s : e.shards()) {
                c.npy(s.file(), s.crc32c(), NpyDtype.FLOAT32, s.rows(), e.dim());
                c.npy(s.norms(), s.normsCrc32c(), NpyDtype.FLOAT32, s.rows());
                if (s.codes() != null) {
                    c.npy(s.codes().file(), s.codes().crc32c(), NpyDtype.INT8, s.rows(), e.dim());
                    c.npy(s.codes().scales(), s.codes().scalesCrc32c(), NpyDtype.FLOAT32, s.rows(), RowCodes.SCALE_COLUMNS);
                }
            }
        }
        return new Result(dir, c.files, c.bytes, c.problems);
    }

    /**
     * Bytes read per step. Files are read through a buffer of this size, never mapped, so a file
     * truncated while it is verified is reported as such instead of faulting the JVM; package-private
     * so a test can make it smaller than a file and prove every byte is covered.
     */
    static int chunk = 1 << 20;

    private static final class Checker {
        private final Path dir;
        private final Progress progress;
        private final List<Problem> problems = new ArrayList<>();
        private int files;
        private long bytes;

        Checker(Path dir, Progress progress) {
            this.dir = dir;
            this.progress = progress;
        }

        /**
         * An npy file: its header must be byte for byte the one blocksim writes for the manifest's
         * dtype and shape, its size exactly header plus data, and its data's CRC32C the manifest's:
         * so every byte of the file is checked.
         */
        void npy(String name, String crc, NpyDtype dtype, long... shape) {
            Path file = dir.resolve(name);
            files++;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                progress.file(name, size);
                NpyHeader h = NpyHeader.read(ch, file);
                if (h.dtype() != dtype || !Arrays.equals(h.shape(), shape)) {
                    problems.add(new Problem(name, "holds " + h.dtype().numpyName() + " " + h.shapeString()
                            + " but the manifest says " + dtype.numpyName() + " " + NpyHeader.forWrite(dtype, shape).shapeString()
                            + "; extract the store again"));
                    return;
                }
                Npy.checkSize(file, h, size);
                byte[] want = NpyHeader.forWrite(dtype, shape).encode();
                ByteBuffer have = ByteBuffer.allocate((int) Math.min(h.dataOffset(), want.length + 1L));
                int n = NpyHeader.readFully(ch, have, 0);
                int diff = Arrays.mismatch(want, Arrays.copyOf(have.array(), n));
                if (diff >= 0 || h.dataOffset() != want.length) {
                    problems.add(new Problem(name, "has a header that differs from the one blocksim writes for "
                            + dtype.numpyName() + " " + h.shapeString() + " (at byte " + Math.max(diff, 0)
                            + "): the file changed after it was written; extract the store again"));
                    return;
                }
                bytes += h.dataOffset();
                compare(name, crc, ch, h.dataOffset(), size);
            } catch (NpyFormatException e) {
                problems.add(new Problem(name, e.problem() + "; extract the store again"));
            } catch (NoSuchFileException e) {
                problems.add(new Problem(name, "is missing; extract the store again"));
            } catch (IOException e) {
                problems.add(new Problem(name, "cannot be read (" + e.getMessage() + ")"));
            }
        }

        void raw(String name, String crc) {
            Path file = dir.resolve(name);
            files++;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                progress.file(name, size);
                compare(name, crc, ch, 0, size);
            } catch (NoSuchFileException e) {
                problems.add(new Problem(name, "is missing; import the store again"));
            } catch (IOException e) {
                problems.add(new Problem(name, "cannot be read (" + e.getMessage() + ")"));
            }
        }

        /** CRC32C of bytes [from, end) of {@code ch}, read {@link #chunk} at a time, against {@code crc}. */
        private void compare(String name, String crc, FileChannel ch, long from, long end) throws IOException {
            CRC32C c = new CRC32C();
            ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(chunk, Math.max(1, end - from)));
            long at = from;
            while (at < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - at));
                int n = NpyHeader.readFully(ch, buf, at);
                if (n < buf.limit()) {
                    problems.add(new Problem(name, "shrank to " + (at + n) + " bytes while it was verified (" + end
                            + " before): something is writing to the store; verify it again when it is done"));
                    return;
                }
                buf.flip();
                c.update(buf);
                at += n;
            }
            bytes += end - from;
            String actual = Npy.hex(c.getValue());
            if (!actual.equals(crc)) {
                problems.add(new Problem(name, "checksum mismatch (CRC32C " + actual + ", the manifest says " + crc
                        + "): the file changed after it was written; extract or import the store again"));
            }
        }

    }
}
