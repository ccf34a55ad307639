package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreChangedException;
import io.blocksim.StoreDamagedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Store's lookups (indexOf, label, string, prefixIndex) and what it refuses at open and after. */
class StoreLookupTest {
    private static final EntryKey LAST = new EntryKey("block_output", 0, Fixtures.L - 1);
    private static final EntryKey EMBEDDING = new EntryKey("embedding", 0, 0);
    private static final EntryKey FFWD = new EntryKey("ffwd_output", 1, 1);

    @TempDir
    Path tmp;

    private static String text(byte[] tokens) {
        StringBuilder b = new StringBuilder();
        for (byte t : tokens) {
            b.append(Fixtures.VOCAB.charAt(t));
        }
        return b.toString();
    }

    /** Every string is found at its own index, whatever its tokens (token 0 included). */
    @Test
    void indexOfFindsEveryStringAtItsIndex() {
        byte[] strings = Fixtures.strings();
        boolean sawTokenZero = false;
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            for (int i = 0; i < Fixtures.N; i++) {
                String s = Fixtures.decode(strings, i, Fixtures.L);
                sawTokenZero |= s.indexOf(Fixtures.VOCAB.charAt(0)) >= 0;
                assertEquals(i, store.indexOf(s), "string " + i + " '" + s + "'");
            }
        }
        assertTrue(sawTokenZero, "the fixture must hold a string with token id 0 for this test to mean anything");
    }

    /** Text that is not among the strings is -1: another length, a character outside the vocabulary, an absent string. */
    @Test
    void indexOfIsMinusOneForTextThatIsNotAString() {
        byte[] strings = Fixtures.strings();
        Set<String> stored = new HashSet<>();
        for (int i = 0; i < Fixtures.N; i++) {
            stored.add(Fixtures.decode(strings, i, Fixtures.L));
        }
        // absent strings over the vocabulary, each sharing its first token with some stored string
        List<String> absent = new ArrayList<>();
        for (int code = 0; code < 625 && absent.size() < 20; code++) {
            byte[] t = {(byte) (code % 5), (byte) (code / 5 % 5), (byte) (code / 25 % 5), (byte) (code / 125)};
            String s = text(t);
            if (!stored.contains(s) && stored.stream().anyMatch(x -> x.charAt(0) == s.charAt(0))) {
                absent.add(s);
            }
        }
        assertEquals(20, absent.size());
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            for (String s : absent) {
                assertEquals(-1, store.indexOf(s), "'" + s + "' is not stored");
            }
            String first = Fixtures.decode(strings, 0, Fixtures.L);
            assertEquals(-1, store.indexOf(first.substring(0, Fixtures.L - 1)), "shorter than L");
            assertEquals(-1, store.indexOf(first + "a"), "longer than L");
            assertEquals(-1, store.indexOf(""), "empty");
            assertEquals(-1, store.indexOf("zzzz"), "outside the vocabulary");
            assertEquals(-1, store.indexOf(first.substring(0, Fixtures.L - 1) + "z"), "last character outside the vocabulary");
        }
    }

    /** An imported store's indexOf looks among its labels. */
    @Test
    void indexOfOfAnImportedStoreSearchesTheLabels() throws IOException {
        Path dir = importedStore();
        try (Store store = Store.open(dir)) {
            assertEquals(0, store.indexOf("row 0"));
            assertEquals(2, store.indexOf("row 2"));
            assertEquals(-1, store.indexOf("row 9"));
            store.close();
            assertThrows(ClosedException.class, () -> store.indexOf("row 2"));
        }
    }

    private Path importedStore() throws IOException {
        Path v = tmp.resolve("v.npy");
        Npy.writeFloats(v, new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        Path l = tmp.resolve("l.txt");
        Files.writeString(l, "row 0\nrow 1\nrow 2\n");
        Path dir = tmp.resolve("imported");
        StoreImporter.importVectors(v, l, dir, "rows", 2);
        return dir;
    }

    @Test
    void rowsAndStringsOutsideTheEntryAreOutOfBounds() {
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            int rows = store.entry(LAST).rows();
            assertEquals(Fixtures.N, rows);
            store.label(LAST, rows - 1);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> store.label(LAST, rows));
            assertEquals("row 11 of block_output block 0 position 3 (11 rows)", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> store.label(LAST, -1));
            store.string(Fixtures.N - 1);
            assertEquals("string 11 of 11", assertThrows(IndexOutOfBoundsException.class,
                    () -> store.string(Fixtures.N)).getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> store.string(-1));
        }
    }

    @Test
    void thePrefixIndexOfTheLastPositionIsExplainedAndClosedStoresRefuseStrings() {
        Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")));
        String last = assertThrows(InvalidArgumentException.class, () -> store.prefixIndex(3)).getMessage();
        assertTrue(last.endsWith("has no prefix index for position 3 (the last position needs none: its rows are the strings)"), last);
        String two = assertThrows(InvalidArgumentException.class, () -> store.prefixIndex(2)).getMessage();
        assertTrue(two.endsWith("has no prefix index for position 2"), two);
        assertEquals(tmp.resolve("s"), store.dir());
        store.close();
        assertThrows(ClosedException.class, store::strings);
    }

    /** A prefix index that names a string outside 0..N-1 is damage, named with the file and the row. */
    @Test
    void aPrefixIndexPointingPastTheStringsIsDamage() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        int[] pi = Fixtures.prefixIndex(Fixtures.strings(), 0);
        int[] bad = pi.clone();
        bad[1] = Fixtures.N;
        Npy.writeInts(dir.resolve("prefix-t0.npy"), bad);  // same shape: open does not checksum
        try (Store store = Store.open(dir)) {
            StoreDamagedException e = assertThrows(StoreDamagedException.class, () -> store.label(EMBEDDING, 1));
            assertTrue(e.getMessage().contains("is damaged: prefix-t0.npy holds string 11 at row 1, outside 0..10;"), e.getMessage());
            assertEquals(0, store.firstString(EMBEDDING, 0));
        }
        bad[1] = -1;
        Npy.writeInts(dir.resolve("prefix-t0.npy"), bad);
        try (Store store = Store.open(dir)) {
            StoreDamagedException e = assertThrows(StoreDamagedException.class, () -> store.firstString(EMBEDDING, 1));
            assertTrue(e.getMessage().contains("prefix-t0.npy holds string -1 at row 1"), e.getMessage());
        }
    }

    /** strings.npy holding a token id past the vocabulary (5 tokens) is damage when the string is decoded. */
    @Test
    void aTokenOutsideTheVocabularyIsDamage() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        byte[] strings = Fixtures.strings();
        strings[2 * Fixtures.L + 1] = (byte) Fixtures.VOCAB.length();
        strings[3 * Fixtures.L] = (byte) 200;
        Npy.writeBytes(dir.resolve("strings.npy"), strings, Fixtures.N, Fixtures.L);
        try (Store store = Store.open(dir)) {
            assertEquals(Fixtures.decode(Fixtures.strings(), 1, Fixtures.L), store.string(1));
            String m = assertThrows(StoreDamagedException.class, () -> store.string(2)).getMessage();
            assertTrue(m.contains("strings.npy holds token id 5 (string 2), outside the model's vocabulary of 5"), m);
            m = assertThrows(StoreDamagedException.class, () -> store.string(3)).getMessage();
            assertTrue(m.contains("strings.npy holds token id 200 (string 3)"), m);
        }
    }

    private String openFails(Path dir) {
        return assertThrows(StoreDamagedException.class, () -> Store.open(dir)).getMessage();
    }

    /** Open checks the shape of every file it maps: prefix indexes, strings and norms too. */
    @Test
    void openRefusesPrefixIndexesStringsAndNormsOfTheWrongShape() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        int rows = Fixtures.prefixIndex(Fixtures.strings(), 0).length;
        Path prefix = dir.resolve("prefix-t0.npy");
        byte[] good = Files.readAllBytes(prefix);
        Npy.writeInts(prefix, new int[] {0});
        String m = openFails(dir);
        assertTrue(m.contains("prefix-t0.npy holds int32 (1,) but the manifest says int32 (" + rows + ",)"), m);
        Files.write(prefix, good);

        Path strings = dir.resolve("strings.npy");
        good = Files.readAllBytes(strings);
        Npy.writeBytes(strings, new byte[Fixtures.N * Fixtures.L], Fixtures.L, Fixtures.N);
        m = openFails(dir);
        assertTrue(m.contains("strings.npy holds uint8 (4, 11) but the manifest says uint8 (11, 4)"), m);
        Files.write(strings, good);

        Npy.writeFloats(dir.resolve("block_output-b0-t3/norms-00000.npy"), new float[3], 3);
        m = openFails(dir);
        assertTrue(m.contains("block_output-b0-t3/norms-00000.npy holds float32 (3,) but the manifest says float32 (4,)"), m);
    }

    /** A store that fails to open unmaps what it had mapped before it found the bad file. */
    @Test
    void aRefusedOpenLeavesNoFileMapped() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "needs /proc/self/maps");
        Path dir = Fixtures.modelStore(tmp.resolve("s")).toRealPath();
        List<Manifest.Entry> entries = Manifest.read(dir).entries();
        Manifest.Shard lastShard = entries.getLast().shards().getLast();
        int wrong = lastShard.rows() + 1;
        Npy.writeFloats(dir.resolve(lastShard.norms()), new float[wrong], wrong);  // the last file open maps
        openFails(dir);
        long mapped = Files.readAllLines(maps).stream().filter(l -> l.contains(dir.toString())).count();
        assertEquals(0, mapped, "mappings of " + dir + " left behind");
    }

    @Test
    void describeGroupsBlocksIntoRanges() {
        List<Manifest.Entry> entries = new ArrayList<>();
        for (int b : new int[] {6, 0, 1, 3, 5, 7}) {
            entries.add(new Manifest.Entry("block_output", b, 3, 8, 1, null, List.of()));
        }
        entries.add(new Manifest.Entry("ffwd_output", 2, 1, 8, 1, "prefix-t1.npy", List.of()));
        entries.add(new Manifest.Entry("embedding", 4, 0, 8, 1, "prefix-t0.npy", List.of()));
        entries.add(new Manifest.Entry("embedding", 9, 0, 8, 1, "prefix-t0.npy", List.of()));
        assertEquals("block_output position 3: blocks 0-1,3,5-7; embedding position 0: blocks 4,9; ffwd_output position 1: block 2",
                Store.describe(entries));
    }

    /** Only the JVM's report of a fault in mapped memory is one. */
    @Test
    void onlyAMappedMemoryFaultIsTurnedIntoAChange() {
        String fault = "a fault occurred in an unsafe memory access operation";
        assertTrue(Store.isMappedFault(new InternalError(fault)));
        assertTrue(Store.isMappedFault(new InternalError("a " + fault + " (SIGBUS)")));
        assertFalse(Store.isMappedFault(new InternalError("something else")));
        assertFalse(Store.isMappedFault(new InternalError((String) null)));
        assertFalse(Store.isMappedFault(new IllegalStateException(fault)));
        assertFalse(Store.isMappedFault(null));
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            assertNull(store.changedDuring(new IllegalStateException(fault)));
            InternalError e = new InternalError(fault);
            StoreChangedException c = store.changedDuring(e);
            assertSame(e, c.getCause());
            assertTrue(c.getMessage().contains("changed after it was opened: a file could not be read while it was being searched"),
                    c.getMessage());
        }
    }

    /** A deleted file is a change; checkUnchanged looks at the prefix index of an earlier position's entry. */
    @Test
    void aDeletedPrefixIndexIsAChangeForTheEntriesThatReadIt() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        try (Store store = Store.open(dir)) {
            Files.delete(dir.resolve("prefix-t1.npy"));
            assertEquals(List.of("prefix-t1.npy was deleted or cannot be read any more"), store.changedFiles());
            store.checkUnchanged(LAST);      // reads no prefix index
            store.checkUnchanged(EMBEDDING); // reads prefix-t0 only
            String m = assertThrows(StoreChangedException.class, () -> store.checkUnchanged(FFWD)).getMessage();
            assertTrue(m.contains("changed after it was opened: prefix-t1.npy was deleted or cannot be read any more;"), m);
        }
    }

    /** The labels of an imported store are checked like every mapped file. */
    @Test
    void labelsThatGrowAfterOpeningAreAChange() throws IOException {
        Path dir = importedStore();
        try (Store store = Store.open(dir)) {
            long size = Files.size(dir.resolve("labels.txt"));
            store.checkUnchanged(null);
            Files.writeString(dir.resolve("labels.txt"), "row 3\n", java.nio.file.StandardOpenOption.APPEND);
            String m = assertThrows(StoreChangedException.class, () -> store.checkUnchanged(null)).getMessage();
            assertTrue(m.contains("labels.txt grew to " + (size + 6) + " bytes (" + size + " when the store was opened)"), m);
        }
    }
}
