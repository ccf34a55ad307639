package io.blocksim.store;

import io.blocksim.ClosedException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreChangedException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreIncompleteException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.spi.MemoryGuard;
import io.blocksim.spi.ShardCodes;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An open store: every shard mapped read-only into one shared arena, handed to search as
 * {@link VectorSet}s without heap copies. Opening checks the manifest, every file's shape and size
 * (not checksums: {@link StoreVerifier} does that); closing unmaps everything, after which any
 * segment taken from the store throws {@link IllegalStateException} and the store's own methods
 * throw {@link ClosedException}.
 *
 * <p>Thread safety: an open store may be shared by any number of threads. Everything it holds is
 * fixed when {@link #open} returns: the maps and arrays are filled in the constructor, reached
 * only through final fields (so every thread that sees the store sees them complete, however the
 * store was handed over) and never written again; the segments belong to one shared arena, so any
 * thread may read them. {@link #close} may be called from any thread, also while others read or
 * search: it is idempotent; after it every method that looks up an entry or reads mapped data
 * throws {@link io.blocksim.ClosedException} (the manifest's facts stay readable); and a read
 * racing with it either completes or throws
 * {@link IllegalStateException} (the JDK's scoped access: never a read of unmapped memory), which
 * the search layer reports as a {@link io.blocksim.ClosedException}.
 *
 * <p>Files that change after opening: a mapped file that is truncated makes a read of the pages
 * past its new end fault (the JVM throws an {@link InternalError}); one rewritten in place changes
 * under the reader; one replaced (renamed over) or deleted stays mapped as it was. Opening records
 * each file's size, modification time and identity (inode); {@link #checkUnchanged} compares them
 * with the files now there (a few {@code stat} calls), and {@link #changedDuring} turns a fault
 * into a {@link StoreChangedException} that names the file. The search layer checks before and
 * after every search, so no answer computed from a changed file is returned.
 *
 * <p>Rows of an entry at the last position L-1 are strings 0..N-1. Rows of an entry at an earlier
 * position t are the unique prefixes of length t+1 in order of first occurrence; row r stands for
 * the prefix of string {@code prefixIndex(t)[r]}.
 */
public final class Store implements AutoCloseable {
    private final Path dir;
    private final Manifest manifest;
    private final Arena arena;
    /** Guards {@link #held} and {@link #closing}: the leases that keep the files mapped. */
    private final Object leases = new Object();
    private int held;
    private volatile boolean closing;
    private final MemorySegment strings;
    private final String[] labels;
    private final int[] vocab;
    private final Map<Integer, MemorySegment> prefixIndexes = new HashMap<>();
    private final Map<EntryKey, VectorSet> vectors = new HashMap<>();
    /** Each file as it was when opened, by its name inside the store; filled in the constructor. */
    private final Map<String, Stamp> stamps = new LinkedHashMap<>();

    /** What a file was when the store opened it: a change of any part means the file changed. */
    private record Stamp(long size, FileTime modified, Object identity) {
    }

    private Store(Path dir, Manifest manifest, Arena arena) {
        this.dir = dir;
        this.manifest = manifest;
        this.arena = arena;
        this.vocab = manifest.model() == null ? null : manifest.model().vocab().codePoints().toArray();
        this.strings = manifest.strings() == null ? null : mapStrings();
        this.labels = manifest.labels() == null ? null : readLabels();
        for (Manifest.PrefixIndexFile p : manifest.prefixIndexes()) {
            NpyArray a = map(p.file(), "prefix index");
            expect(a, NpyDtype.INT32, p.rows());
            prefixIndexes.put(p.position(), a.data());
        }
        for (Manifest.Entry e : manifest.entries()) {
            vectors.put(e.key(), mapEntry(e));
        }
    }

    /**
     * Opens the store at {@code dir}. Refuses, with a message that says what to do, a missing
     * store, another format version, an incomplete extraction and files whose shape or size does
     * not match the manifest.
     *
     * @throws StoreNotFoundException when there is no store at {@code dir}
     * @throws StoreIncompleteException when its extraction has not finished
     * @throws StoreDamagedException for a damaged manifest, or a file that is missing, truncated or
     *     of another shape or type than the manifest says
     * @throws StoreIncompatibleException for a store of another format version
     * @throws FileAccessException when a file cannot be read
     */
    public static Store open(Path dir) {
        Manifest m = Manifest.read(dir);
        if (!m.complete()) {
            throw new StoreIncompleteException("store " + dir + " is incomplete: " + m.shardsDone() + " of "
                    + m.shardsTotal() + " shards are extracted; run the same extraction again to resume it");
        }
        Arena arena = Arena.ofShared();
        try {
            return new Store(dir, m, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private MemorySegment mapStrings() {
        NpyArray a = map(manifest.strings().file(), "strings file");
        expect(a, NpyDtype.UINT8, manifest.stringCount(), manifest.stringLength());
        return a.data();
    }

    private String[] readLabels() {
        Path file = dir.resolve(manifest.labels().file());
        stamp(manifest.labels().file());
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw damaged(manifest.labels().file() + " is missing");
        } catch (IOException e) {
            throw FileOps.io("read", file, e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw damaged(manifest.labels().file() + " is not UTF-8 text");
        }
        List<String> lines = Labels.split(text);
        if (lines.size() != manifest.stringCount()) {
            throw damaged(manifest.labels().file() + " has " + lines.size() + " labels, but the store has "
                    + manifest.stringCount() + " rows");
        }
        return lines.toArray(String[]::new);
    }

    private VectorSet mapEntry(Manifest.Entry e) {
        List<VectorShard> shards = new ArrayList<>();
        int first = 0;
        for (Manifest.Shard s : e.shards()) {
            NpyArray v = map(s.file(), "shard");
            expect(v, NpyDtype.FLOAT32, s.rows(), e.dim());
            NpyArray n = map(s.norms(), "norms file");
            expect(n, NpyDtype.FLOAT32, s.rows());
            ShardCodes codes = null;
            if (s.codes() != null) {
                NpyArray c = map(s.codes().file(), "codes file");
                expect(c, NpyDtype.INT8, s.rows(), e.dim());
                NpyArray cs = map(s.codes().scales(), "code scales file");
                expect(cs, NpyDtype.FLOAT32, s.rows(), RowCodes.SCALE_COLUMNS);
                codes = new ShardCodes(c.data(), cs.data());
            }
            shards.add(new VectorShard(v.data(), n.data(), first, s.rows(), codes));
            first += s.rows();
        }
        return new VectorSet(e.dim(), shards, this::lease);
    }

    private NpyArray map(String name, String what) {
        stamp(name);  // before the mapping: a change after this is one checkUnchanged sees
        try {
            return Npy.map(dir.resolve(name), arena);
        } catch (NpyFormatException e) {
            throw damaged(what + " " + name + " " + e.problem());
        }
    }

    /** Records {@code name} as it is now; a file that cannot be stat'ed is left to the reader to report. */
    private void stamp(String name) {
        Stamp s = stat(name);
        if (s != null) {
            stamps.put(name, s);
        }
    }

    private Stamp stat(String name) {
        try {
            BasicFileAttributes a = Files.readAttributes(dir.resolve(name), BasicFileAttributes.class);
            return new Stamp(a.size(), a.lastModifiedTime(), a.fileKey());
        } catch (IOException e) {
            return null;
        }
    }

    /** How {@code name} differs from what was opened, in words; null when it does not. */
    private String change(String name, Stamp was) {
        Stamp now = stat(name);
        if (now == null) {
            return name + " was deleted or cannot be read any more";
        }
        if (was.identity() != null && !was.identity().equals(now.identity())) {
            return name + " was replaced by another file";
        }
        if (now.size() != was.size()) {
            return name + (now.size() < was.size() ? " was truncated" : " grew") + " to " + now.size()
                    + " bytes (" + was.size() + " when the store was opened)";
        }
        if (!now.modified().equals(was.modified())) {
            return name + " was rewritten (modified " + now.modified() + ", " + was.modified() + " when the store was"
                    + " opened)";
        }
        return null;
    }

    /**
     * Throws when a file a search of {@code key} reads (its shards, norms and codes, its prefix index,
     * the strings or labels) is no longer the file that was opened; {@code key} null checks the
     * strings and labels only. A few {@code stat} calls: cheap enough for every search.
     *
     * @throws StoreChangedException naming the first changed file
     */
    public void checkUnchanged(EntryKey key) {
        List<String> names = new ArrayList<>();
        if (manifest.strings() != null) {
            names.add(manifest.strings().file());
        }
        if (manifest.labels() != null) {
            names.add(manifest.labels().file());
        }
        Manifest.Entry e = key == null ? null : manifest.entry(key);
        if (e != null) {
            if (e.prefixIndex() != null) {
                names.add(e.prefixIndex());
            }
            for (Manifest.Shard s : e.shards()) {
                names.add(s.file());
                names.add(s.norms());
                if (s.codes() != null) {
                    names.add(s.codes().file());
                    names.add(s.codes().scales());
                }
            }
        }
        for (String name : names) {
            Stamp was = stamps.get(name);
            String why = was == null ? null : change(name, was);
            if (why != null) {
                throw changed(why, null);
            }
        }
    }

    /**
     * Every file of the store that is no longer the file that was opened, each in words (empty
     * when none is).
     */
    public List<String> changedFiles() {
        List<String> out = new ArrayList<>();
        stamps.forEach((name, was) -> {
            String why = change(name, was);
            if (why != null) {
                out.add(why);
            }
        });
        return out;
    }

    /**
     * Throws when any file of the store is no longer the file that was opened.
     *
     * @throws StoreChangedException naming every changed file
     */
    public void checkAllUnchanged() {
        List<String> changed = changedFiles();
        if (!changed.isEmpty()) {
            throw changed(String.join(", ", changed), null);
        }
    }

    /**
     * What a caller should see for {@code e}, thrown by a read of this store's mapped memory: a
     * {@link StoreChangedException} when it is the JVM's report of a fault in mapped memory (a
     * read past the end of a file that was truncated after it was mapped), naming the changed file
     * when it can; null for any other error.
     */
    public StoreChangedException changedDuring(Throwable e) {
        if (!isMappedFault(e)) {
            return null;
        }
        List<String> changed = changedFiles();
        return changed(changed.isEmpty() ? "a file could not be read while it was being searched (a fault in its mapped"
                + " memory: the file shrank after it was opened, or the disk failed)" : String.join(", ", changed), e);
    }

    /** True for the JVM's {@link InternalError} for a fault (SIGBUS) in a read of mapped memory. */
    public static boolean isMappedFault(Throwable e) {
        return e instanceof InternalError && e.getMessage() != null
                && e.getMessage().contains("fault occurred in an unsafe memory access operation");
    }

    private StoreChangedException changed(String why, Throwable cause) {
        return new StoreChangedException("store " + dir + " changed after it was opened: " + why + "; nothing from it was"
                + " returned; if nothing is writing to the store, verify it (blocksim verify) to name every damaged file,"
                + " then open it again", cause);
    }

    private void expect(NpyArray a, NpyDtype dtype, long... shape) {
        NpyHeader want = NpyHeader.forWrite(dtype, shape);
        if (a.dtype() != dtype || !java.util.Arrays.equals(a.shape(), shape)) {
            throw damaged(dir.relativize(a.file()) + " holds " + a.dtype().numpyName() + " " + a.header().shapeString()
                    + " but the manifest says " + dtype.numpyName() + " " + want.shapeString());
        }
    }

    private StoreDamagedException damaged(String what) {
        return new StoreDamagedException("store " + dir + " is damaged: " + what + "; verify the store to name every"
                + " damaged file, and extract (or import) it again");
    }

    public Path dir() {
        return dir;
    }

    public Manifest manifest() {
        return manifest;
    }

    /** True for a store made by {@link StoreImporter} (labels, no model). */
    public boolean imported() {
        return manifest.imported();
    }

    /** L: the length of the strings (1 for an imported store). */
    public int stringLength() {
        return manifest.stringLength();
    }

    /** N: the number of strings (rows of an imported store). */
    public int stringCount() {
        return manifest.stringCount();
    }

    /** The model the store was extracted with; null for an imported store. */
    public ModelInfo model() {
        return manifest.model();
    }

    /** The dataset's sha256; null for an imported store. */
    public String datasetSha256() {
        return manifest.datasetSha256();
    }

    public List<Manifest.Entry> entries() {
        return manifest.entries();
    }

    /**
     * A position in 0..L-1, counting from the end when negative (-1 is the last), as the seed's
     * {@code t_i}.
     *
     * @throws InvalidArgumentException for a position outside -L..L-1
     */
    public int resolvePosition(int position) {
        int l = stringLength();
        int t = position < 0 ? l + position : position;
        if (t < 0 || t >= l) {
            throw new InvalidArgumentException("position " + position + " is outside this store's strings of length L=" + l
                    + ": use 0.." + (l - 1) + " or -" + l + "..-1");
        }
        return t;
    }

    /**
     * The entry for (site, block, position 0..L-1; negative counts from the end).
     *
     * @throws InvalidArgumentException for an entry the store does not hold (the message lists
     *     what it holds) or a position outside the strings
     * @throws ClosedException when the store is closed
     */
    public Manifest.Entry entry(String site, int block, int position) {
        checkOpen();
        position = resolvePosition(position);
        for (Manifest.Entry e : manifest.entries()) {
            if (e.site().equals(site) && e.block() == block && e.position() == position) {
                return e;
            }
        }
        throw new InvalidArgumentException("store " + dir + " has no " + site + " block " + block + " position " + position
                + "; it holds " + describe(manifest.entries()) + " (extract the missing one, or pick a stored one)");
    }

    /**
     * The entry for {@code key}.
     *
     * @throws InvalidArgumentException for an entry the store does not hold
     * @throws ClosedException when the store is closed
     */
    public Manifest.Entry entry(EntryKey key) {
        return entry(key.site(), key.block(), key.position());
    }

    /** Which entries a store holds, grouped for one line: {@code block_output position 9: blocks 0-5}. */
    static String describe(List<Manifest.Entry> entries) {
        Map<String, TreeSet<Integer>> groups = new TreeMap<>();
        for (Manifest.Entry e : entries) {
            groups.computeIfAbsent(e.site() + " position " + e.position(), k -> new TreeSet<>()).add(e.block());
        }
        List<String> parts = new ArrayList<>();
        groups.forEach((k, blocks) -> parts.add(k + ": block" + (blocks.size() > 1 ? "s " : " ") + ranges(blocks)));
        return String.join("; ", parts);
    }

    private static String ranges(TreeSet<Integer> values) {
        List<String> out = new ArrayList<>();
        Integer start = null;
        Integer prev = null;
        for (int v : values) {
            if (start != null && v == prev + 1) {
                prev = v;
                continue;
            }
            if (start != null) {
                out.add(start.equals(prev) ? "" + start : start + "-" + prev);
            }
            start = v;
            prev = v;
        }
        if (start != null) {
            out.add(start.equals(prev) ? "" + start : start + "-" + prev);
        }
        return String.join(",", out);
    }

    /**
     * The mapped vectors (with norms) of (site, block, position 0..L-1; negative counts from the end).
     *
     * @throws InvalidArgumentException for an entry the store does not hold
     * @throws ClosedException when the store is closed
     */
    public VectorSet vectors(String site, int block, int position) {
        return vectors.get(entry(site, block, position).key());
    }

    /**
     * The mapped vectors (with norms) of {@code key}.
     *
     * @throws InvalidArgumentException for an entry the store does not hold
     * @throws ClosedException when the store is closed
     */
    public VectorSet vectors(EntryKey key) {
        return vectors(key.site(), key.block(), key.position());
    }

    /**
     * strings.npy's data: uint8 [N, L] token ids; null for an imported store.
     *
     * @throws ClosedException when the store is closed
     */
    public MemorySegment strings() {
        checkOpen();
        return strings;
    }

    /**
     * The int32 prefix index of an earlier position t (row r -> first string with that prefix).
     *
     * @throws InvalidArgumentException when the store has no prefix index for {@code position}
     * @throws ClosedException when the store is closed
     */
    public MemorySegment prefixIndex(int position) {
        checkOpen();
        MemorySegment s = prefixIndexes.get(position);
        if (s == null) {
            throw new InvalidArgumentException("store " + dir + " has no prefix index for position " + position
                    + (position == stringLength() - 1 ? " (the last position needs none: its rows are the strings)" : ""));
        }
        return s;
    }

    /**
     * The index of {@code text} among the strings (an imported store's labels), or -1 when it is
     * not there (also for text of another length, or with a character outside the vocabulary). A
     * linear scan: about a millisecond per 100,000 strings.
     *
     * @throws ClosedException when the store is closed
     */
    public int indexOf(String text) {
        checkOpen();
        if (labels != null) {
            return java.util.Arrays.asList(labels).indexOf(text);
        }
        int l = stringLength();
        int[] cps = text.codePoints().toArray();
        if (cps.length != l) {
            return -1;
        }
        byte[] want = new byte[l];
        for (int c = 0; c < l; c++) {
            int id = -1;
            for (int v = 0; v < vocab.length && id < 0; v++) {
                id = vocab[v] == cps[c] ? v : -1;
            }
            if (id < 0) {
                return -1;
            }
            want[c] = (byte) id;
        }
        MemorySegment target = MemorySegment.ofArray(want);
        int n = stringCount();
        for (int i = 0; i < n; i++) {
            long at = (long) i * l;
            // the first byte rules out almost every row without the cost of a mismatch call
            if (strings.get(Npy.UINT8, at) == want[0] && MemorySegment.mismatch(strings, at, at + l, target, 0, l) < 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * String {@code i} decoded through the model's vocabulary (imported stores: its label).
     *
     * @throws StoreDamagedException when the strings file holds a token outside the vocabulary
     * @throws ClosedException when the store is closed
     */
    public String string(int i) {
        return decode(i, stringLength());
    }

    /**
     * The string that row {@code row} of an entry stands for: string {@code row} at the last
     * position; at an earlier position t, the prefix of length t+1 of the row's first string;
     * for an imported store, the row's label.
     *
     * @throws InvalidArgumentException for an entry the store does not hold
     * @throws StoreDamagedException when the strings file holds a token outside the vocabulary
     * @throws ClosedException when the store is closed
     */
    public String label(EntryKey key, int row) {
        Manifest.Entry e = entry(key);
        if (row < 0 || row >= e.rows()) {
            throw new IndexOutOfBoundsException("row " + row + " of " + key + " (" + e.rows() + " rows)");
        }
        if (labels != null) {
            return labels[row];
        }
        return decode(firstString(e, row), e.position() + 1);
    }

    public List<String> labels(EntryKey key, int[] rows) {
        List<String> out = new ArrayList<>(rows.length);
        for (int r : rows) {
            out.add(label(key, r));
        }
        return out;
    }

    /** The first string (in string order) behind row {@code row} of an entry. */
    public int firstString(EntryKey key, int row) {
        return firstString(entry(key), row);
    }

    private int firstString(Manifest.Entry e, int row) {
        if (e.position() == stringLength() - 1) {
            return row;
        }
        int first = prefixIndex(e.position()).getAtIndex(Npy.INT32, row);
        if (first < 0 || first >= stringCount()) {
            Manifest.PrefixIndexFile p = manifest.prefixIndex(e.position());
            throw damaged((p == null ? "the prefix index of position " + e.position() : p.file()) + " holds string "
                    + first + " at row " + row + ", outside 0.." + (stringCount() - 1));
        }
        return first;
    }

    private String decode(int i, int length) {
        checkOpen();
        if (i < 0 || i >= stringCount()) {
            throw new IndexOutOfBoundsException("string " + i + " of " + stringCount());
        }
        if (labels != null) {
            return labels[i];
        }
        StringBuilder b = new StringBuilder(length);
        long base = (long) i * stringLength();
        for (int c = 0; c < length; c++) {
            int id = strings.get(Npy.UINT8, base + c) & 0xFF;
            if (id >= vocab.length) {
                throw damaged(manifest.strings().file() + " holds token id " + id + " (string " + i
                        + "), outside the model's vocabulary of " + vocab.length);
            }
            b.appendCodePoint(vocab[id]);
        }
        return b.toString();
    }

    private void checkOpen() {
        if (!isOpen()) {
            throw new io.blocksim.ClosedException("store " + dir + " is closed: open it again to use it");
        }
    }

    /** False once {@link #close} has been called (by any thread). */
    public boolean isOpen() {
        return !closing && arena.scope().isAlive();
    }

    /**
     * A lease that keeps every file of the store mapped until it is closed: searches hold one while
     * they read (the {@link MemoryGuard} of every {@link VectorSet} this store hands out).
     * {@link #close} waits for every lease to be closed before it unmaps. Never close the store
     * while holding a lease on the same thread.
     *
     * @throws ClosedException when the store is closed or closing
     */
    public MemoryGuard.Lease lease() {
        synchronized (leases) {
            if (closing || !arena.scope().isAlive()) {
                throw new io.blocksim.ClosedException("store " + dir + " is closed: open it again to use it");
            }
            held++;
        }
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                synchronized (leases) {
                    if (--held == 0) {
                        leases.notifyAll();
                    }
                }
            }
        };
    }

    /**
     * Unmaps every file of the store; segments and vector sets taken from it become unusable.
     * Idempotent and safe to call from any thread, also while other threads search the store: new
     * searches are refused at once, and the unmapping waits until the searches that hold a
     * {@link #lease} have finished reading (they finish normally), so no thread ever reads an
     * unmapped page.
     */
    @Override
    public synchronized void close() {
        boolean interrupted = false;
        synchronized (leases) {
            closing = true;
            while (held > 0) {
                try {
                    leases.wait();
                } catch (InterruptedException e) {
                    interrupted = true;  // unmapping under a reader is never an option: keep waiting
                }
            }
        }
        if (arena.scope().isAlive()) {
            arena.close();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
