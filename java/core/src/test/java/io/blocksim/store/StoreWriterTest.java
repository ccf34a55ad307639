package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.InvalidDataException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreIncompleteException;
import io.blocksim.TargetExistsException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreWriterTest {
    @TempDir
    Path tmp;

    @Test
    void writtenStoreReadsBackVectorsNormsStringsAndPrefixes() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        byte[] strings = Fixtures.strings();
        try (Store store = Store.open(dir)) {
            assertEquals(Fixtures.L, store.stringLength());
            assertEquals(Fixtures.N, store.stringCount());
            assertEquals(Fixtures.MODEL, store.model());
            assertEquals(Fixtures.DATASET, store.datasetSha256());
            assertFalse(store.imported());
            assertEquals(4, store.entries().size());
            for (int i = 0; i < Fixtures.N; i++) {
                assertEquals(Fixtures.decode(strings, i, Fixtures.L), store.string(i));
            }
            for (EntrySpec e : Fixtures.ENTRIES) {
                VectorSet set = store.vectors(e.key().site(), e.key().block(), e.key().position());
                assertEquals(e.dim(), set.dim());
                assertTrue(set.hasNorms());
                int t = e.key().position();
                int[] pi = t == Fixtures.L - 1 ? null : Fixtures.prefixIndex(strings, t);
                int rows = pi == null ? Fixtures.N : pi.length;
                assertEquals(rows, set.rows());
                assertEquals(Fixtures.spec().shardCount(), set.shards().size());
                for (VectorShard s : set.shards()) {
                    for (int r = 0; r < s.rows(); r++) {
                        double sum = 0;
                        for (int c = 0; c < e.dim(); c++) {
                            float v = s.vectors().getAtIndex(Npy.FLOAT32, (long) r * e.dim() + c);
                            assertEquals(Fixtures.value(e.key(), s.firstRow() + r, c), v);
                            sum += (double) v * v;
                        }
                        assertEquals((float) Math.sqrt(sum), s.norms().getAtIndex(Npy.FLOAT32, r));
                    }
                }
                for (int r = 0; r < rows; r++) {
                    int first = pi == null ? r : pi[r];
                    assertEquals(first, store.firstString(e.key(), r));
                    assertEquals(Fixtures.decode(strings, first, t + 1), store.label(e.key(), r));
                }
                if (pi != null) {
                    assertArrayEquals(pi, store.prefixIndex(t).toArray(Npy.INT32));
                }
            }
        }
    }

    @Test
    void earlierPositionShardsHoldThePrefixesWhoseFirstStringFallsInTheShard() {
        byte[] strings = Fixtures.strings();
        int[] pi = Fixtures.prefixIndex(strings, 0);
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            EntryKey emb = Fixtures.ENTRIES.get(3).key();
            int next = 0;
            for (int i = 0; i < w.shardCount(); i++) {
                try (StoreWriter.Shard s = w.beginShard(i)) {
                    assertEquals(i * Fixtures.SHARD, s.firstString());
                    assertEquals(Math.min(Fixtures.N, (i + 1) * Fixtures.SHARD), s.endString());
                    assertEquals(next, s.firstRow(emb));
                    for (int r = 0; r < s.rows(emb); r++) {
                        int first = pi[s.firstRow(emb) + r];
                        assertTrue(first >= s.firstString() && first < s.endString());
                    }
                    next += s.rows(emb);
                    for (EntrySpec e : Fixtures.ENTRIES) {
                        Fixtures.fill(s, e);
                    }
                    s.commit();
                }
            }
            assertEquals(pi.length, next);
            assertTrue(w.complete());
        }
    }

    @Test
    void resumeStartsAtTheFirstUncommittedShardAndDropsLeftovers() throws IOException {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertEquals(0, w.nextShard());
            assertEquals(3, w.shardCount());
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 1);
            // shard 1 filled but never committed: its temp files go away, the manifest is unchanged
            try (StoreWriter.Shard s = w.beginShard(1)) {
                Fixtures.fill(s, Fixtures.ENTRIES.get(0));
                assertTrue(Files.exists(dir.resolve("block_output-b0-t3/vectors-00001.npy.tmp")));
            }
            assertFalse(Files.exists(dir.resolve("block_output-b0-t3/vectors-00001.npy.tmp")));
            assertEquals(1, w.nextShard());
        }
        // what a killed process leaves: a temp file half written, a renamed file the manifest does not name
        Path entry = dir.resolve("block_output-b0-t3");
        Files.write(entry.resolve("vectors-00001.npy.tmp"), new byte[100]);
        Files.write(entry.resolve("norms-00001.npy"), new byte[100]);
        Files.write(dir.resolve("manifest.json.tmp"), new byte[10]);

        StoreIncompleteException incomplete = assertThrows(StoreIncompleteException.class, () -> Store.open(dir));
        assertTrue(incomplete.getMessage().contains("incomplete: 1 of 3 shards"), incomplete.getMessage());
        assertFalse(StoreVerifier.verify(dir).ok());
        StoreInfo info = StoreInfo.of(dir);
        assertFalse(info.complete());
        assertTrue(String.join("\n", info.lines()).contains("INCOMPLETE"));

        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertEquals(1, w.nextShard());
            assertTrue(w.hasStrings());
            assertTrue(w.hasPrefixIndex(0) && w.hasPrefixIndex(1));
            assertFalse(Files.exists(entry.resolve("vectors-00001.npy.tmp")));
            assertFalse(Files.exists(entry.resolve("norms-00001.npy")));
            assertFalse(Files.exists(dir.resolve("manifest.json.tmp")));
            assertTrue(Files.exists(entry.resolve("vectors-00000.npy")));
            Fixtures.prepare(w); // idempotent: the same strings and prefixes are accepted again
            Fixtures.writeShards(w, w.shardCount());
        }
        assertTrue(StoreVerifier.verify(dir).ok());
        try (Store store = Store.open(dir)) {
            VectorShard s = store.vectors("block_output", 0, 3).shards().get(2);
            assertEquals(Fixtures.value(new EntryKey("block_output", 0, 3), 8, 1), s.vectors().getAtIndex(Npy.FLOAT32, 1));
        }
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertTrue(w.complete());
            assertEquals(w.shardCount(), w.nextShard());
        }
    }

    @Test
    void theManifestNamesOnlyCommittedShards() throws IOException {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 1);
            try (StoreWriter.Shard s = w.beginShard(1)) {
                for (EntrySpec e : Fixtures.ENTRIES) {
                    Fixtures.fill(s, e);
                }
                String json = Files.readString(dir.resolve("manifest.json"));
                assertTrue(json.contains("vectors-00000.npy"));
                assertFalse(json.contains("vectors-00001.npy"));
                s.commit();
                assertTrue(Files.readString(dir.resolve("manifest.json")).contains("vectors-00001.npy"));
            }
        }
    }

    @Test
    void aDifferentModelDatasetOrShapeIsRefusedUnlessForced() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        StoreSpec s = Fixtures.spec();
        ModelInfo other = new ModelInfo("b".repeat(64), 2, 8, 2, Fixtures.VOCAB);
        String m = refuse(dir, new StoreSpec(other, s.datasetSha256(), s.stringLength(), s.stringCount(), s.shardStrings(), s.entries()));
        assertTrue(m.contains("was made by model sha256 aaaaaaaaaaaa") && m.contains("not by this model sha256 bbbbbbbbbbbb"), m);
        assertTrue(m.contains("start this one over") && !m.contains("--"), m);
        m = refuse(dir, new StoreSpec(s.model(), "e".repeat(64), s.stringLength(), s.stringCount(), s.shardStrings(), s.entries()));
        assertTrue(m.contains("dataset"), m);
        m = refuse(dir, new StoreSpec(s.model(), s.datasetSha256(), 5, s.stringCount(), s.shardStrings(), s.entries()));
        assertTrue(m.contains("L=4") && m.contains("L=5"), m);
        m = refuse(dir, new StoreSpec(s.model(), s.datasetSha256(), s.stringLength(), s.stringCount(), 5, s.entries()));
        assertTrue(m.contains("shards of 4 strings"), m);
        m = refuse(dir, new StoreSpec(s.model(), s.datasetSha256(), s.stringLength(), s.stringCount(), s.shardStrings(),
                List.of(new EntrySpec("block_output", 5, 3, 8))));
        assertTrue(m.contains("block_output block 5 position 3"), m);

        try (StoreWriter w = StoreWriter.open(dir, new StoreSpec(other, s.datasetSha256(), s.stringLength(), s.stringCount(),
                s.shardStrings(), List.of(new EntrySpec("proj_output", 0, 3, 8))), true)) {
            assertEquals(0, w.nextShard());
            assertFalse(w.hasStrings());
            assertFalse(Files.exists(dir.resolve("strings.npy")));
            assertFalse(Files.exists(dir.resolve("block_output-b0-t3")));
            assertFalse(Files.exists(dir.resolve("prefix-t0.npy")));
        }
        assertEquals("b".repeat(64), Manifest.read(dir).model().sha256());
    }

    private static String refuse(Path dir, StoreSpec spec) {
        StoreIncompatibleException e = assertThrows(StoreIncompatibleException.class,
                () -> StoreWriter.open(dir, spec, false));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aNonEmptyFolderThatIsNoStoreIsLeftAlone() throws IOException {
        Path dir = tmp.resolve("mine");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("thesis.tex"), "precious");
        for (boolean force : new boolean[] {false, true}) {
            TargetExistsException e = assertThrows(TargetExistsException.class,
                    () -> StoreWriter.open(dir, Fixtures.spec(), force));
            assertTrue(e.getMessage().contains("not empty and holds no blocksim store"), e.getMessage());
        }
        assertEquals("precious", Files.readString(dir.resolve("thesis.tex")));
    }

    @Test
    void forceKeepsFilesThatAreNotTheStores() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Files.writeString(dir.resolve("notes.txt"), "mine");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), true)) {
            assertEquals(0, w.nextShard());
        }
        assertEquals("mine", Files.readString(dir.resolve("notes.txt")));
    }

    @Test
    void oneWriterAtATime() {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            StoreException e = assertThrows(StoreException.class, () -> StoreWriter.open(dir, Fixtures.spec(), false));
            assertEquals(StoreException.class, e.getClass(), "a busy store is no subclass's kind");
            assertTrue(e.getMessage().contains("being written by another"), e.getMessage());
        }
        StoreWriter again = StoreWriter.open(dir, Fixtures.spec(), false);
        again.close();
        assertThrows(ClosedException.class, () -> again.beginShard(0));
    }

    @Test
    void shardsGoInOrderAfterStringsAndPrefixes() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            assertThrows(IllegalStateException.class, () -> w.beginShard(0)); // no strings yet
            w.putStrings(Fixtures.strings());
            assertThrows(IllegalStateException.class, () -> w.beginShard(0)); // no prefix indexes yet
            Fixtures.prepare(w);
            assertThrows(IllegalStateException.class, () -> w.beginShard(1));
            try (StoreWriter.Shard s = w.beginShard(0)) {
                assertThrows(IllegalStateException.class, () -> w.beginShard(0));
                assertEquals(0, s.index());
            }
            assertThrows(IllegalArgumentException.class, () -> w.putPrefixIndex(1, new int[] {0, 3, 2}));
            assertThrows(IllegalArgumentException.class, () -> w.putStrings(new byte[3]));
        }
    }

    @Test
    void differentStringsOrPrefixesAreRefused() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            byte[] other = Fixtures.strings();
            other[0] = (byte) ((other[0] + 1) % Fixtures.VOCAB.length());
            assertTrue(assertThrows(StoreIncompatibleException.class, () -> w.putStrings(other)).getMessage()
                    .contains("other strings"));
            assertThrows(StoreIncompatibleException.class, () -> w.putPrefixIndex(0, new int[] {0, 1}));
        }
    }

    @Test
    void nonFiniteValuesAreRefusedAndTheShardIsNotCommitted() {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            try (StoreWriter.Shard s = w.beginShard(0)) {
                for (EntrySpec e : Fixtures.ENTRIES) {
                    Fixtures.fill(s, e);
                }
                s.vectors(1).setAtIndex(Npy.FLOAT32, 8 * 2 + 5, Float.NaN);
                InvalidDataException e = assertThrows(InvalidDataException.class, s::commit);
                assertTrue(e.getMessage().contains("block_output block 1 position 3") && e.getMessage().contains("row 2, column 5"),
                        e.getMessage());
            }
            assertEquals(0, w.nextShard());
            assertFalse(Files.exists(dir.resolve("block_output-b0-t3/vectors-00000.npy")));
            assertFalse(Files.exists(dir.resolve("block_output-b1-t3/vectors-00000.npy.tmp")));
            Fixtures.writeShards(w, 1);
            assertEquals(1, w.nextShard());
        }
    }

    @Test
    void manifestRecordsFormatModelDatasetAndShards() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Manifest m = Manifest.read(dir);
        assertEquals(Manifest.FORMAT, m.format());
        assertEquals(Manifest.FORMAT_VERSION, m.formatVersion());
        assertEquals(Fixtures.MODEL, m.model());
        assertEquals(Fixtures.DATASET, m.datasetSha256());
        assertNull(m.labels());
        Manifest.Entry e = m.entry(new EntryKey("ffwd_output", 1, 1));
        assertEquals("prefix-t1.npy", e.prefixIndex());
        assertEquals(3, e.shards().size());
        assertTrue(e.shards().get(0).crc32c().matches("[0-9a-f]{8}"));
        String json = Files.readString(dir.resolve("manifest.json"));
        for (String key : new String[] {"\"format_version\"", "\"n_layer\"", "\"n_embed\"", "\"n_head\"", "\"vocab\"",
                "\"dataset_sha256\"", "\"L\"", "\"N\"", "\"crc32c\"", "\"norms_crc32c\"", "\"prefix_index\""}) {
            assertTrue(json.contains(key), key);
        }
    }
}
