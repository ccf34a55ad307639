package io.blocksim.api;

import io.blocksim.search.NormStats;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import io.blocksim.store.StoreImporter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An open store: a folder of memory-mapped {@code .npy} shards and a manifest, made by an
 * extraction ({@link Extraction}) or an import ({@link #importVectors}). Opening maps every shard
 * read-only (no heap copies) and checks the manifest and every file's shape and size; checksums
 * are checked by verifying the store, not here.
 *
 * <p>Thread safety: one open store may be shared by any number of threads and {@link Searcher}s.
 * {@link #close} unmaps everything; a search running on the store then ends with a
 * {@link io.blocksim.ClosedException}, and so does any later use. Never reads unmapped memory.
 */
public final class BlocksimStore implements AutoCloseable {
    private final Store store;

    BlocksimStore(Store store) {
        this.store = store;
    }

    /**
     * Opens the store in {@code dir}.
     *
     * @throws io.blocksim.StoreNotFoundException when {@code dir} holds no store
     * @throws io.blocksim.StoreIncompleteException when its extraction or import has not finished
     * @throws io.blocksim.StoreDamagedException when a file is missing or has the wrong shape
     * @throws io.blocksim.StoreIncompatibleException when it is of another format version
     */
    public static BlocksimStore open(Path dir) {
        if (dir == null) {
            throw new io.blocksim.InvalidArgumentException("no store folder given");
        }
        try (Timings.Mark m = Timings.phase("open store")) {
            return new BlocksimStore(Store.open(dir));
        }
    }

    /**
     * Makes a store from vectors you already have: {@code vectors} is a numpy float32 file of shape
     * {@code [N, dim]}, {@code labels} a UTF-8 text file with N lines (one label per row, shown in
     * results). The store has one entry, site {@code site}, block 0, position 0, and is written
     * beside {@code out} and renamed into place, so a crash never leaves half a store.
     *
     * @throws io.blocksim.InvalidDataException for a vectors file that is not float32 [N, dim], or
     *     labels that do not match its rows
     * @throws io.blocksim.TargetExistsException when {@code out} already exists
     * @throws io.blocksim.InvalidArgumentException for a site name that is not a plain word
     * @throws io.blocksim.FileAccessException when a file cannot be read or written
     */
    public static void importVectors(Path vectors, Path labels, Path out, String site) {
        StoreImporter.importVectors(vectors, labels, out, site);
    }

    /** The store's folder. */
    public Path dir() {
        return store.dir();
    }

    /** N: the number of strings (rows of an imported store). */
    public int stringCount() {
        return store.stringCount();
    }

    /** L: the length of the strings (1 for an imported store). */
    public int stringLength() {
        return store.stringLength();
    }

    /** True for a store made by {@link #importVectors} (labels, no model). */
    public boolean imported() {
        return store.imported();
    }

    /** The sha256 of the model that made the store; null for an imported store. */
    public String modelSha256() {
        return store.model() == null ? null : store.model().sha256();
    }

    /** The stored (site, block, position) entries, in the manifest's order. */
    public List<StoreEntry> entries() {
        List<StoreEntry> out = new ArrayList<>();
        for (Manifest.Entry e : store.entries()) {
            out.add(new StoreEntry(e.site(), e.block(), e.position(), e.rows(), e.dim()));
        }
        return List.copyOf(out);
    }

    /**
     * The entry whose candidates {@code set} is: the very set this store hands a search backend
     * for it (compared by identity), or null for any other set. A backend that searches elsewhere
     * what it is handed (the Spark module's, on executors that map the store themselves) names
     * the entry this way.
     *
     * @throws io.blocksim.ClosedException after {@link #close}
     */
    public StoreEntry entryOf(io.blocksim.spi.VectorSet set) {
        for (Manifest.Entry e : store.entries()) {
            if (store.vectors(e.key()) == set) {
                return new StoreEntry(e.site(), e.block(), e.position(), e.rows(), e.dim());
            }
        }
        return null;
    }

    /**
     * String {@code i} (0..N-1) in first-occurrence order, or an imported store's label {@code i}.
     *
     * @throws IndexOutOfBoundsException for i outside 0..N-1
     * @throws io.blocksim.ClosedException after {@link #close}
     */
    public String string(int i) {
        try (var lease = store.lease()) {
            return store.string(i);
        }
    }

    /**
     * The index of {@code text} among the strings (an imported store's labels), or -1 when the
     * store does not hold it. A linear scan over the strings.
     */
    public int indexOf(String text) {
        try (var lease = store.lease()) {
            return store.indexOf(text);
        }
    }

    /**
     * The notebook's norm table of {@code site}: per block, in block order, the mean and sample
     * standard deviation of the L2 norms of the last-position vectors of the first {@code rows}
     * strings (all of them when the store holds fewer; the seed's "batch 0" is 10,000), read from
     * the norms stored beside each shard, in double precision.
     *
     * @throws io.blocksim.InvalidArgumentException for fewer than 2 rows, or a site the store does
     *     not hold at the last position
     * @throws io.blocksim.StoreChangedException a file of the store was truncated, rewritten or
     *     replaced after the store was opened
     */
    public List<NormRow> norms(String site, int rows) {
        List<NormRow> out = new ArrayList<>();
        try (var lease = store.lease()) {
            store.checkAllUnchanged();
            for (NormStats.Row r : NormStats.table(store, site, rows)) {
                out.add(new NormRow(r.block(), r.rows(), r.mean(), r.std()));
            }
        } catch (InternalError e) {
            io.blocksim.StoreChangedException changed = store.changedDuring(e);
            if (changed != null) {
                throw changed;
            }
            throw e;
        }
        store.checkAllUnchanged();  // no norm read from a file that changed meanwhile is returned
        return List.copyOf(out);
    }

    /** The internal store, for the search layer. */
    Store internal() {
        return store;
    }

    /** Unmaps every file. Idempotent. */
    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return "BlocksimStore[" + store.dir() + "]";
    }
}
