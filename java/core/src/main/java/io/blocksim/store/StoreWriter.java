package io.blocksim.store;

import io.blocksim.ClosedException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidDataException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.TargetExistsException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Writes a model store shard by shard, so that a killed extraction resumes where it stopped.
 *
 * <pre>{@code
 * try (StoreWriter w = StoreWriter.open(dir, spec, force)) {
 *     w.putStrings(tokens);                        // uint8 [N, L]; no-op when already stored
 *     for (int t : earlierPositions) w.putPrefixIndex(t, firstStrings[t]);
 *     for (int i = w.nextShard(); i < w.shardCount(); i++) {
 *         try (StoreWriter.Shard s = w.beginShard(i)) {
 *             // strings [s.firstString(), s.endString()); for each entry e, fill s.vectors(e):
 *             // float32 [s.rows(e), dim], the rows of prefix rows [s.firstRow(e), +rows) when
 *             // e is at an earlier position (prefix row r = string prefixIndex[r]).
 *             s.commit();                          // norms, codes, fsync, checksums, rename, manifest
 *         }
 *     }
 * }
 * }</pre>
 *
 * A shard's files are written under temp names and renamed only when complete; the manifest
 * names them only after that, so a reader never accepts half a shard. Opening an existing store
 * resumes it when its model, dataset, L, N, shard size and entries match, deletes leftover temp
 * files and shard files the manifest does not name, and refuses it otherwise (unless
 * {@code force}, which deletes the store's files and starts over). One writer per store at a time,
 * enforced with a file lock.
 */
public final class StoreWriter implements AutoCloseable {
    static final String LOCK_FILE = ".lock";
    private static final Pattern ENTRY_FOLDER = Pattern.compile("[a-z][a-z0-9_]*-b\\d+-t\\d+");
    private static final Pattern SHARD_FILE = Pattern.compile("(vectors|norms|codes|codescales)-(\\d+)\\.npy(\\.tmp)?");
    private static final Pattern TOP_FILE = Pattern.compile(
            "(manifest\\.json|strings\\.npy|labels\\.txt|prefix-t\\d+\\.npy)(\\.tmp)?");

    private final Path dir;
    private final StoreSpec spec;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<Integer, int[]> prefixIndexes = new HashMap<>();
    private Manifest manifest;
    private Shard open;
    private boolean closed;

    private StoreWriter(Path dir, StoreSpec spec, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.spec = spec;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Creates the store at {@code dir} for {@code spec}, or opens it to resume. {@code dir} must
     * be missing, empty, or a store; a store of another model, dataset, L, N, shard size or set of
     * entries is refused unless {@code force}, and so is one whose manifest or prefix indexes are
     * damaged. With {@code force} the store's files are deleted and it starts over.
     *
     * @throws TargetExistsException when {@code dir} is a file, or a non-empty folder that holds no
     *     store
     * @throws StoreIncompatibleException (without {@code force}) for a store made for another spec,
     *     or of another format version
     * @throws StoreDamagedException (without {@code force}) for a damaged manifest or prefix index
     * @throws StoreNotFoundException (without {@code force}) when the folder's manifest is not a
     *     blocksim store's
     * @throws StoreException (this class itself) when another process is writing the store
     * @throws FileAccessException when the folder cannot be created, locked or cleaned up
     */
    public static StoreWriter open(Path dir, StoreSpec spec, boolean force) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new TargetExistsException(dir + " is a file, not a store directory: choose a directory for the store");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw FileOps.io("create", dir, e);
        }
        boolean hasManifest = Files.exists(dir.resolve(Manifest.FILE));
        if (!hasManifest && !isEmptyBesidesLock(dir)) {
            throw new TargetExistsException(dir + " is not empty and holds no blocksim store: extract into a new or empty"
                    + " directory");
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
            throw new StoreException("store " + dir + " is being written by another blocksim process: wait for it to finish");
        }
        StoreWriter w = new StoreWriter(dir, spec, ch, lock);
        try {
            w.start(hasManifest, force);
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void start(boolean hasManifest, boolean force) {
        if (hasManifest && !force) {
            Manifest m;
            try {
                m = Manifest.read(dir);
            } catch (StoreException e) {
                throw orStartOver(e);
            }
            refuseIfDifferent(m);
            manifest = m;
            loadPrefixIndexes();
            deleteUncommitted();
        } else {
            if (hasManifest) {
                deleteStoreFiles();
            }
            manifest = emptyManifest();
            manifest.write(dir);
        }
    }

    /** The same refusal, saying that starting over ({@code force}) is a way out too. */
    private static StoreException orStartOver(StoreException e) {
        String m = e.getMessage() + ", or start it over";
        return switch (e) {
            case StoreDamagedException d -> new StoreDamagedException(m, d);
            case StoreIncompatibleException i -> new StoreIncompatibleException(m, i);
            case StoreNotFoundException n -> new StoreNotFoundException(m, n);
            default -> e;
        };
    }

    private Manifest emptyManifest() {
        List<Manifest.Entry> entries = new ArrayList<>();
        for (EntrySpec e : spec.entries()) {
            EntryKey k = e.key();
            entries.add(new Manifest.Entry(k.site(), k.block(), k.position(), e.dim(), 0,
                    isLast(k) ? null : prefixFile(k.position()), List.of()));
        }
        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, Manifest.KIND_MODEL, spec.model(),
                spec.datasetSha256(), spec.stringLength(), spec.stringCount(), spec.shardStrings(), spec.shardCount(), 0,
                null, null, List.of(), entries);
    }

    private void refuseIfDifferent(Manifest m) {
        String fix = ": extract into another directory, or start this one over";
        if (m.imported()) {
            throw new StoreIncompatibleException("store " + dir + " holds imported vectors, not an extraction" + fix);
        }
        if (!m.model().sha256().equals(spec.model().sha256())) {
            throw new StoreIncompatibleException("store " + dir + " was made by model " + m.model().describe() + ", not by this model "
                    + spec.model().describe() + fix);
        }
        if (!java.util.Objects.equals(m.datasetSha256(), spec.datasetSha256())) {
            throw new StoreIncompatibleException("store " + dir + " was made from dataset sha256 " + m.datasetSha256()
                    + ", not from this dataset (sha256 " + spec.datasetSha256() + ")" + fix);
        }
        if (m.stringLength() != spec.stringLength() || m.stringCount() != spec.stringCount()) {
            throw new StoreIncompatibleException("store " + dir + " holds " + m.stringCount() + " strings of length L=" + m.stringLength()
                    + ", not " + spec.stringCount() + " of length L=" + spec.stringLength() + fix);
        }
        if (m.shardStrings() != spec.shardStrings()) {
            throw new StoreIncompatibleException("store " + dir + " uses shards of " + m.shardStrings() + " strings, not "
                    + spec.shardStrings() + ": resume with the same shard size" + fix.replace(": ", ", "));
        }
        TreeSet<String> have = new TreeSet<>();
        for (Manifest.Entry e : m.entries()) {
            have.add(e.key() + " dim " + e.dim());
        }
        TreeSet<String> want = new TreeSet<>();
        for (EntrySpec e : spec.entries()) {
            want.add(e.key() + " dim " + e.dim());
        }
        if (!have.equals(want)) {
            throw new StoreIncompatibleException("store " + dir + " holds " + summarize(have) + ", but this extraction asks for "
                    + summarize(want) + ": ask for the same sites, blocks and positions" + fix.replace(": ", ", "));
        }
    }

    private static String summarize(TreeSet<String> entries) {
        List<String> list = new ArrayList<>(entries);
        String s = String.join(", ", list.subList(0, Math.min(6, list.size())));
        return "[" + s + (list.size() > 6 ? ", ... " + (list.size() - 6) + " more" : "") + "]";
    }

    private void loadPrefixIndexes() {
        try (Arena arena = Arena.ofConfined()) {
            for (Manifest.PrefixIndexFile p : manifest.prefixIndexes()) {
                NpyArray a;
                try {
                    a = Npy.map(dir.resolve(p.file()), arena);
                } catch (NpyFormatException e) {
                    throw new StoreDamagedException("store " + dir + " cannot be resumed: prefix index "
                            + e.file().getFileName() + " " + e.problem() + ": start it over", e);
                }
                if (a.dtype() != NpyDtype.INT32 || a.ndim() != 1 || a.dim(0) != p.rows()
                        || Npy.crc32c(a.data()) != Long.parseLong(p.crc32c(), 16)) {
                    throw new StoreDamagedException("store " + dir + " cannot be resumed: prefix index " + p.file()
                            + " does not match its manifest: start it over");
                }
                prefixIndexes.put(p.position(), a.toIntArray());
            }
        }
    }

    /** Deletes temp files and shard files of shards not yet committed (left by a killed run). */
    private void deleteUncommitted() {
        try (Stream<Path> top = Files.list(dir)) {
            for (Path p : top.toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(NpyFileWriter.TEMP_SUFFIX) && TOP_FILE.matcher(name).matches()) {
                    Files.deleteIfExists(p);
                } else if (Files.isDirectory(p) && ENTRY_FOLDER.matcher(name).matches()) {
                    try (Stream<Path> files = Files.list(p)) {
                        for (Path f : files.toList()) {
                            var m = SHARD_FILE.matcher(f.getFileName().toString());
                            if (m.matches() && (m.group(3) != null || Integer.parseInt(m.group(2)) >= manifest.shardsDone())) {
                                Files.deleteIfExists(f);
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw FileOps.io("clean up", dir, e);
        }
    }

    /** Deletes the files a store is made of (and only those: other files in the folder stay). */
    private void deleteStoreFiles() {
        try (Stream<Path> top = Files.list(dir)) {
            for (Path p : top.toList()) {
                String name = p.getFileName().toString();
                if (TOP_FILE.matcher(name).matches() && Files.isRegularFile(p)) {
                    Files.delete(p);
                } else if (Files.isDirectory(p) && ENTRY_FOLDER.matcher(name).matches()) {
                    try (Stream<Path> files = Files.list(p)) {
                        for (Path f : files.toList()) {
                            if (SHARD_FILE.matcher(f.getFileName().toString()).matches()) {
                                Files.delete(f);
                            }
                        }
                    }
                    if (isEmptyBesidesLock(p)) {
                        Files.delete(p);
                    }
                }
            }
        } catch (IOException e) {
            throw FileOps.io("delete the old store in", dir, e);
        }
    }

    private static boolean isEmptyBesidesLock(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.allMatch(p -> p.getFileName().toString().equals(LOCK_FILE));
        } catch (IOException e) {
            throw FileOps.io("list", dir, e);
        }
    }

    public Path dir() {
        return dir;
    }

    public StoreSpec spec() {
        return spec;
    }

    /** The manifest as committed so far. */
    public Manifest manifest() {
        return manifest;
    }

    public int shardCount() {
        return spec.shardCount();
    }

    /** The first string shard not yet committed: where to resume; {@link #shardCount()} when complete. */
    public int nextShard() {
        return manifest.shardsDone();
    }

    public boolean complete() {
        return manifest.complete();
    }

    public boolean hasStrings() {
        return manifest.strings() != null;
    }

    /** Whether the prefix index of {@code position} is stored. */
    public boolean hasPrefixIndex(int position) {
        return prefixIndexes.containsKey(position);
    }

    /**
     * Stores strings.npy: uint8 [N, L] token ids, string-major ({@code N*L} bytes). Does nothing
     * when the store already has these strings; refuses different ones.
     *
     * @throws StoreIncompatibleException when the store holds other strings
     * @throws FileAccessException when the file cannot be written
     * @throws ClosedException when the writer is closed
     */
    public void putStrings(MemorySegment tokens) {
        checkOpen();
        long n = (long) spec.stringCount() * spec.stringLength();
        if (tokens.byteSize() != n) {
            throw new IllegalArgumentException("strings need N*L = " + n + " bytes, got " + tokens.byteSize());
        }
        int vocab = spec.model().vocabSize();
        for (long i = 0; i < n; i++) {
            if ((tokens.get(Npy.UINT8, i) & 0xFF) >= vocab) {
                throw new IllegalArgumentException("token id " + (tokens.get(Npy.UINT8, i) & 0xFF) + " at byte " + i
                        + " is outside the vocabulary of " + vocab);
            }
        }
        String crc = Npy.hex(Npy.crc32c(tokens));
        if (manifest.strings() != null) {
            if (!manifest.strings().crc32c().equals(crc)) {
                throw new StoreIncompatibleException("store " + dir + " holds other strings than this extraction makes"
                        + " (same dataset and L): start it over");
            }
            return;
        }
        Npy.write(dir.resolve(Manifest.STRINGS_FILE), NpyDtype.UINT8,
                new long[] {spec.stringCount(), spec.stringLength()}, tokens);
        FileOps.fsyncDir(dir);
        commitManifest(withFiles(new Manifest.FileRef(Manifest.STRINGS_FILE, crc), manifest.prefixIndexes()));
    }

    public void putStrings(byte[] tokens) {
        putStrings(MemorySegment.ofArray(tokens));
    }

    /**
     * Stores the prefix index of an earlier {@code position} t: for each unique prefix of length
     * t+1, in order, the first string that has it (so strictly increasing, starting at 0). Does
     * nothing when already stored; refuses a different one.
     *
     * @throws StoreIncompatibleException when the store holds another prefix index for
     *     {@code position}
     * @throws FileAccessException when the file cannot be written
     * @throws ClosedException when the writer is closed
     */
    public void putPrefixIndex(int position, int[] firstStrings) {
        checkOpen();
        if (position < 0 || position >= spec.stringLength() - 1) {
            throw new IllegalArgumentException("prefix indexes are for positions 0.." + (spec.stringLength() - 2) + ", got " + position);
        }
        if (firstStrings.length == 0 || firstStrings[0] != 0) {
            throw new IllegalArgumentException("a prefix index starts with string 0");
        }
        for (int r = 1; r < firstStrings.length; r++) {
            if (firstStrings[r] <= firstStrings[r - 1] || firstStrings[r] >= spec.stringCount()) {
                throw new IllegalArgumentException("prefix index of position " + position + " is not strictly increasing below N at row " + r);
            }
        }
        String crc = Npy.hex(Npy.crc32c(Npy.littleEndian(firstStrings)));
        Manifest.PrefixIndexFile have = manifest.prefixIndex(position);
        if (have != null) {
            if (!have.crc32c().equals(crc) || have.rows() != firstStrings.length) {
                throw new StoreIncompatibleException("store " + dir + " holds another prefix index for position "
                        + position + " than this extraction makes: start it over");
            }
            return;
        }
        String file = prefixFile(position);
        Npy.writeInts(dir.resolve(file), firstStrings);
        FileOps.fsyncDir(dir);
        List<Manifest.PrefixIndexFile> list = new ArrayList<>(manifest.prefixIndexes());
        list.add(new Manifest.PrefixIndexFile(position, firstStrings.length, file, crc));
        list.sort((a, b) -> Integer.compare(a.position(), b.position()));
        commitManifest(withFiles(manifest.strings(), list));
        prefixIndexes.put(position, firstStrings.clone());
    }

    private Manifest withFiles(Manifest.FileRef strings, List<Manifest.PrefixIndexFile> prefixes) {
        Manifest m = manifest;
        return new Manifest(m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(), m.stringLength(),
                m.stringCount(), m.shardStrings(), m.shardsTotal(), m.shardsDone(), strings, m.labels(), prefixes, m.entries());
    }

    private void commitManifest(Manifest m) {
        m.validate(dir.resolve(Manifest.FILE));
        m.write(dir);
        manifest = m;
    }

    /**
     * Opens string shard {@code i} (which must be {@link #nextShard()}) of every entry: maps a
     * temp file per entry for the caller to fill. Needs the strings and every earlier position's
     * prefix index stored first.
     *
     * @throws FileAccessException when the disk has too little space for the shard, or its files
     *     cannot be created
     * @throws ClosedException when the writer is closed
     */
    public Shard beginShard(int i) {
        checkOpen();
        if (open != null) {
            throw new IllegalStateException("shard " + open.index + " is still open");
        }
        if (i != nextShard()) {
            throw new IllegalStateException("the next shard to write is " + nextShard() + ", not " + i);
        }
        if (!hasStrings()) {
            throw new IllegalStateException("putStrings before writing shards");
        }
        for (EntrySpec e : spec.entries()) {
            if (!isLast(e.key()) && !prefixIndexes.containsKey(e.key().position())) {
                throw new IllegalStateException("putPrefixIndex(" + e.key().position() + ") before writing shards");
            }
        }
        open = new Shard(i);
        return open;
    }

    private boolean isLast(EntryKey k) {
        return k.position() == spec.stringLength() - 1;
    }

    private static String prefixFile(int position) {
        return "prefix-t" + position + ".npy";
    }

    static String vectorsFile(EntryKey k, int shard) {
        return k.folder() + "/" + String.format("vectors-%05d.npy", shard);
    }

    static String normsFile(EntryKey k, int shard) {
        return k.folder() + "/" + String.format("norms-%05d.npy", shard);
    }

    private void checkOpen() {
        if (closed) {
            throw new ClosedException("store writer for " + dir + " is closed: open the store again to write it");
        }
    }

    /** Abandons an open shard (its temp files are deleted) and releases the store's lock. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (open != null) {
            open.close();
        }
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do while cleaning up
            }
        }
    }

    /** String shard i of every entry, being filled. */
    public final class Shard implements AutoCloseable {
        private final int index;
        private final int firstString;
        private final int endString;
        private final int[] firstRows;
        private final int[] rows;
        private final NpyFileWriter[] vectors;
        private final NpyFileWriter[] norms;
        private boolean finished;

        private Shard(int index) {
            this.index = index;
            this.firstString = manifest.shardFirstString(index);
            this.endString = manifest.shardEndString(index);
            int n = spec.entries().size();
            firstRows = new int[n];
            rows = new int[n];
            long bytes = 0;
            for (int e = 0; e < n; e++) {
                EntrySpec es = spec.entries().get(e);
                if (isLast(es.key())) {
                    firstRows[e] = firstString;
                    rows[e] = endString - firstString;
                } else {
                    int[] pi = prefixIndexes.get(es.key().position());
                    firstRows[e] = lowerBound(pi, firstString);
                    rows[e] = lowerBound(pi, endString) - firstRows[e];
                }
                bytes += (long) rows[e] * (es.dim() + 1) * Float.BYTES + 4L * NpyHeader.ALIGN; // data + two headers
            }
            long free = FileOps.usableSpace(dir);
            if (bytes > free) {
                throw new FileAccessException("not enough disk space in " + dir + " for shard " + index + ": it needs "
                        + FileOps.bytes(bytes) + ", " + FileOps.bytes(free) + " are free; free some space and run again to resume");
            }
            vectors = new NpyFileWriter[n];
            norms = new NpyFileWriter[n];
            try {
                for (int e = 0; e < n; e++) {
                    EntrySpec es = spec.entries().get(e);
                    Files.createDirectories(dir.resolve(es.key().folder()));
                    vectors[e] = NpyFileWriter.create(dir.resolve(vectorsFile(es.key(), index)), NpyDtype.FLOAT32, rows[e], es.dim());
                    norms[e] = NpyFileWriter.create(dir.resolve(normsFile(es.key(), index)), NpyDtype.FLOAT32, rows[e]);
                }
            } catch (IOException e) {
                abort();
                throw FileOps.io("create a shard in", dir, e);
            } catch (RuntimeException e) {
                abort();
                throw e;
            }
        }

        private static int lowerBound(int[] sorted, int value) {
            int i = Arrays.binarySearch(sorted, value);
            return i >= 0 ? i : -i - 1;
        }

        public int index() {
            return index;
        }

        /** This shard covers strings [firstString, endString). */
        public int firstString() {
            return firstString;
        }

        public int endString() {
            return endString;
        }

        /** Rows of entry {@code entry} (index in the spec's entries) in this shard. */
        public int rows(int entry) {
            return rows[entry];
        }

        public int rows(EntryKey key) {
            return rows[indexOf(key)];
        }

        /**
         * The entry's row of this shard's first row: the string index at the last position, the
         * prefix row (index into the prefix index) at an earlier one.
         */
        public int firstRow(int entry) {
            return firstRows[entry];
        }

        public int firstRow(EntryKey key) {
            return firstRows[indexOf(key)];
        }

        /** Where to write the entry's float32 [rows, dim] vectors (little-endian, row-major). */
        public MemorySegment vectors(int entry) {
            if (finished) {
                throw new IllegalStateException("shard " + index + " is committed or closed");
            }
            return vectors[entry].data();
        }

        public MemorySegment vectors(EntryKey key) {
            return vectors(indexOf(key));
        }

        private int indexOf(EntryKey key) {
            for (int e = 0; e < spec.entries().size(); e++) {
                if (spec.entries().get(e).key().equals(key)) {
                    return e;
                }
            }
            throw new IllegalArgumentException("entry " + key + " is not in this store's spec");
        }

        /**
         * Computes the norms, makes every file of the shard durable and final, then records the
         * shard in the manifest. Refuses NaN or infinite values (and deletes the shard).
         *
         * @throws InvalidDataException when a vector holds a NaN or infinite value, or its norm
         *     overflows float32
         * @throws FileAccessException when a file cannot be written
         */
        public void commit() {
            if (finished) {
                throw new IllegalStateException("shard " + index + " is committed or closed");
            }
            int n = spec.entries().size();
            String[] vcrc = new String[n];
            String[] ncrc = new String[n];
            Manifest.Codes[] codes;  // the shard's RowCodes, written from its final vectors files
            try {
                // No task throws: a task that fails cancels (and interrupts) the others, whose
                // secondary errors (ClosedByInterruptException) could then be reported instead.
                long[] bad = new long[n];
                IntStream.range(0, n).parallel().forEach(e ->
                        bad[e] = RowNorms.compute(vectors[e].data(), rows[e], spec.entries().get(e).dim(), norms[e].data()));
                for (int e = 0; e < n; e++) {
                    if (bad[e] >= 0) {
                        int col = RowNorms.firstNonFinite(vectors[e].data(), bad[e], spec.entries().get(e).dim());
                        throw new InvalidDataException("shard " + index + " of " + spec.entries().get(e).key() + " has "
                                + (col >= 0 ? "a NaN or infinite value at row " + (firstRows[e] + bad[e]) + ", column " + col
                                : "a row (" + (firstRows[e] + bad[e]) + ") whose norm overflows float32")
                                + ": the model produced it; check the model file and extract again");
                    }
                }
                RuntimeException[] failed = new RuntimeException[n];
                IntStream.range(0, n).parallel().forEach(e -> {
                    try {
                        vcrc[e] = Npy.hex(vectors[e].finish());
                        ncrc[e] = Npy.hex(norms[e].finish());
                    } catch (RuntimeException x) {
                        failed[e] = x;
                    }
                });
                for (RuntimeException x : failed) {
                    if (x != null) {
                        throw x;
                    }
                }
                codes = RowCodes.writeAll(dir, IntStream.range(0, n).mapToObj(e -> vectorsFile(spec.entries().get(e).key(),
                        index)).toArray(String[]::new), rows, spec.entries().stream().mapToInt(EntrySpec::dim).toArray());
                for (EntrySpec es : spec.entries()) {
                    FileOps.fsyncDir(dir.resolve(es.key().folder()));
                }
            } catch (RuntimeException e) {
                abort();
                deleteFinals();
                throw e;
            }
            // a resumed manifest may list the entries in another order than this spec
            List<Manifest.Entry> entries = new ArrayList<>();
            for (Manifest.Entry old : manifest.entries()) {
                EntryKey k = old.key();
                int e = indexOf(k);
                List<Manifest.Shard> shards = new ArrayList<>(old.shards());
                shards.add(new Manifest.Shard(vectorsFile(k, index), rows[e], vcrc[e], normsFile(k, index), ncrc[e], codes[e]));
                entries.add(new Manifest.Entry(old.site(), old.block(), old.position(), old.dim(), old.rows() + rows[e],
                        old.prefixIndex(), shards));
            }
            Manifest m = manifest;
            commitManifest(new Manifest(m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(),
                    m.stringLength(), m.stringCount(), m.shardStrings(), m.shardsTotal(), index + 1, m.strings(), m.labels(),
                    m.prefixIndexes(), entries));
            finished = true;
            open = null;
        }

        private void abort() {
            finished = true;
            open = null;
            for (NpyFileWriter[] ws : new NpyFileWriter[][] {vectors, norms}) {
                if (ws == null) {
                    continue;
                }
                for (NpyFileWriter w : ws) {
                    if (w != null) {
                        w.close();
                    }
                }
            }
        }

        private void deleteFinals() {
            for (EntrySpec es : spec.entries()) {
                try {
                    Files.deleteIfExists(dir.resolve(vectorsFile(es.key(), index)));
                    Files.deleteIfExists(dir.resolve(normsFile(es.key(), index)));
                    Files.deleteIfExists(dir.resolve(RowCodes.codesFile(vectorsFile(es.key(), index))));
                    Files.deleteIfExists(dir.resolve(RowCodes.scalesFile(vectorsFile(es.key(), index))));
                } catch (IOException ignored) {
                    // not named by the manifest; resuming deletes it
                }
            }
        }

        /** Abandons the shard unless committed: unmaps and deletes its temp files. */
        @Override
        public void close() {
            if (!finished) {
                abort();
            }
        }
    }
}
