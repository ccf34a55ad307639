package io.blocksim.similars;

import io.blocksim.StoreException;
import io.blocksim.TargetExistsException;
import io.blocksim.store.FileOps;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyDtype;
import io.blocksim.store.NpyFileWriter;
import io.blocksim.store.NpyHeader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a results folder the way the store is written, so a killed job resumes where it stopped
 * and a reader never accepts half a file.
 *
 * <p>Order of writes: {@code sample.npy} (temp then rename), then {@code manifest.json} naming
 * every entry as incomplete. An entry's rows go into {@code <file>.part} files (npy, full size from
 * the start) one query block at a time: each block is forced to disk before the manifest, replaced
 * atomically, raises the entry's {@code queries_done}; so after a kill -9 the manifest never counts
 * a row that is not on disk. The last block renames the part files to their final names and only
 * then marks the entry complete. On resume, parts of an entry are trusted up to {@code
 * queries_done}, and parts that are missing or of another shape restart that entry.
 *
 * <p>One writer per folder at a time (a file lock on {@code .lock}). Not thread-safe: one thread
 * writes.
 */
public final class ResultsWriter implements AutoCloseable {
    static final String LOCK_FILE = ".lock";
    static final String PART = ".part";
    /** The files a results folder may hold: what --force may delete, and nothing else. */
    private static final Pattern OWN_FILE = Pattern.compile(
            "(manifest\\.json|sample\\.npy|[a-z][a-z0-9_]*-(b\\d+-t\\d+|all)\\.(ids|scores)\\.npy(\\.part)?)(\\.tmp)?|\\.lock");

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private ResultsManifest manifest;
    private FileChannel ids;
    private FileChannel scores;
    private int openEntry = -1;
    private long idsOffset;
    private long scoresOffset;

