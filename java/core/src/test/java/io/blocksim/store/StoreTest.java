package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.spi.VectorSet;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreTest {
    @TempDir
    Path tmp;

    /** Store.open refuses {@code dir} with {@code kind} and a one-line message that names no flag. */
    private static String openFails(Path dir, Class<? extends StoreException> kind) {
        StoreException e = assertThrows(kind, () -> Store.open(dir));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertFalse(e.getMessage().contains("--"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingStoreSaysHowToMakeOne() throws IOException {
        String m = openFails(tmp.resolve("nothing"), StoreNotFoundException.class);
        assertTrue(m.startsWith("no store at " + tmp.resolve("nothing")) && m.contains("extract a store"), m);
        Files.createDirectories(tmp.resolve("empty"));
        m = openFails(tmp.resolve("empty"), StoreNotFoundException.class);
        assertTrue(m.contains("no manifest.json") || m.contains("has no manifest.json"), m);
    }

    @Test
    void anotherFormatVersionIsRefused() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path mf = dir.resolve("manifest.json");
        Files.writeString(mf, Files.readString(mf).replace("\"format_version\" : 1", "\"format_version\" : 2"));
        String m = openFails(dir, StoreIncompatibleException.class);
        assertTrue(m.contains("format version 2") && m.contains("reads version 1"), m);
    }

    @Test
    void foreignOrDamagedManifestsAreRefused() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path mf = dir.resolve("manifest.json");
        String good = Files.readString(mf);
        Files.writeString(mf, "{\"name\": \"something else\"}");
        assertTrue(openFails(dir, StoreNotFoundException.class).contains("not a blocksim store manifest"));
        Files.writeString(mf, good.substring(0, good.length() / 2));
        assertTrue(openFails(dir, StoreDamagedException.class).contains("is damaged: it is not valid JSON"));
        Files.writeString(mf, good.replace("\"N\" : 11", "\"N\" : 12"));
        assertTrue(openFails(dir, StoreDamagedException.class).contains("is damaged"));
        Files.writeString(mf, good.replace("\"file\" : \"block_output-b0-t3/vectors-00000.npy\"",
                "\"file\" : \"../../etc/passwd\""));
        assertTrue(openFails(dir, StoreDamagedException.class).contains("not a plain name"));
    }

    @Test
    void aTruncatedShardIsNamed() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path shard = dir.resolve("block_output-b1-t3/vectors-00001.npy");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() - 7);
        }
        String m = openFails(dir, StoreDamagedException.class);
        assertTrue(m.contains("block_output-b1-t3/vectors-00001.npy") && m.contains("truncated"), m);
        assertTrue(m.contains("verify the store"), m);
    }

    @Test
    void aMissingNormsFileIsNamed() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Files.delete(dir.resolve("ffwd_output-b1-t1/norms-00002.npy"));
        String m = openFails(dir, StoreDamagedException.class);
        assertTrue(m.contains("ffwd_output-b1-t1/norms-00002.npy is missing"), m);
    }

    @Test
    void aShardOfTheWrongShapeIsNamed() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Npy.writeFloats(dir.resolve("embedding-b0-t0/vectors-00000.npy"), new float[10], 2, 5);
        String m = openFails(dir, StoreDamagedException.class);
        assertTrue(m.contains("embedding-b0-t0/vectors-00000.npy holds float32 (2, 5) but the manifest says"), m);
    }

    @Test
    void unknownEntriesSayWhatIsStored() {
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> store.vectors("block_output", 4, 3));
            assertTrue(e.getMessage().contains("has no block_output block 4 position 3"), e.getMessage());
            assertTrue(e.getMessage().contains("block_output position 3: blocks 0-1"), e.getMessage());
            assertTrue(e.getMessage().contains("ffwd_output position 1: block 1"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> store.vectors("proj_output", 0, 3));
            assertThrows(InvalidArgumentException.class, () -> store.prefixIndex(3));
        }
    }

    @Test
    void positionsCountFromTheEndWhenNegative() {
        try (Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")))) {
            assertEquals(3, store.resolvePosition(-1));
            assertEquals(0, store.resolvePosition(-4));
            assertEquals(2, store.resolvePosition(2));
            assertTrue(assertThrows(InvalidArgumentException.class, () -> store.resolvePosition(4)).getMessage().contains("0..3"));
            assertThrows(InvalidArgumentException.class, () -> store.resolvePosition(-5));
        }
    }

    @Test
    void closingUnmapsEverything() {
        Store store = Store.open(Fixtures.modelStore(tmp.resolve("s")));
        VectorSet set = store.vectors("block_output", 0, 3);
        MemorySegment v = set.shards().get(0).vectors();
        MemorySegment n = set.shards().get(0).norms();
        MemorySegment strings = store.strings();
        v.getAtIndex(Npy.FLOAT32, 0);
        store.close();
        assertThrows(IllegalStateException.class, () -> v.getAtIndex(Npy.FLOAT32, 0));
        assertThrows(IllegalStateException.class, () -> n.getAtIndex(Npy.FLOAT32, 0));
        assertThrows(IllegalStateException.class, () -> strings.get(Npy.UINT8, 0));
        assertThrows(ClosedException.class, () -> store.string(0));
        assertThrows(ClosedException.class, () -> store.vectors("block_output", 0, 3));
        assertThrows(ClosedException.class, () -> store.prefixIndex(1));
        assertFalse(store.isOpen());
        store.close(); // twice is fine
    }

    @Test
    void infoDescribesTheStore() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        StoreInfo info = StoreInfo.of(dir);
        assertTrue(info.complete());
        assertEquals(4, info.entries().size());
        StoreInfo.EntryInfo e = info.entries().get(0);
        assertEquals("block_output", e.site());
        assertEquals(Fixtures.N, e.rows());
        assertEquals(3, e.shards());
        assertTrue(e.bytes() > (long) Fixtures.N * 8 * 4);
        assertTrue(info.bytes() > e.bytes());
        String text = String.join("\n", info.lines());
        assertTrue(text.contains("blocksim-store v1"), text);
        assertTrue(text.contains("sha256 " + "a".repeat(64)), text);
        assertTrue(text.contains("N = 11 of length L = 4"), text);
        assertTrue(text.contains("3 of 3"), text);
        Map<String, Object> map = info.toMap();
        assertEquals(11, map.get("N"));
        assertEquals(4, map.get("L"));
        assertEquals(true, map.get("complete"));
        assertEquals(4, ((java.util.List<?>) map.get("entries")).size());
        assertEquals(5, ((Map<?, ?>) map.get("model")).get("vocab_size"));
    }
}
