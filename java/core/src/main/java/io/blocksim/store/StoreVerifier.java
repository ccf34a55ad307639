package io.blocksim.store;

import io.blocksim.FileAccessException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Re-reads every file a store's manifest names and recomputes its CRC32C ({@code blocksim
 * verify}). Each file is mapped on its own and unmapped when checked, so a store larger than
 * memory verifies too. Problems are collected, not thrown, so one run names every bad file; only a
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
            }
        }
        return new Result(dir, c.files, c.bytes, c.problems);
    }

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

        void npy(String name, String crc, NpyDtype dtype, long... shape) {
            Path file = dir.resolve(name);
            files++;
            try (Arena arena = Arena.ofConfined()) {
                NpyArray a = Npy.map(file, arena);
                progress.file(name, a.data().byteSize());
                if (a.dtype() != dtype || !Arrays.equals(a.shape(), shape)) {
                    problems.add(new Problem(name, "holds " + a.dtype().numpyName() + " " + a.header().shapeString()
                            + " but the manifest says " + dtype.numpyName() + " " + NpyHeader.forWrite(dtype, shape).shapeString()
                            + "; extract the store again"));
                    return;
                }
                compare(name, crc, a.data());
            } catch (NpyFormatException e) {
                problems.add(new Problem(name, e.problem() + "; extract the store again"));
            } catch (FileAccessException e) {
                problems.add(new Problem(name, e.getMessage()));
            }
        }

        void raw(String name, String crc) {
            Path file = dir.resolve(name);
            files++;
            try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                progress.file(name, ch.size());
                compare(name, crc, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            } catch (NoSuchFileException e) {
                problems.add(new Problem(name, "is missing; import the store again"));
            } catch (IOException e) {
                problems.add(new Problem(name, "cannot be read (" + e.getMessage() + ")"));
            }
        }

        private void compare(String name, String crc, MemorySegment data) {
            String actual = Npy.hex(Npy.crc32c(data));
            bytes += data.byteSize();
            if (!actual.equals(crc)) {
                problems.add(new Problem(name, "checksum mismatch (CRC32C " + actual + ", the manifest says " + crc
                        + "): the file changed after it was written; extract or import the store again"));
            }
        }
    }
}
