package io.blocksim.spark;

import io.blocksim.Metric;
import io.blocksim.StoreChangedException;
import io.blocksim.search.Backends;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Manifest;
import io.blocksim.store.Npy;
import io.blocksim.store.Store;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The executor's side of {@code blocksim spark similars}: the exact top-k of one row range of a
 * store entry, searched by this JVM's own backend ({@code --device}: auto picks a GPU where the
 * executor has one) over the store mapped on this machine. Each JVM opens a store once (while its
 * manifest is the driver's) and a backend once per device name, and shares them among its tasks.
 *
 * <p>Thread safety: any number of tasks at once (stores and backends are safe to share).
 */
final class RowRangeSearch {
    private static final Map<String, Store> stores = new HashMap<>();
    private static final Map<String, SearchBackend> backends = new HashMap<>();

    private RowRangeSearch() {
    }

    /** What a task searches: rows [from, to) of entry (site, block, position) of the store at {@code dir}. */
    record Range(String dir, String manifestCrc32c, String site, int block, int position, int from, int to)
            implements java.io.Serializable {
    }

    /**
     * The k best rows of the range for each query (fewer when the range has fewer rows), row ids of
     * the whole entry, best first, ties to the lower row; scores canonical, so independent of the
     * range.
     *
     * @throws StoreChangedException when the store here is not the driver's (another manifest), or
     *     a file changed during the search
     */
    static TopKMerge search(Range r, float[][] queries, int k, Metric metric, String device) {
        Store s = store(r.dir(), r.manifestCrc32c());
        EntryKey key = new EntryKey(r.site(), r.block(), r.position());
        VectorSet part = slice(s.vectors(key), r.from(), r.to());
        SearchResult res;
        try (var lease = s.lease()) {
            s.checkUnchanged(key);
            res = backend(device).search(part, queries, Math.min(k, r.to() - r.from()), metric);
            s.checkUnchanged(key);
        }
        int[][] rows = res.rows();
        int[][] shifted = new int[rows.length][];
        for (int q = 0; q < rows.length; q++) {
            shifted[q] = new int[rows[q].length];
            for (int i = 0; i < rows[q].length; i++) {
                shifted[q][i] = rows[q][i] + r.from();
            }
        }
        return new TopKMerge(shifted, res.scores());
    }

    /** Rows [from, to) of {@code all} as a set of its own (rows 0..to-from-1), the same memory and guard. */
    static VectorSet slice(VectorSet all, int from, int to) {
        if (from < 0 || to > all.rows() || from >= to) {
            throw new IndexOutOfBoundsException("rows " + from + ".." + to + " of " + all.rows());
        }
        long rowBytes = (long) all.dim() * Float.BYTES;
        List<VectorShard> out = new ArrayList<>();
        for (VectorShard sh : all.shards()) {
            int a = Math.max(from, sh.firstRow());
            int b = Math.min(to, sh.firstRow() + sh.rows());
            if (a >= b) {
                continue;
            }
            long off = a - sh.firstRow();
            int n = b - a;
            out.add(new VectorShard(sh.vectors().asSlice(off * rowBytes, n * rowBytes),
                    sh.norms() == null ? null : sh.norms().asSlice(off * Float.BYTES, (long) n * Float.BYTES),
                    a - from, n));
        }
        return new VectorSet(all.dim(), out, all.guard());
    }

    /** The CRC32C of a store's manifest file (hex): how driver and executors tell they see the same store. */
    static String manifestCrc32c(Path dir) {
        try {
            return Npy.hex(Npy.crc32c(java.lang.foreign.MemorySegment.ofArray(Files.readAllBytes(dir.resolve(Manifest.FILE)))));
        } catch (IOException e) {
            throw new StoreChangedException("cannot read the manifest of store " + dir + " (" + e.getMessage()
                    + "): every executor must see the store at the driver's path");
        }
    }

    private static synchronized Store store(String dir, String crc) {
        String key = dir + "#" + crc;
        Store s = stores.get(key);
        if (s != null && s.isOpen()) {
            return s;
        }
        Path p = Path.of(dir);
        String have = manifestCrc32c(p);
        if (!have.equals(crc)) {
            throw new StoreChangedException("store " + dir + " on this executor is not the driver's (its manifest differs):"
                    + " every executor must see the same store at the same path");
        }
        // other versions of this folder's store are no longer asked for
        stores.entrySet().removeIf(e -> {
            if (e.getKey().startsWith(dir + "#")) {
                e.getValue().close();
                return true;
            }
            return false;
        });
        s = Store.open(p);
        stores.put(key, s);
        return s;
    }

    private static synchronized SearchBackend backend(String device) {
        return backends.computeIfAbsent(device, d -> Backends.routed(Backends.open(d).backend()));
    }
}
