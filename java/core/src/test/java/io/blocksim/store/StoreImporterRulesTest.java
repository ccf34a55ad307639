package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidDataException;
import io.blocksim.spi.VectorShard;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StoreImporter at its boundaries: one value, the default shard size, bad rows, the row/column limit, cleanup. */
class StoreImporterRulesTest {
    @TempDir
    Path tmp;

    private Path labels(int n) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append("label ").append(i).append('\n');
        }
        Path f = tmp.resolve("labels-" + n + ".txt");
        Files.writeString(f, b);
        return f;
    }

    private Path vectors(int rows, int dim) {
        float[] v = new float[rows * dim];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i % 7) - 3;
        }
        Path f = tmp.resolve("v-" + rows + "x" + dim + ".npy");
        Npy.writeFloats(f, v, rows, dim);
        return f;
    }

    /** One row of one value is the smallest import. */
    @Test
    void oneRowOfOneValueImports() throws IOException {
        Path v = tmp.resolve("one.npy");
        Npy.writeFloats(v, new float[] {-2.5f}, 1, 1);
        Path out = tmp.resolve("s");
        StoreInfo info = StoreImporter.importVectors(v, labels(1), out, "one", 1);
        assertEquals(1, info.stringCount());
        try (Store store = Store.open(out)) {
            VectorShard s = store.vectors("one", 0, 0).shards().get(0);
            assertEquals(-2.5f, s.vectors().getAtIndex(Npy.FLOAT32, 0));
            assertEquals(2.5f, s.norms().getAtIndex(Npy.FLOAT32, 0));
            assertEquals("label 0", store.label(new EntryKey("one", 0, 0), 0));
        }
    }

    /** Without a shard size, shards hold DEFAULT_SHARD_BYTES of vectors: 256 MiB / (4 * dim) rows. */
    @Test
    void theDefaultShardSizeComesFromTheVectorLength() throws IOException {
        Path out = tmp.resolve("s");
        StoreInfo info = StoreImporter.importVectors(vectors(3, 6), labels(3), out, "v");
        assertEquals(out, info.path());
        assertEquals((int) (StoreImporter.DEFAULT_SHARD_BYTES / (4 * 6)), info.shardStrings());
        assertEquals(1, info.shardsTotal());
        assertEquals(info, StoreInfo.of(out));
    }

    /** A bad first row of a later shard is named by its row in the whole file. */
    @Test
    void aBadFirstRowOfAShardIsRefused() throws IOException {
        float[] v = new float[10 * 3];
        v[4 * 3] = Float.NaN;  // row 4, column 0: the first row of the second shard of 4
        Path f = tmp.resolve("nan.npy");
        Npy.writeFloats(f, v, 10, 3);
        Path out = tmp.resolve("a/b/c/store");
        String m = assertThrows(InvalidDataException.class, () -> StoreImporter.importVectors(f, labels(10), out, "v", 4))
                .getMessage();
        assertEquals(f + " has a NaN or infinite value at row 4, column 0: fix or drop such rows, e.g. keep"
                + " a[numpy.isfinite(a).all(axis=1)] and their labels", m);
        // the folders the import created for the store are removed with it
        assertFalse(Files.exists(tmp.resolve("a")), "created parent folders must be removed");
    }

    /** Parents that existed before the import stay, even empty. */
    @Test
    void aFailedImportKeepsFoldersItDidNotCreate() throws IOException {
        float[] v = new float[2];
        v[0] = Float.POSITIVE_INFINITY;
        Path f = tmp.resolve("inf.npy");
        Npy.writeFloats(f, v, 1, 2);
        Files.createDirectories(tmp.resolve("mine"));
        Path out = tmp.resolve("mine/new/store");
        assertThrows(InvalidDataException.class, () -> StoreImporter.importVectors(f, labels(1), out, "v"));
        assertTrue(Files.isDirectory(tmp.resolve("mine")));
        assertFalse(Files.exists(tmp.resolve("mine/new")));
    }

    /**
     * A name the file system refuses (over 255 bytes) fails the import before anything is written,
     * and the parent folders the import made on the way are removed: here a folder of the path.
     */
    @Test
    void aFolderThatCannotBeCreatedLeavesNoParentsBehind() throws IOException {
        Path out = tmp.resolve("new1/" + "n".repeat(300) + "/store");
        String m = assertThrows(io.blocksim.FileAccessException.class,
                () -> StoreImporter.importVectors(vectors(2, 2), labels(2), out, "v")).getMessage();
        assertTrue(m.startsWith("could not create " + tmp.resolve("new1/" + "n".repeat(300))), m);
        assertFalse(Files.exists(tmp.resolve("new1")));
    }

    /** The same for the hidden temp folder beside the store, whose name is longer than the store's. */
    @Test
    void aTempFolderThatCannotBeCreatedLeavesNoParentsBehind() throws IOException {
        Path out = tmp.resolve("new1/new2/" + "n".repeat(250));
        String m = assertThrows(io.blocksim.FileAccessException.class,
                () -> StoreImporter.importVectors(vectors(2, 2), labels(2), out, "v")).getMessage();
        assertTrue(m.startsWith("could not create a folder in " + tmp.resolve("new1/new2")), m);
        assertFalse(Files.exists(tmp.resolve("new1")));
    }

    /**
     * A float32 [rows, dim] file (sparse: nothing is written but its header) with {@code rows} or
     * {@code dim} at the largest int.
     */
    private Path sparse(String name, long rows, long dim) throws IOException {
        NpyHeader h = NpyHeader.forWrite(NpyDtype.FLOAT32, rows, dim);
        Path f = tmp.resolve(name);
        Files.write(f, h.encode());
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(h.dataOffset() + h.dataBytes());
        }
        return f;
    }

    /** Integer.MAX_VALUE rows (or columns) are still supported; one more is not. */
    @Test
    void rowsAndColumnsUpToTheLargestIntAreAccepted() throws IOException {
        int max = Integer.MAX_VALUE;
        Path manyRows = sparse("rows.npy", max, 1);
        String m = assertThrows(InvalidDataException.class,
                () -> StoreImporter.importVectors(manyRows, labels(1), tmp.resolve("s1"), "v")).getMessage();
        assertTrue(m.contains("has 1 labels but rows.npy has 2147483647 rows"), m);
        Path manyColumns = sparse("columns.npy", 1, max);
        m = assertThrows(InvalidDataException.class,
                () -> StoreImporter.importVectors(manyColumns, labels(2), tmp.resolve("s2"), "v")).getMessage();
        assertTrue(m.contains("has 2 labels but columns.npy has 1 rows"), m);
        Path tooMany = sparse("more.npy", max + 1L, 1);
        m = assertThrows(InvalidDataException.class,
                () -> StoreImporter.importVectors(tooMany, labels(1), tmp.resolve("s3"), "v")).getMessage();
        assertTrue(m.contains("has shape (2147483648, 1): at most 2147483647 rows and columns are supported"), m);
        Files.delete(manyRows);
        Files.delete(manyColumns);
        Files.delete(tooMany);
    }

    /** A file with columns but no rows, or rows but no columns, is refused. */
    @Test
    void anArrayWithoutRowsOrColumnsIsRefused() throws IOException {
        for (long[] shape : new long[][] {{0, 3}, {3, 0}}) {
            Path f = tmp.resolve("e" + shape[0] + ".npy");
            Npy.write(f, NpyDtype.FLOAT32, shape, java.lang.foreign.MemorySegment.ofArray(new byte[0]));
            String m = assertThrows(InvalidDataException.class,
                    () -> StoreImporter.importVectors(f, labels((int) shape[0]), tmp.resolve("s"), "v")).getMessage();
            assertTrue(m.endsWith(": it needs at least one row and one column"), m);
        }
    }
}
