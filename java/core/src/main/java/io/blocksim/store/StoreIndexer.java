package io.blocksim.store;

import io.blocksim.FileAccessException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreIncompleteException;
import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Adds {@link RowCodes} to the shards of an existing store that lack them ({@code blocksim index}):
 * stores made before codes existed, or by a writer that did not make them. Idempotent: shards
 * that have codes are left as they are, and a store whose shards all have them is not touched.
 *
 * <p>Atomic as the writer is: an entry's code files are written under temp names, made durable
 * and renamed, and only then does a new manifest (written atomically) name them, one entry at a
 * time. A reader sees the store with or without an entry's codes, never half of them; a killed run
 * leaves a valid store and code files no manifest names, which the next run overwrites. A store
 * opened before the run keeps searching the files it opened (new files change none of them). One
 * writer at a time: the store's lock file, as extraction takes it.
 *
 * <p>Thread safety: {@link #index} may be called from any thread; it encodes the shards of an entry
 * in parallel.
 */
public final class StoreIndexer {
    private StoreIndexer() {
    }

    /**
     * What a run did: shards given codes now, shards that had them already, and the bytes of code
     * files (codes and scales, headers included) of the whole store afterwards.
     */
    public record Result(Path dir, int shardsIndexed, int shardsAlready, long codeBytes, long vectorBytes) {
    }

    /** Told about each entry once its new codes are committed ({@code vectorBytes}: the floats they were made from). */
    public interface Progress {
        void entry(EntryKey key, int shards, long vectorBytes);
    }

    /**
     * Gives every shard of the store at {@code dir} its codes; see the class comment.
     *
     * @throws StoreNotFoundException when there is no store at {@code dir}
     * @throws StoreIncompleteException when its extraction has not finished (resuming it writes codes)
     * @throws StoreDamagedException for a damaged manifest
     * @throws StoreIncompatibleException for a store of another format version
     * @throws StoreException (this class itself) when another process is writing the store
     * @throws FileAccessException when a file cannot be read or written
     */
    public static Result index(Path dir, Progress progress) {
        Manifest.read(dir);  // the clear refusals for a missing or foreign folder, before creating a lock file
        try (FileChannel ch = FileChannel.open(dir.resolve(StoreWriter.LOCK_FILE), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new StoreException("store " + dir + " is being written by another blocksim process: wait for it to"
                        + " finish");
            }
            return indexLocked(dir, progress);  // the lock goes with the channel
        } catch (IOException e) {
            throw FileOps.io("lock", dir.resolve(StoreWriter.LOCK_FILE), e);
        }
    }

    private static Result indexLocked(Path dir, Progress progress) {
        Manifest m = Manifest.read(dir);  // again, under the lock
        if (!m.complete()) {
            throw new StoreIncompleteException("store " + dir + " is incomplete: " + m.shardsDone() + " of " + m.shardsTotal()
                    + " shards are extracted; run the same extraction again to finish it (it writes the codes too)");
        }
        int done = 0;
        int already = 0;
        List<Manifest.Entry> entries = new ArrayList<>(m.entries());
        for (int ei = 0; ei < entries.size(); ei++) {
            Manifest.Entry e = entries.get(ei);
            List<Integer> missing = new ArrayList<>();
            long bytes = 0;
            for (int i = 0; i < e.shards().size(); i++) {
                if (e.shards().get(i).codes() == null) {
                    missing.add(i);
                    bytes += (long) e.shards().get(i).rows() * e.dim() * Float.BYTES;
                }
            }
            already += e.shards().size() - missing.size();
            if (missing.isEmpty()) {
                continue;
            }
            String[] files = new String[missing.size()];
            int[] rows = new int[missing.size()];
            int[] dims = new int[missing.size()];
            for (int j = 0; j < files.length; j++) {
                Manifest.Shard s = e.shards().get(missing.get(j));
                files[j] = s.file();
                rows[j] = s.rows();
                dims[j] = e.dim();
            }
            Manifest.Codes[] codes = RowCodes.writeAll(dir, files, rows, dims);
            FileOps.fsyncDir(dir.resolve(e.key().folder()));
            List<Manifest.Shard> shards = new ArrayList<>(e.shards());
            for (int j = 0; j < files.length; j++) {
                shards.set(missing.get(j), shards.get(missing.get(j)).withCodes(codes[j]));
            }
            entries.set(ei, new Manifest.Entry(e.site(), e.block(), e.position(), e.dim(), e.rows(), e.prefixIndex(), shards));
            m = new Manifest(m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(), m.stringLength(),
                    m.stringCount(), m.shardStrings(), m.shardsTotal(), m.shardsDone(), m.strings(), m.labels(),
                    m.prefixIndexes(), entries);
            m.validate(dir.resolve(Manifest.FILE));
            m.write(dir);
            done += files.length;
            progress.entry(e.key(), files.length, bytes);
        }
        long codeBytes = 0;
        long vectorBytes = 0;
        for (Manifest.Entry e : m.entries()) {
            for (Manifest.Shard s : e.shards()) {
                codeBytes += NpyHeader.forWrite(NpyDtype.INT8, s.rows(), e.dim()).dataOffset() + (long) s.rows() * e.dim()
                        + NpyHeader.forWrite(NpyDtype.FLOAT32, s.rows(), RowCodes.SCALE_COLUMNS).dataOffset()
                        + (long) s.rows() * RowCodes.SCALE_COLUMNS * Float.BYTES;
                vectorBytes += NpyHeader.forWrite(NpyDtype.FLOAT32, s.rows(), e.dim()).dataOffset()
                        + (long) s.rows() * e.dim() * Float.BYTES;
            }
        }
        return new Result(dir, done, already, codeBytes, vectorBytes);
    }
}
