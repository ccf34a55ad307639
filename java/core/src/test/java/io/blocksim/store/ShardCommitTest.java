package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.StoreDamagedException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shards written by other processes (tasks on other machines) under part names and committed by
 * the writer: the same store, file for file, as shards written by the writer itself; copies that
 * were never committed are never named by the manifest and are deleted.
 */
class ShardCommitTest {
    @TempDir
    Path tmp;

    /** What a task does: the shard's part files under {@code tag}, filled with the fixture values, sealed. */
    static StoreWriter.SealedShard writeCopy(Path dir, StoreWriter.ShardLayout l, String tag) {
        try (StoreWriter.ShardFiles f = StoreWriter.createShardFiles(dir, l, tag)) {
            for (int e = 0; e < l.entries(); e++) {
                EntrySpec es = Fixtures.ENTRIES.get(e);
                MemorySegment seg = f.vectors(e);
                for (int r = 0; r < l.rows(e); r++) {
                    for (int c = 0; c < es.dim(); c++) {
                        seg.setAtIndex(Npy.FLOAT32, (long) r * es.dim() + c, Fixtures.value(es.key(), l.firstRow(e) + r, c));
                    }
                }
            }
            return f.seal();
        }
    }

    @SuppressWarnings("unchecked")
    static <T> T roundTrip(T value) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(b)) {
            o.writeObject(value);
        }
        try (ObjectInputStream i = new ObjectInputStream(new java.io.ByteArrayInputStream(b.toByteArray()))) {
            return (T) i.readObject();
        }
    }

    static List<String> names(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path p : Fixtures.files(dir)) {
            out.add(dir.relativize(p).toString());
        }
        return out;
    }

    @Test
    void committedCopiesMakeTheSameStoreAsTheWriterItself() throws Exception {
        Path plain = Fixtures.modelStore(tmp.resolve("plain"));
        Path dir = tmp.resolve("tasks");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            List<StoreWriter.SealedShard> sealed = new ArrayList<>();
            // out of order, two copies of shard 1 (a retried or speculative task), all before any commit
            for (int i : new int[] {2, 1, 0}) {
                StoreWriter.ShardLayout l = roundTrip(w.layout(i));  // as sent to an executor and back
                assertEquals(w.layout(i), l);
                sealed.add(roundTrip(writeCopy(dir, l, "t" + i + "-a")));
            }
            writeCopy(dir, w.layout(1), "t1-b");
            assertTrue(Files.exists(dir.resolve("block_output-b0-t3/vectors-00001.npy.part-t1-b")));
            assertEquals(0, w.nextShard());
            // nothing committed yet: no shard file under its own name
            assertFalse(Files.exists(dir.resolve("block_output-b0-t3/vectors-00000.npy")));
            StoreWriter.SealedShard second = sealed.get(0);
            assertThrows(IllegalStateException.class, () -> w.commitShard(second), "shard 2 is not next");
            for (int i = 2; i >= 0; i--) {
                w.commitShard(sealed.get(i));
            }
            assertTrue(w.complete());
            // the other copy of shard 1 went with its commit
            assertFalse(Files.exists(dir.resolve("block_output-b0-t3/vectors-00001.npy.part-t1-b")));
        }
        assertEquals(names(plain), names(dir));
        for (String f : names(plain)) {
            assertArrayEquals(Files.readAllBytes(plain.resolve(f)), Files.readAllBytes(dir.resolve(f)), f);
        }
        assertTrue(StoreVerifier.verify(dir).ok());
    }

    @Test
    void aCopyWithAMissingOrShortFileIsNotCommitted() throws Exception {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            StoreWriter.SealedShard s = writeCopy(dir, w.layout(0), "x");
            Path part = dir.resolve("ffwd_output-b1-t1/norms-00000.npy.part-x");
            byte[] full = Files.readAllBytes(part);
            Files.write(part, java.util.Arrays.copyOf(full, full.length - 4));
            StoreDamagedException e = assertThrows(StoreDamagedException.class, () -> w.commitShard(s));
            assertTrue(e.getMessage().contains("norms-00000.npy.part-x"), e.getMessage());
            Files.delete(part);
            assertThrows(StoreDamagedException.class, () -> w.commitShard(s));
            assertEquals(0, w.nextShard());
            // a good copy of the same shard still commits
            w.commitShard(writeCopy(dir, w.layout(0), "y"));
            assertEquals(1, w.nextShard());
        }
    }

    @Test
    void leftoverCopiesAreDeletedAndNeverRead() throws Exception {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 1);
            writeCopy(dir, w.layout(1), "killed-driver");
            // a copy still being written when its executor died: a temp file
            Files.write(dir.resolve("block_output-b1-t3/vectors-00002.npy.part-dead.tmp"), new byte[7]);
            w.deleteLeftovers();
            assertEquals(List.of(), names(dir).stream().filter(n -> n.contains(".part-")).toList());
            writeCopy(dir, w.layout(1), "again");
        }
        assertTrue(names(dir).stream().anyMatch(n -> n.endsWith(".part-again")));
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {  // what a resumed run does
            assertEquals(1, w.nextShard());
        }
        assertEquals(List.of(), names(dir).stream().filter(n -> n.contains(".part-")).toList());
    }

    @Test
    void tagsAreFileNameSafe() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            StoreWriter.ShardLayout l = w.layout(0);
            for (String bad : new String[] {"", "a/b", "a.b", "x".repeat(101)}) {
                assertThrows(IllegalArgumentException.class, () -> StoreWriter.createShardFiles(tmp.resolve("s"), l, bad), bad);
            }
        }
    }
}
