package io.blocksim.store;

import io.blocksim.UserError;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An open store: every shard mapped read-only into one shared arena, handed to search as
 * {@link VectorSet}s without heap copies. Opening checks the manifest, every file's shape and size
 * (not checksums: {@link StoreVerifier} does that); closing unmaps everything, after which any
 * segment taken from the store throws {@link IllegalStateException}.
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
 * <p>Rows of an entry at the last position L-1 are strings 0..N-1. Rows of an entry at an earlier
 * position t are the unique prefixes of length t+1 in order of first occurrence; row r stands for
 * the prefix of string {@code prefixIndex(t)[r]}.
 */
public final class Store implements AutoCloseable {
    private final Path dir;
    private final Manifest manifest;
    private final Arena arena;
    private final MemorySegment strings;
    private final String[] labels;
    private final int[] vocab;
    private final Map<Integer, MemorySegment> prefixIndexes = new HashMap<>();
    private final Map<EntryKey, VectorSet> vectors = new HashMap<>();

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
     * Opens the store at {@code dir}. Refuses (with a {@link UserError} that says what to do) a
     * missing store, another format version, an incomplete extraction and files whose shape or
     * size does not match the manifest.
     */
    public static Store open(Path dir) {
        Manifest m = Manifest.read(dir);
        if (!m.complete()) {
            throw UserError.data("store " + dir + " is incomplete: " + m.shardsDone() + " of " + m.shardsTotal()
                    + " shards are extracted; run the same blocksim extract command again to resume it");
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
            shards.add(new VectorShard(v.data(), n.data(), first, s.rows()));
            first += s.rows();
        }
        return new VectorSet(e.dim(), shards);
    }

    private NpyArray map(String name, String what) {
        try {
            return Npy.map(dir.resolve(name), arena);
        } catch (NpyFormatException e) {
            throw damaged(what + " " + name + " " + e.problem());
        }
    }

    private void expect(NpyArray a, NpyDtype dtype, long... shape) {
        NpyHeader want = NpyHeader.forWrite(dtype, shape);
        if (a.dtype() != dtype || !java.util.Arrays.equals(a.shape(), shape)) {
            throw damaged(dir.relativize(a.file()) + " holds " + a.dtype().numpyName() + " " + a.header().shapeString()
                    + " but the manifest says " + dtype.numpyName() + " " + want.shapeString());
        }
    }

    private UserError damaged(String what) {
        return UserError.data("store " + dir + " is damaged: " + what + "; run blocksim verify " + dir
                + " and extract (or import) the store again");
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
     * {@code t_i}. Out of range is a usage error.
     */
    public int resolvePosition(int position) {
        int l = stringLength();
        int t = position < 0 ? l + position : position;
        if (t < 0 || t >= l) {
            throw UserError.usage("position " + position + " is outside this store's strings of length L=" + l
                    + ": use 0.." + (l - 1) + " or -" + l + "..-1");
        }
        return t;
    }

    /**
     * The entry for (site, block, position 0..L-1; negative counts from the end), or a usage
     * error that lists what is stored.
     */
    public Manifest.Entry entry(String site, int block, int position) {
        checkOpen();
        position = resolvePosition(position);
        for (Manifest.Entry e : manifest.entries()) {
            if (e.site().equals(site) && e.block() == block && e.position() == position) {
                return e;
            }
        }
        throw UserError.usage("store " + dir + " has no " + site + " block " + block + " position " + position
                + "; it holds " + describe(manifest.entries()) + " (extract the missing one, or pick a stored one)");
    }

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

    /** The mapped vectors (with norms) of (site, block, position 0..L-1; negative counts from the end). */
    public VectorSet vectors(String site, int block, int position) {
        return vectors.get(entry(site, block, position).key());
    }

    public VectorSet vectors(EntryKey key) {
        return vectors(key.site(), key.block(), key.position());
    }

    /** strings.npy's data: uint8 [N, L] token ids; null for an imported store. */
    public MemorySegment strings() {
        checkOpen();
        return strings;
    }

    /** The int32 prefix index of an earlier position t (row r -> first string with that prefix). */
    public MemorySegment prefixIndex(int position) {
        checkOpen();
        MemorySegment s = prefixIndexes.get(position);
        if (s == null) {
            throw UserError.usage("store " + dir + " has no prefix index for position " + position
                    + (position == stringLength() - 1 ? " (the last position needs none: its rows are the strings)" : ""));
        }
        return s;
    }

    /** String {@code i} decoded through the model's vocabulary (imported stores: its label). */
    public String string(int i) {
        return decode(i, stringLength());
    }

    /**
     * The string that row {@code row} of an entry stands for: string {@code row} at the last
     * position; at an earlier position t, the prefix of length t+1 of the row's first string;
     * for an imported store, the row's label.
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
        return prefixIndex(e.position()).getAtIndex(Npy.INT32, row);
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
        if (!arena.scope().isAlive()) {
            throw new io.blocksim.ClosedException("store " + dir + " is closed: open it again to use it");
        }
    }

    /** False once {@link #close} has been called (by any thread). */
    public boolean isOpen() {
        return arena.scope().isAlive();
    }

    /**
     * Unmaps every file of the store; segments and vector sets taken from it become unusable.
     * Idempotent and safe to call from any thread, also while other threads search the store.
     */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
