package io.blocksim.store;

import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.TargetExistsException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Makes a store from vectors a user already has ({@code blocksim import}): a float32 [rows, dim]
 * .npy and a labels file with one label per row. The store is built in a hidden temp folder
 * beside the target and renamed into place only when complete, so a failed import leaves nothing.
 * Each shard gets its {@link RowCodes} too.
 * Vectors are copied shard by shard between mapped files, never held whole on the heap.
 */
public final class StoreImporter {
    /** Shards of about this many bytes of vectors. */
    public static final long DEFAULT_SHARD_BYTES = 256L << 20;

    private StoreImporter() {
    }

    /**
     * Imports {@code vectorsNpy} (float32 [rows, dim]) with one label per row from
     * {@code labelsTxt} into a new store at {@code outDir}, under site {@code siteName}; shards of
     * about {@link #DEFAULT_SHARD_BYTES}. See {@link #importVectors(Path, Path, Path, String, int)}.
     *
     * @throws TargetExistsException when {@code outDir} exists
     * @throws InvalidArgumentException for a site name that is not a lower-case identifier
     * @throws FileAccessException when an input file does not exist or cannot be read, or the
     *     store cannot be written (the disk is full, the folder is read-only)
     * @throws InvalidDataException for vectors that are not a float32 [rows, dim] npy file or hold
     *     a NaN or infinite value, or labels that are not UTF-8 or not one per row
     */
    public static StoreInfo importVectors(Path vectorsNpy, Path labelsTxt, Path outDir, String siteName) {
        return importVectors(vectorsNpy, labelsTxt, outDir, siteName, 0);
    }

    /**
     * As {@link #importVectors(Path, Path, Path, String)} with {@code shardRows} rows per shard
     * (0: about {@link #DEFAULT_SHARD_BYTES} per shard). The store has one entry, (siteName,
     * block 0, position 0), and L = 1. Nothing is left behind when it fails.
     *
     * @throws InvalidArgumentException for a negative {@code shardRows} or a site name that is not
     *     a lower-case identifier
     * @throws TargetExistsException when {@code outDir} exists
     * @throws FileAccessException when an input file does not exist or cannot be read, or the
     *     store cannot be written (the disk is full, the folder is read-only)
     * @throws InvalidDataException for vectors that are not a float32 [rows, dim] npy file or hold
     *     a NaN or infinite value, or labels that are not UTF-8 or not one per row
     */
    public static StoreInfo importVectors(Path vectorsNpy, Path labelsTxt, Path outDir, String siteName, int shardRows) {
        EntryKey key = new EntryKey(siteName, 0, 0);
        if (shardRows < 0) {
            throw new InvalidArgumentException("shard rows must be >= 1 (or 0 for the default), got " + shardRows);
        }
        if (Files.exists(outDir)) {
            throw new TargetExistsException(outDir + " already exists: import into a new directory");
        }
        try (Arena arena = Arena.ofConfined()) {
            NpyArray in = mapVectors(vectorsNpy, arena);
            long rows = in.dim(0);
            int dim = (int) in.dim(1);
            List<String> labels = readLabels(labelsTxt);
            if (labels.size() != rows) {
                throw new InvalidDataException(labelsTxt + " has " + labels.size() + " labels but "
                        + vectorsNpy.getFileName() + " has " + rows + " rows: give exactly one label per line for each row");
            }
            int perShard = shardRows > 0 ? shardRows : (int) Math.max(1, Math.min(Integer.MAX_VALUE, DEFAULT_SHARD_BYTES / (4L * dim)));
            return build(in, labels, outDir, key, (int) rows, dim, perShard, vectorsNpy);
        }
    }

    private static NpyArray mapVectors(Path file, Arena arena) {
        if (!Files.exists(file)) {
            throw new FileAccessException(file + " does not exist: give the .npy file of float32 [rows, dim] vectors to import");
        }
        NpyArray a;
        try {
            a = Npy.map(file, arena);
        } catch (NpyFormatException e) {
            // the file is a real npy file the user saved correctly; say what about it blocksim cannot
            // read and the one line that converts it (a big-endian or other dtype, Fortran order)
            if (e.problem().startsWith("has unsupported dtype") || e.problem().startsWith("is in Fortran")) {
                throw new InvalidDataException(file + " " + e.problem() + ": importing reads little-endian float32 ('<f4')"
                        + " in C order; convert it with numpy.save(f, numpy.ascontiguousarray(a, dtype='<f4'))", e);
            }
            throw e; // its message names the problem and the fix
        }
        if (a.dtype() != NpyDtype.FLOAT32) {
            throw new InvalidDataException(file + " holds " + a.dtype().numpyName() + " ('" + a.dtype().descr()
                    + "') values: importing reads float32 ('<f4'); convert it with numpy.save(f, a.astype('<f4'))");
        }
        if (a.ndim() != 2) {
            throw new InvalidDataException(file + " has shape " + a.header().shapeString() + ": importing needs a 2-D array"
                    + " [rows, dim]; reshape it, e.g. a.reshape(len(a), -1)");
        }
        if (a.dim(0) < 1 || a.dim(1) < 1) {
            throw new InvalidDataException(file + " has shape " + a.header().shapeString() + ": it needs at least one row and one column");
        }
        if (a.dim(0) > Integer.MAX_VALUE || a.dim(1) > Integer.MAX_VALUE) {
            throw new InvalidDataException(file + " has shape " + a.header().shapeString() + ": at most " + Integer.MAX_VALUE
                    + " rows and columns are supported");
        }
        return a;
    }

