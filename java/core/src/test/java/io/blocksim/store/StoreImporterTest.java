package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidDataException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.TargetExistsException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreImporterTest {
    private static final int ROWS = 10;
    private static final int DIM = 6;

    @TempDir
    Path tmp;

    private float[] vectors() {
        Random rnd = new Random(3);
        float[] v = new float[ROWS * DIM];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextFloat() * 4 - 2;
        }
        return v;
    }

    private Path vectorsFile(float[] v) {
        Path f = tmp.resolve("vectors.npy");
        Npy.writeFloats(f, v, ROWS, DIM);
        return f;
    }

    private Path labelsFile(int n) throws IOException {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            labels.add("label " + i + (i == 3 ? " \u00e9t\u00e9" : ""));
        }
        Path f = tmp.resolve("labels.txt");
        Files.write(f, labels, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void importedVectorsOpenAsAStoreWithLabelsAndNorms() throws IOException {
        float[] v = vectors();
        Path out = tmp.resolve("deep/er/store");
        StoreInfo info = StoreImporter.importVectors(vectorsFile(v), labelsFile(ROWS), out, "my_vectors", 4);
        assertTrue(info.imported());
        assertEquals(ROWS, info.stringCount());
        assertEquals(3, info.entries().get(0).shards());
        assertTrue(StoreVerifier.verify(out).ok());
        try (Store store = Store.open(out)) {
            assertTrue(store.imported());
            assertNull(store.model());
            assertEquals(1, store.stringLength());
            EntryKey key = new EntryKey("my_vectors", 0, 0);
            VectorSet set = store.vectors("my_vectors", 0, store.resolvePosition(-1));
            assertEquals(DIM, set.dim());
            assertEquals(ROWS, set.rows());
            for (VectorShard s : set.shards()) {
                for (int r = 0; r < s.rows(); r++) {
                    double sum = 0;
                    for (int c = 0; c < DIM; c++) {
                        float x = s.vectors().getAtIndex(Npy.FLOAT32, (long) r * DIM + c);
                        assertEquals(v[(s.firstRow() + r) * DIM + c], x);
                        sum += (double) x * x;
                    }
                    assertEquals((float) Math.sqrt(sum), s.norms().getAtIndex(Npy.FLOAT32, r));
                }
            }
            assertEquals("label 3 \u00e9t\u00e9", store.label(key, 3));
            assertEquals(List.of("label 9", "label 0"), store.labels(key, new int[] {9, 0}));
            assertEquals("label 5", store.string(5));
        }
        assertTrue(String.join("\n", StoreInfo.of(out).lines()).contains("imported"));
    }

    @Test
    void defaultShardSizeAndCrlfLabels() throws IOException {
        Path labels = tmp.resolve("l.txt");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ROWS; i++) {
            b.append("w").append(i).append("\r\n");
        }
        Files.writeString(labels, b);
        Path out = tmp.resolve("s");
        StoreImporter.importVectors(vectorsFile(vectors()), labels, out, "words");
        try (Store store = Store.open(out)) {
            assertEquals(1, store.vectors("words", 0, 0).shards().size());
            assertEquals("w7", store.label(new EntryKey("words", 0, 0), 7));
        }
    }

    /** The import fails with {@code kind}, one line that names no flag, and nothing left behind. */
    private String fails(Path vectors, Path labels, String site, Class<? extends BlocksimException> kind)
            throws IOException {
        Path out = tmp.resolve("out/store");
        BlocksimException e = assertThrows(kind, () -> StoreImporter.importVectors(vectors, labels, out, site, 4));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertFalse(e.getMessage().contains("--"), e.getMessage());
        assertFalse(Files.exists(out), "nothing may be written on error");
        if (Files.exists(tmp.resolve("out"))) {
            try (var s = Files.list(tmp.resolve("out"))) {
                assertEquals(0, s.count(), "no temp folder may stay behind");
            }
        }
        return e.getMessage();
    }

    @Test
    void rowsAndLabelsMustMatch() throws IOException {
        String m = fails(vectorsFile(vectors()), labelsFile(ROWS - 1), "v", InvalidDataException.class);
        assertTrue(m.contains("has 9 labels but vectors.npy has 10 rows"), m);
        m = fails(vectorsFile(vectors()), labelsFile(ROWS + 1), "v", InvalidDataException.class);
        assertTrue(m.contains("11 labels"), m);
    }

    @Test
    void wrongDtypeIsRefused() throws IOException {
        Path f = tmp.resolve("ints.npy");
        Npy.writeInts(f, new int[ROWS]);
        String m = fails(f, labelsFile(ROWS), "v", InvalidDataException.class);
        assertTrue(m.contains("holds int32 ('<i4') values") && m.contains("numpy.save(f, a.astype('<f4'))"), m);
        assertFalse(m.contains("INT32"), m);
    }

    /** A header numpy.save really writes for {@code descr} and {@code fortran}, then ROWS x DIM elements of 4 bytes. */
    private Path rawNpy(String name, String descr, boolean fortran) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + ROWS
                + ", " + DIM + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + h.length + ROWS * DIM * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length).put(h);
        Path f = tmp.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    /**
     * A big-endian or Fortran-order float32 file is what numpy.save writes for such an array: the
     * message says what is wrong and the one line that converts it, not "save it with numpy.save".
     */
    @Test
    void bigEndianAndFortranOrderSayWhatIsWrongAndTheFix() throws IOException {
        String big = fails(rawNpy("big.npy", ">f4", false), labelsFile(ROWS), "v", InvalidDataException.class);
        assertTrue(big.contains("big.npy has unsupported dtype '>f4' (big-endian)"), big);
        assertTrue(big.contains("numpy.save(f, numpy.ascontiguousarray(a, dtype='<f4'))"), big);
        assertFalse(big.contains("saved with numpy.save"), big);
        String fortran = fails(rawNpy("fortran.npy", "<f4", true), labelsFile(ROWS), "v", InvalidDataException.class);
        assertTrue(fortran.contains("fortran.npy is in Fortran (column-major) order"), fortran);
        assertTrue(fortran.contains("numpy.save(f, numpy.ascontiguousarray(a, dtype='<f4'))"), fortran);
        assertFalse(fortran.contains("saved with numpy.save"), fortran);
    }

    @Test
    void onlyTwoDimensionalArraysAreImported() throws IOException {
        Path one = tmp.resolve("one.npy");
        Npy.writeFloats(one, new float[ROWS], ROWS);
        assertTrue(fails(one, labelsFile(ROWS), "v", InvalidDataException.class).contains("needs a 2-D array"));
        Path three = tmp.resolve("three.npy");
        Npy.writeFloats(three, new float[ROWS * 4], ROWS, 2, 2);
        assertTrue(fails(three, labelsFile(ROWS), "v", InvalidDataException.class).contains("shape (10, 2, 2)"));
        Path empty = tmp.resolve("empty.npy");
        Npy.writeFloats(empty, new float[0], 0, 4);
        assertTrue(fails(empty, labelsFile(0), "v", InvalidDataException.class).contains("at least one row"));
    }

    @Test
    void nonFiniteValuesAreRefusedWithTheirPlace() throws IOException {
        float[] v = vectors();
        v[7 * DIM + 2] = Float.POSITIVE_INFINITY;
        String m = fails(vectorsFile(v), labelsFile(ROWS), "v", InvalidDataException.class);
        assertTrue(m.contains("NaN or infinite value at row 7, column 2"), m);
        v = vectors();
        v[DIM] = Float.NaN;
        m = fails(vectorsFile(v), labelsFile(ROWS), "v", InvalidDataException.class);
        assertTrue(m.contains("row 1, column 0"), m);
    }

    @Test
    void missingOrUnreadableInputsAreNamed() throws IOException {
        assertTrue(fails(tmp.resolve("nope.npy"), labelsFile(ROWS), "v", FileAccessException.class).contains("nope.npy does not exist"));
        assertTrue(fails(vectorsFile(vectors()), tmp.resolve("nope.txt"), "v", FileAccessException.class).contains("nope.txt does not exist"));
        Path garbage = tmp.resolve("garbage.npy");
        Files.writeString(garbage, "1,2,3\n4,5,6\n");
        assertTrue(fails(garbage, labelsFile(ROWS), "v", InvalidDataException.class).contains("not a .npy file"));
        Path latin1 = tmp.resolve("latin1.txt");
        byte[] bad = new byte[ROWS * 2];
        java.util.Arrays.fill(bad, (byte) '\n');
        bad[0] = (byte) 0xE9;
        Files.write(latin1, bad);
        assertTrue(fails(vectorsFile(vectors()), latin1, "v", InvalidDataException.class).contains("not UTF-8"));
    }

    @Test
    void badSiteNamesAndExistingTargetsAreUsageErrors() throws IOException {
        Path v = vectorsFile(vectors());
        Path l = labelsFile(ROWS);
        BlocksimException e = assertThrows(InvalidArgumentException.class,
                () -> StoreImporter.importVectors(v, l, tmp.resolve("x"), "Bad Name"));
        assertTrue(e.getMessage().contains("site name 'Bad Name'"), e.getMessage());
        Files.createDirectories(tmp.resolve("exists"));
        e = assertThrows(TargetExistsException.class, () -> StoreImporter.importVectors(v, l, tmp.resolve("exists"), "v"));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }
}