    private ResultsWriter(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Creates the results folder {@code dir} for {@code want} (its entries all incomplete) and
     * {@code sample}, or opens it to resume when it holds results of the same store, sample, k,
     * metric and entries. {@code force} deletes earlier results first (only files a results folder
     * holds). Nothing is written or deleted before every check has passed.
     *
     * @throws TargetExistsException when {@code dir} is a file, a non-empty folder of other files,
     *     or (without {@code force}) results of other parameters or another store
     * @throws StoreException when another process is writing the folder
     * @throws io.blocksim.StoreDamagedException (without force) a damaged manifest
     * @throws io.blocksim.FileAccessException when a file cannot be written
     */
    public static ResultsWriter open(Path dir, ResultsManifest want, int[] sample, boolean force) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new TargetExistsException(dir + " is a file: choose a folder for the results");
        }
        boolean has = Files.exists(dir.resolve(ResultsManifest.FILE));
        if (Files.isDirectory(dir) && !has && !onlyOwnFiles(dir)) {
            throw new TargetExistsException(dir + " is not empty and holds no similar-strings results: write them into a"
                    + " new or empty folder");
        }
        if (has && force && !onlyOwnFiles(dir)) {
            throw new TargetExistsException(dir + " holds other files besides results: nothing was deleted; choose a new"
                    + " folder");
        }
        ResultsManifest old = null;
        if (has && !force) {
            old = ResultsManifest.read(dir);
            String diff = want.differenceFrom(old);
            if (diff != null) {
                throw new TargetExistsException("results " + dir + " were made for " + diff + ": resume with the same"
                        + " parameters, choose another folder, or force a fresh start (deletes those results)");
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw FileOps.io("create", dir, e);
        }
        FileChannel ch = null;
        FileLock lock;
        try {
            ch = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            closeQuietly(ch);
            throw FileOps.io("lock", dir.resolve(LOCK_FILE), e);
        }
        if (lock == null) {
            closeQuietly(ch);
            throw new StoreException("results " + dir + " are being written by another blocksim process: wait for it"
                    + " to finish");
        }
        ResultsWriter w = new ResultsWriter(dir, ch, lock);
        try {
            w.start(old, want, sample, has && force);
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void start(ResultsManifest old, ResultsManifest want, int[] sample, boolean wipe) {
        if (wipe) {
            deleteOwnFiles();
        }
        if (old != null) {
            manifest = old;
            return;
        }
        Npy.writeInts(dir.resolve(ResultsManifest.SAMPLE_FILE), sample);
        FileOps.fsyncDir(dir);
        manifest = want;
        manifest.write(dir);
    }

    /** The manifest as it stands (progress included). */
    public ResultsManifest manifest() {
        return manifest;
    }

    public Path dir() {
        return dir;
    }

    /**
     * How many sample rows of entry {@code i} a {@link #resume} would keep: n when complete, its
     * {@code queries_done} when both part files are there in their shape, else 0. Changes nothing.
     */
    public int usable(int i) {
        ResultsManifest.Entry e = manifest.entries().get(i);
        if (e.complete()) {
            return manifest.sampleSize();
        }
        return e.queriesDone() > 0 && shapeOk(dir.resolve(e.ids() + PART), NpyDtype.INT32)
                && shapeOk(dir.resolve(e.scores() + PART), NpyDtype.FLOAT32) ? e.queriesDone() : 0;
    }

    /**
     * How many sample rows of entry {@code i} are on disk, after opening its part files: 0 when
     * they are missing or of another shape (the entry starts over), n when it is complete.
     */
    public int resume(int i) {
        ResultsManifest.Entry e = manifest.entries().get(i);
        if (e.complete()) {
            return manifest.sampleSize();
        }
        closeEntry();
        Path pi = dir.resolve(e.ids() + PART);
        Path ps = dir.resolve(e.scores() + PART);
        int done = e.queriesDone();
        if (done > 0 && !(shapeOk(pi, NpyDtype.INT32) && shapeOk(ps, NpyDtype.FLOAT32))) {
            done = 0;
        }
        if (done == 0) {
            createPart(pi, NpyDtype.INT32);
            createPart(ps, NpyDtype.FLOAT32);
        }
        try {
            ids = FileChannel.open(pi, StandardOpenOption.WRITE);
            scores = FileChannel.open(ps, StandardOpenOption.WRITE);
            idsOffset = Npy.readHeader(pi).dataOffset();
            scoresOffset = Npy.readHeader(ps).dataOffset();
        } catch (IOException ex) {
            throw FileOps.io("open", pi, ex);
        }
        openEntry = i;
        if (done != e.queriesDone()) {
            manifest = manifest.withEntry(i, e.progress(done, false));
            manifest.write(dir);
        }
        return done;
    }

    private boolean shapeOk(Path p, NpyDtype dtype) {
        try {
            NpyHeader h = Npy.readHeader(p);
            return h.dtype() == dtype && java.util.Arrays.equals(h.shape(), new long[] {manifest.sampleSize(), manifest.k()})
                    && Files.size(p) == h.dataOffset() + h.dataBytes();
        } catch (RuntimeException | IOException e) {
            return false;  // missing or unreadable: the entry starts over
        }
    }

    private void createPart(Path p, NpyDtype dtype) {
        try (NpyFileWriter w = NpyFileWriter.create(p, dtype, manifest.sampleSize(), manifest.k())) {
            w.finish();  // a full-size file of zeros (sparse), header first
        }
    }

    /**
     * Writes sample rows {@code [first, first + ids.length)} of entry {@code i} (opened with
     * {@link #resume}), forces them to disk, then records them in the manifest; the block that
     * ends the sample renames the files into place and marks the entry complete.
     *
     * @throws IllegalStateException when {@code first} is not where the entry stands
     */
    public void write(int i, int first, int[][] rowIds, float[][] rowScores) {
        ResultsManifest.Entry e = manifest.entries().get(i);
        if (openEntry != i || first != e.queriesDone() || e.complete()) {
            throw new IllegalStateException("entry " + i + " stands at " + e.queriesDone() + ", not " + first);
        }
        int k = manifest.k();
        int n = rowIds.length;
        ByteBuffer bi = ByteBuffer.allocate(n * k * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer bs = ByteBuffer.allocate(n * k * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int q = 0; q < n; q++) {
            for (int j = 0; j < k; j++) {
                bi.putInt(rowIds[q][j]);
                bs.putFloat(rowScores[q][j]);
            }
        }
        long at = (long) first * k * 4;
        try {
            writeFully(ids, bi.flip(), idsOffset + at);
            writeFully(scores, bs.flip(), scoresOffset + at);
            ids.force(false);
            scores.force(false);
        } catch (IOException ex) {
            throw FileOps.io("write", dir.resolve(e.ids() + PART), ex);
        }
        int done = first + n;
        boolean complete = done == manifest.sampleSize();
        if (complete) {
            closeEntry();
            try {
                FileOps.atomicMove(dir.resolve(e.ids() + PART), dir.resolve(e.ids()));
                FileOps.atomicMove(dir.resolve(e.scores() + PART), dir.resolve(e.scores()));
            } catch (IOException ex) {
                throw FileOps.io("rename", dir.resolve(e.ids() + PART), ex);
            }
            FileOps.fsyncDir(dir);
        }
        manifest = manifest.withEntry(i, e.progress(done, complete));
        manifest.write(dir);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }

    private void closeEntry() {
        closeQuietly(ids);
        closeQuietly(scores);
        ids = null;
        scores = null;
        openEntry = -1;
    }

    private static boolean onlyOwnFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.allMatch(p -> Files.isRegularFile(p) && OWN_FILE.matcher(p.getFileName().toString()).matches());
        } catch (IOException e) {
            throw FileOps.io("list", dir, e);
        }
    }

    private void deleteOwnFiles() {
        try (Stream<Path> s = Files.list(dir)) {
            // the manifest first: a kill during the deletion leaves no manifest naming deleted files
            List<Path> files = s.filter(p -> !p.getFileName().toString().equals(LOCK_FILE)).sorted((a, b) ->
                    Boolean.compare(!isManifest(a), !isManifest(b))).toList();
            for (Path p : files) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw FileOps.io("clear", dir, e);
        }
        FileOps.fsyncDir(dir);
    }

    private static boolean isManifest(Path p) {
        return p.getFileName().toString().equals(ResultsManifest.FILE);
    }

    /** Closes the open part files and releases the lock; what is on disk stays (resume it later). */
    @Override
    public void close() {
        closeEntry();
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // nothing useful to do while cleaning up
            }
        }
    }

    static long crc(int[] sample) {
        try (Arena a = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment s = a.allocate((long) sample.length * 4);
            for (int i = 0; i < sample.length; i++) {
                s.setAtIndex(Npy.INT32, i, sample[i]);
            }
            return Npy.crc32c(s);
        }
    }

    /** The CRC32C of a sample as sample.npy holds it (8 hex digits), for {@link ResultsManifest#sampleCrc32c}. */
    public static String sampleCrc32c(int[] sample) {
        return Npy.hex(crc(sample));
    }
}
