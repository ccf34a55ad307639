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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>{@link Shard#commitInBackground()} instead of {@code commit()} lets the caller fill the next
 * shard while this one's files are written and synced to disk and the manifest records it (an
 * extraction keeps both cores computing that way); the writer holds one shard in flight at a time,
 * and a failure there is thrown by the next call ({@code beginShard}, a commit,
 * {@link #awaitCommitted()} or {@link #close()}), after which the writer goes on at that shard.
 * The writer's shards are filled in native buffers that it reuses, two sets of them (one being
 * filled while the other is written: twice the largest shard's size in memory), and written with
 * direct I/O where the file system allows it (see {@link NpyFileWriter}).
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
    /** A shard file: final, a task's finished part ({@code .part-TAG}), or either being written ({@code .tmp}). */
    private static final Pattern SHARD_FILE = Pattern.compile(
            "(vectors|norms|codes|codescales)-(\\d+)\\.npy(\\.part-[A-Za-z0-9_-]+)?(\\.tmp)?");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_-]{1,100}");
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
    /**
     * Per entry, two buffers its vectors files are filled in (header and data), each sized for the
     * largest shard and reused: shard i fills set i % 2 while shard i - 1's set is being written.
     */
    private final Arena buffers = Arena.ofShared();
    private final MemorySegment[][] vectorBuffers = new MemorySegment[2][];
    /** Writes, fsyncs, renames and manifest writes of shards committed in the background, in order. */
    private ExecutorService committer;
    private Future<?> inFlight;
    /** The manifest before the shard in flight: what the writer returns to when that commit fails. */
    private Manifest beforeInFlight;
    /** The bytes the shard in flight writes (0 when none is). */
    private long inFlightBytes;
    /** A background commit's failure not yet thrown: the next call throws it, once. */
    private RuntimeException failed;

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
                            if (m.matches() && (m.group(3) != null || m.group(4) != null
                                    || Integer.parseInt(m.group(2)) >= manifest.shardsDone())) {
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

    /**
     * The manifest as committed so far, including a shard committed in the background whose files
     * may not be durable yet ({@link #awaitCommitted()} waits for that; should that fail, the
     * writer returns to the manifest before it).
     */
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
        awaitInFlight();
        checkOpen();
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
            throw new IllegalStateException("shard " + open.index() + " is still open");
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
        if (failed != null) {
            RuntimeException e = failed;
            failed = null;
            throw e;
        }
    }

    /**
     * Waits until every shard committed in the background is durable and in the manifest on disk.
     *
     * @throws FileAccessException when a background commit failed (its files are deleted, and the
     *     writer goes on at that shard: {@link #nextShard()})
     * @throws ClosedException when the writer is closed
     */
    public void awaitCommitted() {
        checkOpen();
        awaitInFlight();
        checkOpen();
    }

    private void awaitInFlight() {
        Future<?> f = inFlight;
        if (f == null) {
            return;
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the commit must end before anything else touches the store
                } catch (ExecutionException e) {
                    failed = e.getCause() instanceof RuntimeException r ? r
                            : new FileAccessException("could not commit a shard of " + dir + ": " + e.getCause(), e.getCause());
                    manifest = beforeInFlight;
                    break;
                }
            }
        } finally {
            inFlight = null;
            beforeInFlight = null;
            inFlightBytes = 0;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Buffer set {@code set} for the writer's shards: per entry, room for its largest shard's vectors file. */
    private MemorySegment[] vectorBuffers(int set) {
        if (vectorBuffers[set] == null) {
            int n = spec.entries().size();
            long[] maxRows = new long[n];
            for (int i = 0; i < spec.shardCount(); i++) {
                ShardLayout l = layout(i);
                for (int e = 0; e < n; e++) {
                    maxRows[e] = Math.max(maxRows[e], l.rows(e));
                }
            }
            MemorySegment[] b = new MemorySegment[n];
            for (int e = 0; e < n; e++) {
                b[e] = buffers.allocate(NpyFileWriter.bufferBytes(NpyDtype.FLOAT32, maxRows[e], spec.entries().get(e).dim()),
                        NpyFileWriter.DIRECT_ALIGN);
            }
            vectorBuffers[set] = b;
        }
        return vectorBuffers[set];
    }

    /**
     * Abandons an open shard (its temp files are deleted), waits for a shard committed in the
     * background, frees the buffers and releases the store's lock.
     *
     * @throws FileAccessException when a background commit failed and no earlier call threw it
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (open != null) {
            open.close();
        }
        awaitInFlight();
        if (committer != null) {
            committer.shutdown();
        }
        buffers.close();
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
        if (failed != null) {
            RuntimeException e = failed;
            failed = null;
            throw e;
        }
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

    /**
     * Where string shard {@code i} lies in every entry: what a process that writes the shard's
     * files without this writer ({@link #createShardFiles}) needs to know. Needs the strings and
     * every earlier position's prefix index stored first.
     *
     * @throws ClosedException when the writer is closed
     * @throws IndexOutOfBoundsException for {@code i} outside 0..shardCount()-1
     */
    public ShardLayout layout(int i) {
        checkOpen();
        if (i < 0 || i >= shardCount()) {
            throw new IndexOutOfBoundsException("shard " + i + " outside 0.." + (shardCount() - 1));
        }
        for (EntrySpec e : spec.entries()) {
            if (!isLast(e.key()) && !prefixIndexes.containsKey(e.key().position())) {
                throw new IllegalStateException("putPrefixIndex(" + e.key().position() + ") before writing shards");
            }
        }
        int n = spec.entries().size();
        int first = manifest.shardFirstString(i);
        int end = manifest.shardEndString(i);
        int[] firstRows = new int[n];
        int[] rows = new int[n];
        String[] folders = new String[n];
        int[] dims = new int[n];
        for (int e = 0; e < n; e++) {
            EntrySpec es = spec.entries().get(e);
            folders[e] = es.key().folder();
            dims[e] = es.dim();
            if (isLast(es.key())) {
                firstRows[e] = first;
                rows[e] = end - first;
            } else {
                int[] pi = prefixIndexes.get(es.key().position());
                firstRows[e] = lowerBound(pi, first);
                rows[e] = lowerBound(pi, end) - firstRows[e];
            }
        }
        return new ShardLayout(i, first, end, folders, dims, firstRows, rows);
    }

    private static int lowerBound(int[] sorted, int value) {
        int i = Arrays.binarySearch(sorted, value);
        return i >= 0 ? i : -i - 1;
    }

    /**
     * Creates the files of one shard in the store folder {@code dir} for another process (a task on
     * another machine that sees the same folder) to fill, without a writer, its lock or the
     * manifest: each file is written under a temp name and left, once {@link ShardFiles#seal
     * sealed}, under the name {@code vectors-NNNNN.npy.part-TAG} (likewise norms), which no reader
     * accepts. The writer that holds the store then {@link #commitShard commits} one sealed copy:
     * renames its parts to the shard's names and records it in the manifest. Several copies of a
     * shard (retried or speculative tasks) may be written at once under different tags.
     *
     * @param tag a name unique to this copy: 1..100 of {@code [A-Za-z0-9_-]}
     * @throws FileAccessException when the disk has too little space for the shard, or its files
     *     cannot be created
     * @throws IllegalArgumentException for a tag outside that alphabet
     */
    public static ShardFiles createShardFiles(Path dir, ShardLayout layout, String tag) {
        if (tag == null || !TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("tag '" + tag + "' must be 1..100 of A-Z, a-z, 0-9, '_' and '-'");
        }
        return new ShardFiles(dir, layout, tag, null);
    }

    /**
     * Records a shard sealed by {@link ShardFiles#seal} (in this process or another) as
     * {@link #nextShard()}: checks that its part files are there with their sizes, renames them to
     * the shard's names, makes that durable and commits the manifest. Other copies' parts of the
     * same shard are deleted (a copy still being written is deleted by the next {@link #open} or
     * {@link #deleteLeftovers}).
     *
     * @throws IllegalStateException when {@code sealed} is not the next shard, or was laid out for
     *     another store spec
     * @throws StoreDamagedException when a part file is missing or has the wrong size (the copy is
     *     not committed; run its task again)
     * @throws FileAccessException when a file cannot be renamed
     * @throws ClosedException when the writer is closed
     */
    public void commitShard(SealedShard sealed) {
        checkOpen();
        if (open != null) {
            throw new IllegalStateException("shard " + open.index() + " is still open");
        }
        ShardLayout l = sealed.layout();
        if (l.index() != nextShard()) {
            throw new IllegalStateException("the next shard to commit is " + nextShard() + ", not " + l.index());
        }
        if (!l.equals(layout(l.index()))) {
            throw new IllegalStateException("shard " + l.index() + " was laid out for another store than " + dir);
        }
        int n = l.entries();
        for (int e = 0; e < n; e++) {
            for (String kind : ShardFiles.KINDS) {
                Path part = dir.resolve(l.partFile(e, kind, sealed.tag()));
                long want = ShardFiles.fileBytes(kind, l.rows(e), l.dim(e));
                long have;
                try {
                    have = Files.size(part);
                } catch (IOException x) {
                    throw new StoreDamagedException("shard " + l.index() + " of " + dir + ": its file " + part.getFileName()
                            + " is missing (" + x.getMessage() + "): run the shard again", x);
                }
                if (have != want) {
                    throw new StoreDamagedException("shard " + l.index() + " of " + dir + ": its file " + part.getFileName()
                            + " holds " + have + " bytes, not " + want + ": run the shard again");
                }
            }
        }
        try {
            for (int e = 0; e < n; e++) {
                for (String kind : ShardFiles.KINDS) {
                    FileOps.atomicMove(dir.resolve(l.partFile(e, kind, sealed.tag())), dir.resolve(l.file(e, kind)));
                }
            }
        } catch (IOException x) {
            throw FileOps.io("commit shard " + l.index() + " in", dir, x);
        }
        for (int e = 0; e < n; e++) {
            FileOps.fsyncDir(dir.resolve(l.folder(e)));
        }
        commitManifest(withShard(sealed));
        deleteParts(l.index());
    }

    /** Deletes every part and temp file of shard {@code index} (other copies than the one committed). */
    private void deleteParts(int index) {
        for (EntrySpec es : spec.entries()) {
            Path folder = dir.resolve(es.key().folder());
            try (Stream<Path> files = Files.list(folder)) {
                for (Path f : files.toList()) {
                    var m = SHARD_FILE.matcher(f.getFileName().toString());
                    if (m.matches() && Integer.parseInt(m.group(2)) == index && (m.group(3) != null || m.group(4) != null)) {
                        Files.deleteIfExists(f);
                    }
                }
            } catch (IOException ignored) {
                // the next open deletes what is left
            }
        }
    }

    /**
     * Deletes temp and part files and shard files the manifest does not name: what killed or
     * abandoned copies of shards left (as {@link #open} does when it resumes a store).
     *
     * @throws FileAccessException when the folder cannot be listed or a file deleted
     * @throws ClosedException when the writer is closed
     */
    public void deleteLeftovers() {
        checkOpen();
        awaitInFlight(); // its temp files are not leftovers
        checkOpen();
        deleteUncommitted();
    }

    /** The manifest with a sealed shard added (its files final and durable, or about to be). */
    private Manifest withShard(SealedShard sealed) {
        ShardLayout l = sealed.layout();
        String[] vcrc = sealed.vectorsCrc32c();
        String[] ncrc = sealed.normsCrc32c();
        // a resumed manifest may list the entries in another order than this spec
        List<Manifest.Entry> entries = new ArrayList<>();
        for (Manifest.Entry old : manifest.entries()) {
            EntryKey k = old.key();
            int e = indexOf(k);
            List<Manifest.Shard> shards = new ArrayList<>(old.shards());
            shards.add(new Manifest.Shard(vectorsFile(k, l.index()), l.rows(e), vcrc[e], normsFile(k, l.index()), ncrc[e],
                    sealed.codes(e)));
            entries.add(new Manifest.Entry(old.site(), old.block(), old.position(), old.dim(), old.rows() + l.rows(e),
                    old.prefixIndex(), shards));
        }
        Manifest m = manifest;
        return new Manifest(m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(),
                m.stringLength(), m.stringCount(), m.shardStrings(), m.shardsTotal(), l.index() + 1, m.strings(), m.labels(),
                m.prefixIndexes(), entries);
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
     * Where string shard {@code index} lies: strings [firstString, endString); for entry e (the
     * spec's order) its folder, dimension, first row and row count (prefix rows at an earlier
     * position). Plain values: it may be sent to another process (it is {@link java.io.Serializable}).
     */
    public record ShardLayout(int index, int firstString, int endString, String[] folders, int[] dims, int[] firstRows,
            int[] rows) implements java.io.Serializable {
        public ShardLayout {
            folders = folders.clone();
            dims = dims.clone();
            firstRows = firstRows.clone();
            rows = rows.clone();
            if (folders.length != dims.length || dims.length != firstRows.length || firstRows.length != rows.length) {
                throw new IllegalArgumentException("a shard layout needs one folder, dimension, first row and row count per entry");
            }
            for (String f : folders) {
                if (!ENTRY_FOLDER.matcher(f).matches()) {
                    throw new IllegalArgumentException("'" + f + "' is not an entry folder");
                }
            }
        }

        /** Entries in the shard. */
        public int entries() {
            return folders.length;
        }

        public String folder(int e) {
            return folders[e];
        }

        public int dim(int e) {
            return dims[e];
        }

        public int firstRow(int e) {
            return firstRows[e];
        }

        public int rows(int e) {
            return rows[e];
        }

        @Override
        public String[] folders() {
            return folders.clone();
        }

        @Override
        public int[] dims() {
            return dims.clone();
        }

        @Override
        public int[] firstRows() {
            return firstRows.clone();
        }

        @Override
        public int[] rows() {
            return rows.clone();
        }

        /** Entry e as messages name it: {@code block_output block 3 position 9}. */
        String entryName(int e) {
            var m = java.util.regex.Pattern.compile("(.+)-b(\\d+)-t(\\d+)").matcher(folders[e]);
            return m.matches() ? m.group(1) + " block " + m.group(2) + " position " + m.group(3) : folders[e];
        }

        /** The shard's vectors or norms file of entry e, relative to the store. */
        String file(int e, boolean vectors) {
            return file(e, vectors ? "vectors" : "norms");
        }

        /** The shard's file of entry e of a kind ({@code vectors}, {@code norms}, {@code codes}, {@code codescales}). */
        String file(int e, String kind) {
            return folders[e] + "/" + String.format("%s-%05d.npy", kind, index);
        }

        String partFile(int e, boolean vectors, String tag) {
            return partFile(e, vectors ? "vectors" : "norms", tag);
        }

        String partFile(int e, String kind, String tag) {
            return tag == null ? file(e, kind) : file(e, kind) + ".part-" + tag;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ShardLayout l && index == l.index && firstString == l.firstString && endString == l.endString
                    && Arrays.equals(folders, l.folders) && Arrays.equals(dims, l.dims)
                    && Arrays.equals(firstRows, l.firstRows) && Arrays.equals(rows, l.rows);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(index, firstString, endString, Arrays.hashCode(folders), Arrays.hashCode(dims),
                    Arrays.hashCode(firstRows), Arrays.hashCode(rows));
        }

        @Override
        public String toString() {
            return "shard " + index + " (strings " + firstString + ".." + endString + ", " + folders.length + " entries)";
        }
    }

    /**
     * A shard whose files are complete and durable under {@code tag}'s part names (null: under the
     * shard's own names), with each entry's CRC32C of its vectors' and norms' data (hex, the spec's
     * entry order). Plain values: it may be sent back to the process that commits it.
     */
    public record SealedShard(ShardLayout layout, String tag, String[] vectorsCrc32c, String[] normsCrc32c,
            String[] codesCrc32c, String[] scalesCrc32c) implements java.io.Serializable {
        public SealedShard {
            vectorsCrc32c = vectorsCrc32c.clone();
            normsCrc32c = normsCrc32c.clone();
            codesCrc32c = codesCrc32c.clone();
            scalesCrc32c = scalesCrc32c.clone();
        }

        @Override
        public String[] codesCrc32c() {
            return codesCrc32c.clone();
        }

        @Override
        public String[] scalesCrc32c() {
            return scalesCrc32c.clone();
        }

        /** Entry e's code files as the manifest records them (final names). */
        Manifest.Codes codes(int e) {
            return new Manifest.Codes(layout.file(e, "codes"), codesCrc32c[e], layout.file(e, "codescales"), scalesCrc32c[e]);
        }

        @Override
        public String[] vectorsCrc32c() {
            return vectorsCrc32c.clone();
        }

        @Override
        public String[] normsCrc32c() {
            return normsCrc32c.clone();
        }
    }

    /**
     * The files of one shard being filled: for each entry e a mapped float32 [rows(e), dim(e)]
     * region. {@link #seal} computes the norms and makes them durable; {@link #close} without it
     * deletes them. Not thread-safe (the regions may be filled from several threads).
     */
    public static final class ShardFiles implements AutoCloseable {
        private final Path dir;
        private final ShardLayout layout;
        private final String tag;
        /** The files of an entry in a shard, in this order: float32 vectors and norms, then the {@link RowCodes}. */
        static final List<String> KINDS = List.of("vectors", "norms", "codes", "codescales");

        private final NpyFileWriter[] vectors;
        private final NpyFileWriter[] norms;
        private final NpyFileWriter[] codes;
        private final NpyFileWriter[] scales;
        private String[] vcrc;
        private String[] ncrc;
        private String[] ccrc;
        private String[] scrc;
        private boolean finished;

        /** Bytes of a shard file of this kind, header included. */
        static long fileBytes(String kind, long rows, int dim) {
            return switch (kind) {
                case "vectors" -> NpyFileWriter.bufferBytes(NpyDtype.FLOAT32, rows, dim);
                case "norms" -> NpyFileWriter.bufferBytes(NpyDtype.FLOAT32, rows);
                case "codes" -> NpyFileWriter.bufferBytes(NpyDtype.INT8, rows, dim);
                case "codescales" -> NpyFileWriter.bufferBytes(NpyDtype.FLOAT32, rows, RowCodes.SCALE_COLUMNS);
                default -> throw new IllegalArgumentException(kind);
            };
        }

        /** Bytes of the shard's files. */
        static long bytes(ShardLayout layout) {
            long bytes = 0;
            for (int e = 0; e < layout.entries(); e++) {
                for (String kind : KINDS) {
                    bytes += fileBytes(kind, layout.rows(e), layout.dim(e));
                }
            }
            return bytes;
        }

        /** With {@code buffers} (per entry, for its vectors file; null: buffers of their own). */
        private ShardFiles(Path dir, ShardLayout layout, String tag, MemorySegment[] buffers) {
            this.dir = dir;
            this.layout = layout;
            this.tag = tag;
            int n = layout.entries();
            long bytes = bytes(layout);
            long free = FileOps.usableSpace(dir);
            if (bytes > free) {
                throw new FileAccessException("not enough disk space in " + dir + " for shard " + layout.index() + ": it needs "
                        + FileOps.bytes(bytes) + ", " + FileOps.bytes(free) + " are free; free some space and run again to resume");
            }
            vectors = new NpyFileWriter[n];
            norms = new NpyFileWriter[n];
            codes = new NpyFileWriter[n];
            scales = new NpyFileWriter[n];
            try {
                for (int e = 0; e < n; e++) {
                    Files.createDirectories(dir.resolve(layout.folder(e)));
                }
                // zeroing reused buffers is most of this: both cores
                RuntimeException[] failures = new RuntimeException[n];
                IntStream.range(0, n).parallel().forEach(e -> {
                    try {
                        Path v = dir.resolve(layout.partFile(e, true, tag));
                        vectors[e] = buffers == null ? NpyFileWriter.create(v, NpyDtype.FLOAT32, layout.rows(e), layout.dim(e))
                                : NpyFileWriter.create(v, NpyDtype.FLOAT32, buffers[e], layout.rows(e), layout.dim(e));
                        norms[e] = NpyFileWriter.create(dir.resolve(layout.partFile(e, false, tag)), NpyDtype.FLOAT32,
                                layout.rows(e));
                        codes[e] = NpyFileWriter.create(dir.resolve(layout.partFile(e, "codes", tag)), NpyDtype.INT8,
                                layout.rows(e), layout.dim(e));
                        scales[e] = NpyFileWriter.create(dir.resolve(layout.partFile(e, "codescales", tag)), NpyDtype.FLOAT32,
                                layout.rows(e), RowCodes.SCALE_COLUMNS);
                    } catch (RuntimeException x) {
                        failures[e] = x;
                    }
                });
                for (RuntimeException x : failures) {
                    if (x != null) {
                        throw x;
                    }
                }
            } catch (IOException e) {
                abort();
                throw FileOps.io("create a shard in", dir, e);
            } catch (RuntimeException e) {
                abort();
                throw e;
            }
        }

        public ShardLayout layout() {
            return layout;
        }

        /** Where to write entry e's float32 [rows(e), dim(e)] vectors (little-endian, row-major). */
        public MemorySegment vectors(int entry) {
            if (finished) {
                throw new IllegalStateException("shard " + layout.index() + " is sealed or closed");
            }
            return vectors[entry].data();
        }

        /**
         * Computes the norms, makes every file of the shard durable and gives it its final (or
         * part) name. Refuses NaN or infinite values (and deletes the shard's files).
         *
         * @throws InvalidDataException when a vector holds a NaN or infinite value, or its norm
         *     overflows float32
         * @throws FileAccessException when a file cannot be written
         */
        public SealedShard seal() {
            prepare();
            writeDurably();
            return sealed();
        }

        /**
         * Computes the norms and checksums; refuses NaN or infinite values (and deletes the
         * shard's files). The data is not to be changed afterwards.
         */
        void prepare() {
            if (finished) {
                throw new IllegalStateException("shard " + layout.index() + " is sealed or closed");
            }
            int n = layout.entries();
            String[] vc = new String[n];
            String[] nc = new String[n];
            try {
                // No task throws: a task that fails cancels (and interrupts) the others, whose
                // secondary errors could then be reported instead.
                long[] bad = new long[n];
                IntStream.range(0, n).parallel().forEach(e ->
                        bad[e] = RowNorms.compute(vectors[e].data(), layout.rows(e), layout.dim(e), norms[e].data()));
                for (int e = 0; e < n; e++) {
                    if (bad[e] >= 0) {
                        int col = RowNorms.firstNonFinite(vectors[e].data(), bad[e], layout.dim(e));
                        throw new InvalidDataException("shard " + layout.index() + " of " + layout.entryName(e) + " has "
                                + (col >= 0 ? "a NaN or infinite value at row " + (layout.firstRow(e) + bad[e]) + ", column " + col
                                : "a row (" + (layout.firstRow(e) + bad[e]) + ") whose norm overflows float32")
                                + ": the model produced it; check the model file and extract again");
                    }
                }
                // the codes from the vectors in memory (reading them back from disk would double the I/O)
                String[] cc = new String[n];
                String[] sc = new String[n];
                IntStream.range(0, n).parallel().forEach(e -> {
                    RowCodes.encode(vectors[e].data(), layout.rows(e), layout.dim(e), codes[e].data(), scales[e].data());
                    vc[e] = Npy.hex(vectors[e].crc32c());
                    nc[e] = Npy.hex(norms[e].crc32c());
                    cc[e] = Npy.hex(codes[e].crc32c());
                    sc[e] = Npy.hex(scales[e].crc32c());
                });
                ccrc = cc;
                scrc = sc;
            } catch (RuntimeException e) {
                abort();
                deleteFinals();
                throw e;
            }
            vcrc = vc;
            ncrc = nc;
            finished = true;
        }

        /**
         * Writes every prepared file, makes it durable and gives it its final (or part) name. May
         * run on another thread than {@link #prepare()} (after it); on failure deletes the shard's
         * files.
         */
        void writeDurably() {
            int n = layout.entries();
            try {
                for (NpyFileWriter[] ws : List.of(vectors, norms, codes, scales)) {
                    for (NpyFileWriter w : ws) {
                        w.write();
                    }
                }
                for (NpyFileWriter[] ws : List.of(vectors, norms, codes, scales)) {
                    for (NpyFileWriter w : ws) {
                        w.makeDurable();
                    }
                }
                for (int e = 0; e < n; e++) {
                    FileOps.fsyncDir(dir.resolve(layout.folder(e)));
                }
            } catch (RuntimeException e) {
                closeFiles();
                deleteFinals();
                throw e;
            }
        }

        SealedShard sealed() {
            return new SealedShard(layout, tag, vcrc, ncrc, ccrc, scrc);
        }

        private void abort() {
            finished = true;
            closeFiles();
        }

        /** Closes the files: deletes the temp files of those not yet final. */
        private void closeFiles() {
            for (NpyFileWriter[] ws : new NpyFileWriter[][] {vectors, norms, codes, scales}) {
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
            for (int e = 0; e < layout.entries(); e++) {
                try {
                    for (String kind : KINDS) {
                        Files.deleteIfExists(dir.resolve(layout.partFile(e, kind, tag)));
                    }
                } catch (IOException ignored) {
                    // not named by the manifest; resuming deletes it
                }
            }
        }

        /** Abandons the shard unless sealed: unmaps and deletes its temp files. */
        @Override
        public void close() {
            if (!finished) {
                abort();
            }
        }
    }

    /** String shard i of every entry, being filled by this writer's process. */
    public final class Shard implements AutoCloseable {
        private final ShardLayout layout;
        private final ShardFiles files;
        private boolean finished;

        private Shard(int index) {
            this.layout = layout(index);
            if (ShardFiles.bytes(layout) + inFlightBytes > FileOps.usableSpace(dir)) {
                // the shard in flight may not have written its files yet: when space is tight, let it
                awaitInFlight();
                checkOpen();
            }
            this.files = new ShardFiles(dir, layout, null, vectorBuffers(index % 2));
        }

        public int index() {
            return layout.index();
        }

        /** This shard covers strings [firstString, endString). */
        public int firstString() {
            return layout.firstString();
        }

        public int endString() {
            return layout.endString();
        }

        /** Rows of entry {@code entry} (index in the spec's entries) in this shard. */
        public int rows(int entry) {
            return layout.rows(entry);
        }

        public int rows(EntryKey key) {
            return layout.rows(indexOf(key));
        }

        /**
         * The entry's row of this shard's first row: the string index at the last position, the
         * prefix row (index into the prefix index) at an earlier one.
         */
        public int firstRow(int entry) {
            return layout.firstRow(entry);
        }

        public int firstRow(EntryKey key) {
            return layout.firstRow(indexOf(key));
        }

        /** Where to write the entry's float32 [rows, dim] vectors (little-endian, row-major). */
        public MemorySegment vectors(int entry) {
            if (finished) {
                throw new IllegalStateException("shard " + layout.index() + " is committed or closed");
            }
            return files.vectors(entry);
        }

        public MemorySegment vectors(EntryKey key) {
            return vectors(indexOf(key));
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
            commitInBackground();
            awaitCommitted();
        }

        /**
         * Computes the norms and checksums and refuses NaN or infinite values (and deletes the
         * shard); then returns, while the writer's commit thread writes the shard's files, makes
         * them durable and final and records the shard in the manifest. The next shard may begin at
         * once; a failure of this background part is thrown by the writer's next call. Waits first
         * for the shard committed before this one (at most one is in flight).
         *
         * @throws InvalidDataException when a vector holds a NaN or infinite value, or its norm
         *     overflows float32
         * @throws FileAccessException when the previous shard's background commit failed (this
         *     shard is abandoned too; the writer goes on at that one)
         */
        public void commitInBackground() {
            if (finished) {
                throw new IllegalStateException("shard " + layout.index() + " is committed or closed");
            }
            awaitInFlight();
            if (failed != null) {
                close(); // its index assumed the failed shard was stored
                checkOpen();
            }
            try {
                files.prepare();
            } catch (RuntimeException e) {
                finished = true;
                open = null;
                throw e;
            }
            SealedShard sealed = files.sealed();
            Manifest next;
            try {
                next = withShard(sealed);
                next.validate(dir.resolve(Manifest.FILE));
            } catch (RuntimeException e) {
                files.closeFiles(); // prepared, so close() would leave them open
                finished = true;
                open = null;
                throw e;
            }
            finished = true;
            open = null;
            beforeInFlight = manifest;
            inFlightBytes = ShardFiles.bytes(layout);
            manifest = next;
            if (committer == null) {
                committer = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "blocksim-store-commit");
                    t.setDaemon(true);
                    return t;
                });
            }
            ShardFiles f = files;
            inFlight = committer.submit(() -> {
                f.writeDurably();
                try {
                    next.write(dir);
                } catch (RuntimeException e) {
                    f.deleteFinals();
                    throw e;
                }
            });
        }

        /** Abandons the shard unless committed: unmaps and deletes its temp files. */
        @Override
        public void close() {
            if (!finished) {
                finished = true;
                open = null;
                files.close();
            }
        }
    }
}