    private static List<String> readLabels(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new FileAccessException(file + " does not exist: give a text file with one label per line, one per vector row");
        } catch (IOException e) {
            throw FileOps.io("read", file, e);
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            if (text.startsWith("\uFEFF")) {
                text = text.substring(1); // a byte-order mark is not part of the first label
            }
            return Labels.split(text);
        } catch (CharacterCodingException e) {
            throw new InvalidDataException(file + " is not UTF-8 text: save the labels as UTF-8, one per line");
        }
    }

    private static StoreInfo build(NpyArray in, List<String> labels, Path outDir, EntryKey key, int rows, int dim,
                                   int perShard, Path source) {
        Path target = outDir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        Deque<Path> createdParents = createParents(parent);
        Path tmp;
        try {
            // not createTempDirectory: its 0700 would stay on the store after the rename; a plain
            // createDirectory gets the caller's umask, as mkdir would. The pid and clock make the name unique.
            tmp = Files.createDirectory(parent.resolve("." + target.getFileName() + ".import-"
                    + ProcessHandle.current().pid() + "-" + System.nanoTime()));
        } catch (IOException e) {
            removeEmpty(createdParents);
            throw FileOps.io("create a folder in", parent, e);
        }
        try {
            int shards = Manifest.shardsFor(rows, perShard);
            long need = (long) rows * ((dim + 1) * Float.BYTES + dim + 2 * Float.BYTES) + 512L * shards;  // with codes
            long free = FileOps.usableSpace(parent);
            if (need > free) {
                throw new FileAccessException("not enough disk space in " + parent + ": the store needs " + FileOps.bytes(need) + ", "
                        + FileOps.bytes(free) + " are free");
            }
            Files.createDirectories(tmp.resolve(key.folder()));
            List<Manifest.Shard> refs = new ArrayList<>();
            for (int i = 0; i < shards; i++) {
                int first = (int) Math.min((long) i * perShard, rows);
                int n = (int) Math.min((long) (i + 1) * perShard, rows) - first;
                refs.add(copyShard(in.data(), tmp, key, i, first, n, dim, source));
            }
            FileOps.fsyncDir(tmp.resolve(key.folder()));
            byte[] text = (String.join("\n", labels) + "\n").getBytes(StandardCharsets.UTF_8);
            FileOps.writeAtomically(tmp.resolve(Manifest.LABELS_FILE), text);
            String labelsCrc = Npy.hex(Npy.crc32c(MemorySegment.ofArray(text)));
            Manifest m = new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, Manifest.KIND_IMPORTED, null, null, 1, rows,
                    perShard, shards, shards, null, new Manifest.FileRef(Manifest.LABELS_FILE, labelsCrc), List.of(),
                    List.of(new Manifest.Entry(key.site(), 0, 0, dim, rows, null, refs)));
            m.validate(tmp.resolve(Manifest.FILE));
            m.write(tmp);
            FileOps.fsyncDir(tmp);
            Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            FileOps.fsyncDir(parent);
        } catch (IOException | RuntimeException e) {
            try {
                FileOps.deleteRecursively(tmp);
            } catch (IOException ignored) {
                // best effort; the hidden temp folder is harmless
            }
            removeEmpty(createdParents);
            if (e instanceof IOException io) {
                throw FileOps.io("write the store", target, io);
            }
            throw (RuntimeException) e;
        }
        return StoreInfo.of(outDir);
    }

    private static Manifest.Shard copyShard(MemorySegment src, Path tmp, EntryKey key, int shard, int first, int n, int dim,
                                            Path source) {
        String vName = StoreWriter.vectorsFile(key, shard);
        String nName = StoreWriter.normsFile(key, shard);
        try (NpyFileWriter v = NpyFileWriter.create(tmp.resolve(vName), NpyDtype.FLOAT32, n, dim);
             NpyFileWriter norms = NpyFileWriter.create(tmp.resolve(nName), NpyDtype.FLOAT32, n)) {
            long bytesPerRow = (long) dim * Float.BYTES;
            MemorySegment.copy(src, first * bytesPerRow, v.data(), 0, n * bytesPerRow);
            long bad = RowNorms.compute(v.data(), n, dim, norms.data());
            if (bad >= 0) {
                int col = RowNorms.firstNonFinite(v.data(), bad, dim);
                long row = first + bad;
                throw new InvalidDataException(source + (col >= 0 ? " has a NaN or infinite value at row " + row + ", column " + col
                        : " has a row (" + row + ") whose L2 norm overflows float32")
                        + ": fix or drop such rows, e.g. keep a[numpy.isfinite(a).all(axis=1)] and their labels");
            }
            String vCrc = Npy.hex(v.finish());
            String nCrc = Npy.hex(norms.finish());
            return new Manifest.Shard(vName, n, vCrc, nName, nCrc, RowCodes.write(tmp, vName, n, dim));
        }
    }

    /** Creates the missing ancestors of {@code dir}, returning them deepest first so a failure can remove them. */
    private static Deque<Path> createParents(Path dir) {
        Deque<Path> created = new ArrayDeque<>();
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            created.addLast(p);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            removeEmpty(created);
            throw FileOps.io("create", dir, e);
        }
        return created;
    }

    private static void removeEmpty(Deque<Path> dirs) {
        for (Path p : dirs) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // not empty or not ours to remove
            }
        }
    }
}
