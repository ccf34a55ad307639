package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.ClosedException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidDataException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StoreWriter's rules beyond the happy path: argument checks, refusals, cleanup after failures, no leaked files. */
class StoreWriterRulesTest {
    private static final EntryKey B0 = Fixtures.ENTRIES.get(0).key();   // block_output block 0 position 3
    private static final EntryKey EMB = Fixtures.ENTRIES.get(3).key();  // embedding block 0 position 0, dim 5

    @TempDir
    Path tmpDir;

    private Path tmp;

    @BeforeEach
    void realPath() throws IOException {
        tmp = tmpDir.toRealPath();
    }

    @Test
    void aFreshWriterSaysWhatItHasAndWhatNot() {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertEquals(dir, w.dir());
            assertSame(Fixtures.spec().model(), w.spec().model());
            assertEquals(Fixtures.spec(), w.spec());
            assertEquals(Manifest.read(dir), w.manifest());
            assertEquals(0, w.manifest().shardsDone());
            assertFalse(w.complete());
            assertFalse(w.hasStrings());
            assertFalse(w.hasPrefixIndex(0));
            Fixtures.prepare(w);
            assertTrue(w.hasPrefixIndex(0) && w.hasPrefixIndex(1));
            assertFalse(w.hasPrefixIndex(2));
            assertFalse(w.complete());
        }
    }

    @Test
    void aClosedWriterRefusesStringsAndPrefixIndexes() {
        StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false);
        w.close();
        assertThrows(ClosedException.class, () -> w.putStrings(Fixtures.strings()));
        assertThrows(ClosedException.class, () -> w.putPrefixIndex(0, new int[] {0}));
        w.close();  // twice is fine
    }

    /** Token ids must be below the vocabulary size (5 here), read as unsigned bytes. */
    @Test
    void tokensOutsideTheVocabularyAreRefusedWithTheirPlace() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            byte[] s = Fixtures.strings();
            s[7] = (byte) Fixtures.VOCAB.length();
            assertEquals("token id 5 at byte 7 is outside the vocabulary of 5",
                    assertThrows(IllegalArgumentException.class, () -> w.putStrings(s)).getMessage());
            byte[] t = Fixtures.strings();
            t[Fixtures.N * Fixtures.L - 1] = (byte) 200;
            assertEquals("token id 200 at byte 43 is outside the vocabulary of 5",
                    assertThrows(IllegalArgumentException.class, () -> w.putStrings(t)).getMessage());
            assertFalse(w.hasStrings());
            w.putStrings(Fixtures.strings());  // ids 0..4 are all fine
            assertTrue(w.hasStrings());
        }
    }

    /** Prefix indexes exist for positions 0..L-2; they start at 0 and increase strictly below N. */
    @Test
    void prefixIndexesAreCheckedAtTheirBoundaries() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            for (int position : new int[] {-1, Fixtures.L - 1}) {
                assertEquals("prefix indexes are for positions 0..2, got " + position,
                        assertThrows(IllegalArgumentException.class, () -> w.putPrefixIndex(position, new int[] {0})).getMessage());
            }
            assertEquals("prefix index of position 2 is not strictly increasing below N at row 2", assertThrows(
                    IllegalArgumentException.class, () -> w.putPrefixIndex(2, new int[] {0, 3, 3})).getMessage());
            assertEquals("prefix index of position 2 is not strictly increasing below N at row 1", assertThrows(
                    IllegalArgumentException.class, () -> w.putPrefixIndex(2, new int[] {0, Fixtures.N})).getMessage());
            assertThrows(IllegalArgumentException.class, () -> w.putPrefixIndex(2, new int[0]));
            assertThrows(IllegalArgumentException.class, () -> w.putPrefixIndex(2, new int[] {1}));
            w.putPrefixIndex(Fixtures.L - 2, new int[] {0, 3, Fixtures.N - 1});  // the last allowed position and string
            assertTrue(w.hasPrefixIndex(2));
        }
    }

    /** The manifest lists prefix indexes by position, whatever order they were stored in. */
    @Test
    void prefixIndexesAreListedInPositionOrder() throws IOException {
        Path dir = tmp.resolve("s");
        byte[] strings = Fixtures.strings();
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            w.putStrings(strings);
            w.putPrefixIndex(1, Fixtures.prefixIndex(strings, 1));
            w.putPrefixIndex(0, Fixtures.prefixIndex(strings, 0));
            assertEquals(List.of(0, 1), w.manifest().prefixIndexes().stream().map(Manifest.PrefixIndexFile::position).toList());
        }
        assertEquals(List.of(0, 1), Manifest.read(dir).prefixIndexes().stream().map(Manifest.PrefixIndexFile::position).toList());
    }

    private static List<EntrySpec> blocks(int n) {
        List<EntrySpec> out = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            out.add(new EntrySpec("block_output", b, Fixtures.L - 1, 8));
        }
        return out;
    }

    /** A refusal lists at most six entries of each side, then how many more. */
    @Test
    void differentEntriesAreSummarizedSixAtATime() {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        StoreSpec s = Fixtures.spec();
        String six = assertThrows(StoreIncompatibleException.class, () -> StoreWriter.open(dir, new StoreSpec(s.model(),
                s.datasetSha256(), s.stringLength(), s.stringCount(), s.shardStrings(), blocks(6)), false)).getMessage();
        assertTrue(six.contains("but this extraction asks for [block_output block 0 position 3 dim 8, "
                + "block_output block 1 position 3 dim 8, block_output block 2 position 3 dim 8, block_output block 3 position 3 dim 8, "
                + "block_output block 4 position 3 dim 8, block_output block 5 position 3 dim 8]: ask for the same"), six);
        String eight = assertThrows(StoreIncompatibleException.class, () -> StoreWriter.open(dir, new StoreSpec(s.model(),
                s.datasetSha256(), s.stringLength(), s.stringCount(), s.shardStrings(), blocks(8)), false)).getMessage();
        assertTrue(eight.contains("block_output block 5 position 3 dim 8, ... 2 more]: ask for the same"), eight);
        assertTrue(eight.contains("holds [block_output block 0 position 3 dim 8, block_output block 1 position 3 dim 8, "
                + "embedding block 0 position 0 dim 5, ffwd_output block 1 position 1 dim 8], but"), eight);
    }

    /** A folder left with only the lock file of a writer that never wrote a manifest is empty enough. */
    @Test
    void aFolderHoldingOnlyALockFileIsEmpty() throws IOException {
        Path dir = tmp.resolve("s");
        Files.createDirectories(dir);
        Files.createFile(dir.resolve(StoreWriter.LOCK_FILE));
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertEquals(0, w.nextShard());
        }
    }

    /** A store that cannot be resumed says so and adds that starting over is a way out. */
    @Test
    void anUnreadableManifestRefusalOffersToStartOver() throws IOException {
        Path dir = Fixtures.modelStore(tmp.resolve("s"));
        Path mf = dir.resolve(Manifest.FILE);
        String json = Files.readString(mf);
        Files.writeString(mf, json.substring(0, 40));
        StoreDamagedException d = assertThrows(StoreDamagedException.class, () -> StoreWriter.open(dir, Fixtures.spec(), false));
        assertTrue(d.getMessage().contains("is damaged: it is not valid JSON") && d.getMessage().endsWith(", or start it over"),
                d.getMessage());
        assertTrue(d.getCause() instanceof StoreDamagedException);
        Files.writeString(mf, json.replace("\"format_version\" : 1", "\"format_version\" : 2"));
        StoreIncompatibleException i = assertThrows(StoreIncompatibleException.class,
                () -> StoreWriter.open(dir, Fixtures.spec(), false));
        assertTrue(i.getMessage().contains("has store format version 2") && i.getMessage().endsWith(", or start it over"),
                i.getMessage());
        Files.writeString(mf, "{\"format\": \"something-else\"}");
        StoreNotFoundException n = assertThrows(StoreNotFoundException.class, () -> StoreWriter.open(dir, Fixtures.spec(), false));
        assertTrue(n.getMessage().contains("is not a blocksim store manifest") && n.getMessage().endsWith(", or start it over"),
                n.getMessage());
    }

    /** The writer's lock file is open once while it writes and not at all after close, also after a refused second writer. */
    @Test
    void theLockFileIsClosedWithTheWriterAndByARefusedOne() throws IOException {
        Descriptors.assumeAvailable();
        Path dir = tmp.resolve("s");
        Path lock = dir.resolve(StoreWriter.LOCK_FILE);
        StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false);
        assertEquals(1, Descriptors.to(lock));
        StoreException busy = assertThrows(StoreException.class, () -> StoreWriter.open(dir, Fixtures.spec(), false));
        assertTrue(busy.getMessage().contains("being written by another blocksim process"), busy.getMessage());
        assertEquals(1, Descriptors.to(lock), "the refused writer closes its channel");
        w.close();
        assertEquals(0, Descriptors.to(lock));
    }

    /** Closing the writer with a shard still open abandons the shard: temp files deleted, memory unmapped. */
    @Test
    void closingTheWriterAbandonsAnOpenShard() throws IOException {
        Path dir = tmp.resolve("s");
        StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false);
        Fixtures.prepare(w);
        StoreWriter.Shard s = w.beginShard(0);
        MemorySegment v = s.vectors(B0);
        Path temp = dir.resolve(StoreWriter.vectorsFile(B0, 0) + NpyFileWriter.TEMP_SUFFIX);
        assertTrue(Files.exists(temp));
        w.close();
        assertFalse(Files.exists(temp));
        assertThrows(IllegalStateException.class, () -> v.get(Npy.UINT8, 0));
        assertEquals(0, Manifest.read(dir).shardsDone());
    }

    @Test
    void aShardNamesItsRowsByIndexOrKey() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 1);
            int[] pi = Fixtures.prefixIndex(Fixtures.strings(), 0);
            try (StoreWriter.Shard s = w.beginShard(1)) {
                assertEquals(1, s.index());
                assertEquals(4, s.firstString());
                assertEquals(8, s.endString());
                assertEquals(4, s.rows(0));
                assertEquals(4, s.firstRow(0));
                for (int e = 0; e < Fixtures.ENTRIES.size(); e++) {
                    EntryKey k = Fixtures.ENTRIES.get(e).key();
                    assertEquals(s.rows(k), s.rows(e));
                    assertEquals(s.firstRow(k), s.firstRow(e));
                }
                int first = 0;
                while (pi[first] < 4) {
                    first++;
                }
                assertEquals(first, s.firstRow(EMB));
                EntryKey unknown = new EntryKey("proj_output", 0, 3);
                assertEquals("entry proj_output block 0 position 3 is not in this store's spec",
                        assertThrows(IllegalArgumentException.class, () -> s.rows(unknown)).getMessage());
            }
        }
    }

    private static void fillAll(StoreWriter.Shard s) {
        for (EntrySpec e : Fixtures.ENTRIES) {
            Fixtures.fill(s, e);
        }
    }

    /** The first bad row is reported, as a row of the whole entry, even when it is the shard's first row and column. */
    @Test
    void theFirstNonFiniteValueIsReportedEvenAtRowZeroColumnZero() {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 1);
            try (StoreWriter.Shard s = w.beginShard(1)) {
                fillAll(s);
                s.vectors(B0).setAtIndex(Npy.FLOAT32, 0, Float.NaN);
                s.vectors(B0).setAtIndex(Npy.FLOAT32, 2 * 8 + 3, Float.POSITIVE_INFINITY);
                InvalidDataException e = assertThrows(InvalidDataException.class, s::commit);
                assertTrue(e.getMessage().startsWith("shard 1 of block_output block 0 position 3 has a NaN or infinite value at row 4,"
                        + " column 0: the model produced it"), e.getMessage());
                // the failed shard is abandoned at once: its files are gone and it can be begun again
                assertFalse(Files.exists(dir.resolve(StoreWriter.vectorsFile(B0, 1) + NpyFileWriter.TEMP_SUFFIX)));
                try (StoreWriter.Shard again = w.beginShard(1)) {
                    fillAll(again);
                    again.commit();
                }
            }
            assertEquals(2, w.nextShard());
        }
    }

    /** Finite values whose norm overflows float32 are refused as such (no column to name), in the shard's last row too. */
    @Test
    void aRowWhoseNormOverflowsIsNamed() {
        try (StoreWriter w = StoreWriter.open(tmp.resolve("s"), Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Fixtures.writeShards(w, 2);
            try (StoreWriter.Shard s = w.beginShard(2)) {
                fillAll(s);
                int last = s.rows(B0) - 1;
                for (int c = 0; c < 8; c++) {
                    s.vectors(B0).setAtIndex(Npy.FLOAT32, last * 8L + c, 3e38f);
                }
                InvalidDataException e = assertThrows(InvalidDataException.class, s::commit);
                assertTrue(e.getMessage().startsWith("shard 2 of block_output block 0 position 3 has a row (10) whose norm overflows"
                        + " float32: the model produced it"), e.getMessage());
            }
        }
    }

    /** A commit that fails after some files were renamed into place removes them again: no final file without the manifest. */
    @Test
    void aFailedCommitLeavesNoFinalFileOfTheShard() throws IOException {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            try (StoreWriter.Shard s = w.beginShard(0)) {
                fillAll(s);
                // the embedding's final name is taken by a non-empty folder: its rename fails, the others succeed
                Path blocker = dir.resolve(StoreWriter.vectorsFile(EMB, 0));
                Files.createDirectories(blocker.resolve("x"));
                FileAccessException e = assertThrows(FileAccessException.class, s::commit);
                assertTrue(e.getMessage().startsWith("could not write " + blocker), e.getMessage());
                for (EntrySpec es : Fixtures.ENTRIES) {
                    if (!es.key().equals(EMB)) {
                        assertFalse(Files.exists(dir.resolve(StoreWriter.vectorsFile(es.key(), 0))), es.key().toString());
                        assertFalse(Files.exists(dir.resolve(StoreWriter.normsFile(es.key(), 0))), es.key().toString());
                    }
                    assertFalse(Files.exists(dir.resolve(StoreWriter.vectorsFile(es.key(), 0) + NpyFileWriter.TEMP_SUFFIX)));
                }
                Files.delete(blocker.resolve("x"));
                Files.delete(blocker);
            }
            assertEquals(0, w.nextShard());
            Fixtures.writeShards(w, 1);
            assertEquals(1, w.nextShard());
        }
    }

    /**
     * Shards committed in the background, each next one filled while the last is made durable,
     * give the same files, byte for byte, as shards committed one at a time; the manifest on disk
     * lists every shard once the writer has waited.
     */
    @Test
    void backgroundCommitsWriteTheSameBytesAsCommits() throws IOException {
        Path plain = Fixtures.modelStore(tmp.resolve("plain"));
        Path dir = tmp.resolve("bg");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            for (int i = 0; i < w.shardCount(); i++) {
                try (StoreWriter.Shard s = w.beginShard(i)) {
                    fillAll(s);
                    s.commitInBackground();
                }
                assertEquals(i + 1, w.nextShard());
            }
            w.awaitCommitted();
            assertEquals(w.manifest(), Manifest.read(dir));
        }
        List<Path> a = Fixtures.files(plain);
        List<Path> b = Fixtures.files(dir);
        assertEquals(a.stream().map(plain::relativize).toList(), b.stream().map(dir::relativize).toList());
        for (int f = 0; f < a.size(); f++) {
            if (!a.get(f).getFileName().toString().equals(StoreWriter.LOCK_FILE)) {
                assertArrayEquals(Files.readAllBytes(a.get(f)), Files.readAllBytes(b.get(f)), a.get(f).toString());
            }
        }
    }

    /**
     * A background commit that fails is thrown by the next commit, which abandons its own shard
     * too: the writer goes back to the failed shard, no file of either shard is left, and writing
     * them again works.
     */
    @Test
    void aFailedBackgroundCommitIsThrownOnceAndTheWriterGoesBackToThatShard() throws IOException {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Manifest before = w.manifest();
            Path blocker = dir.resolve(StoreWriter.vectorsFile(EMB, 0));
            Files.createDirectories(blocker.resolve("x"));
            try (StoreWriter.Shard s = w.beginShard(0)) {
                fillAll(s);
                s.commitInBackground();
            }
            assertEquals(1, w.nextShard());
            try (StoreWriter.Shard s = w.beginShard(1)) {
                fillAll(s);
                FileAccessException e = assertThrows(FileAccessException.class, s::commitInBackground);
                assertTrue(e.getMessage().startsWith("could not write " + blocker), e.getMessage());
            }
            assertEquals(0, w.nextShard());
            assertEquals(before, w.manifest());
            for (EntrySpec es : Fixtures.ENTRIES) {
                for (int i : new int[] {0, 1}) {
                    if (!(i == 0 && es.key().equals(EMB))) {
                        assertFalse(Files.exists(dir.resolve(StoreWriter.vectorsFile(es.key(), i))), es.key() + " " + i);
                    }
                    assertFalse(Files.exists(dir.resolve(StoreWriter.normsFile(es.key(), i))), es.key() + " " + i);
                    assertFalse(Files.exists(dir.resolve(StoreWriter.vectorsFile(es.key(), i) + NpyFileWriter.TEMP_SUFFIX)));
                }
            }
            assertEquals(before, Manifest.read(dir));
            w.awaitCommitted(); // thrown once only
            Files.delete(blocker.resolve("x"));
            Files.delete(blocker);
            Fixtures.writeShards(w, w.shardCount());
            assertTrue(w.complete());
        }
        Path plain = Fixtures.modelStore(tmp.resolve("plain"));
        assertEquals(Manifest.read(plain), Manifest.read(dir));
    }

    /** A background commit that fails and is never waited for is thrown by close, after the lock is released. */
    @Test
    void closeThrowsABackgroundFailureNoCallHasThrown() throws IOException {
        Path dir = tmp.resolve("s");
        StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false);
        Fixtures.prepare(w);
        Path blocker = dir.resolve(StoreWriter.vectorsFile(EMB, 0));
        Files.createDirectories(blocker.resolve("x"));
        try (StoreWriter.Shard s = w.beginShard(0)) {
            fillAll(s);
            s.commitInBackground();
        }
        FileAccessException e = assertThrows(FileAccessException.class, w::close);
        assertTrue(e.getMessage().startsWith("could not write " + blocker), e.getMessage());
        w.close(); // once
        Files.delete(blocker.resolve("x"));
        Files.delete(blocker);
        try (StoreWriter again = StoreWriter.open(dir, Fixtures.spec(), false)) {
            assertEquals(0, again.nextShard());
        }
    }

    /**
     * A file written from the caller's buffer (aligned, so direct I/O where the file system allows
     * it; large enough that whole blocks and a tail are written) zeroes the buffer first, holds
     * exactly what {@link Npy#write} writes for the same data, and leaves the buffer reusable; a
     * buffer too small is refused before any file is made.
     */
    @Test
    void aFileWriterOnTheCallersBufferWritesTheSameBytesAsNpyWrite() throws IOException {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            long[] shape = {1001, 5}; // 20,020 data bytes: four whole 4 KiB blocks with the header, and a tail
            long need = NpyFileWriter.bufferBytes(NpyDtype.FLOAT32, shape);
            MemorySegment buf = arena.allocate(need + 100, NpyFileWriter.DIRECT_ALIGN);
            buf.fill((byte) 7);
            for (int round = 0; round < 2; round++) {
                Path f = tmp.resolve("b" + round + ".npy");
                long crc;
                try (NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.FLOAT32, buf, shape)) {
                    assertEquals(1001 * 5 * 4, w.data().byteSize());
                    for (long i = 0; i < w.data().byteSize(); i++) {
                        assertEquals(0, w.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
                    }
                    for (int i = round; i < 1001 * 5; i += 3) {
                        w.data().setAtIndex(Npy.FLOAT32, i, i * 0.25f - 3);
                    }
                    crc = w.finish();
                }
                float[] want = new float[1001 * 5];
                for (int i = round; i < want.length; i += 3) {
                    want[i] = i * 0.25f - 3;
                }
                Path g = tmp.resolve("g" + round + ".npy");
                Npy.write(g, NpyDtype.FLOAT32, shape, MemorySegment.ofArray(want));
                assertArrayEquals(Files.readAllBytes(g), Files.readAllBytes(f));
                assertEquals(Npy.crc32c(MemorySegment.ofArray(want)), crc);
                assertEquals(7, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, need)); // beyond the file: untouched
            }
            assertThrows(IllegalArgumentException.class,
                    () -> NpyFileWriter.create(tmp.resolve("c.npy"), NpyDtype.FLOAT32, buf, 2000, 5));
            assertFalse(Files.exists(tmp.resolve("c.npy.tmp")));
        }
    }

    /** A shard whose files cannot all be created leaves none of them behind. */
    @Test
    void aShardThatCannotBeCreatedLeavesNoTempFile() throws IOException {
        Path dir = tmp.resolve("s");
        try (StoreWriter w = StoreWriter.open(dir, Fixtures.spec(), false)) {
            Fixtures.prepare(w);
            Path firstTemp = dir.resolve(StoreWriter.vectorsFile(B0, 0) + NpyFileWriter.TEMP_SUFFIX);
            Path firstNorms = dir.resolve(StoreWriter.normsFile(B0, 0) + NpyFileWriter.TEMP_SUFFIX);

            // the second entry's folder is a file: creating the folder fails (an IOException)
            Path folder = dir.resolve(Fixtures.ENTRIES.get(1).key().folder());
            Files.writeString(folder, "in the way");
            FileAccessException e = assertThrows(FileAccessException.class, () -> w.beginShard(0));
            assertTrue(e.getMessage().startsWith("could not create a shard in " + dir), e.getMessage());
            assertFalse(Files.exists(firstTemp));
            assertFalse(Files.exists(firstNorms));
            Files.delete(folder);

            // the second entry's temp file name is a folder: creating the file fails (a FileAccessException)
            Path temp = dir.resolve(StoreWriter.vectorsFile(Fixtures.ENTRIES.get(1).key(), 0) + NpyFileWriter.TEMP_SUFFIX);
            Files.createDirectories(temp.resolve("x"));
            assertThrows(FileAccessException.class, () -> w.beginShard(0));
            assertFalse(Files.exists(firstTemp));
            assertFalse(Files.exists(firstNorms));
            Files.delete(temp.resolve("x"));
            Files.delete(temp);

            Fixtures.writeShards(w, 1);
            assertEquals(1, w.nextShard());
        }
    }

    // ---- NpyFileWriter ----

    @Test
    void aFileWriterNamesItsTargetAndHeader() {
        Path f = tmp.resolve("w.npy");
        try (NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.INT32, 2, 3)) {
            assertEquals(f, w.target());
            assertEquals(NpyHeader.forWrite(NpyDtype.INT32, 2, 3), w.header());
            assertEquals(tmp.resolve("w.npy.tmp"), w.tempFile());
            assertEquals(24, w.data().byteSize());
        }
    }

    /** Finishing or abandoning a file closes it: no descriptor of this process refers to it afterwards. */
    @Test
    void aFileWriterClosesItsFileWhenFinishedOrAbandoned() throws IOException {
        Descriptors.assumeAvailable();
        Path f = tmp.resolve("w.npy");
        NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.FLOAT32, 4);
        assertEquals(1, Descriptors.to(w.tempFile()));
        w.finish();
        assertEquals(0, Descriptors.to(w.tempFile()) + Descriptors.to(f));
        NpyFileWriter abandoned = NpyFileWriter.create(tmp.resolve("a.npy"), NpyDtype.FLOAT32, 4);
        abandoned.close();
        assertEquals(0, Descriptors.to(abandoned.tempFile()));
        assertFalse(Files.exists(abandoned.tempFile()));
    }

    /** A finish whose rename fails deletes the temp file and leaves the writer finished. */
    @Test
    void aFinishThatCannotRenameLeavesNoTempFile() throws IOException {
        Path f = tmp.resolve("w.npy");
        Files.createDirectories(f.resolve("in-the-way"));
        NpyFileWriter w = NpyFileWriter.create(f, NpyDtype.FLOAT32, 4);
        FileAccessException e = assertThrows(FileAccessException.class, w::finish);
        assertTrue(e.getMessage().startsWith("could not write " + f + ":"), e.getMessage());
        assertFalse(Files.exists(w.tempFile()));
        assertThrows(IllegalStateException.class, w::finish);
        w.close();
    }

    /** A file larger than the file system can hold fails cleanly: no temp file, no open descriptor. */
    @Test
    void aFileTooLargeToCreateLeavesNothing() throws IOException {
        Descriptors.assumeAvailable();
        Path f = tmp.resolve("huge.npy");
        Path temp = tmp.resolve("huge.npy.tmp");
        FileAccessException e = assertThrows(FileAccessException.class,
                () -> NpyFileWriter.create(f, NpyDtype.FLOAT32, 1L << 60));
        assertTrue(e.getMessage().startsWith("could not create " + temp + ":"), e.getMessage());
        assertFalse(Files.exists(temp));
        assertEquals(0, Descriptors.to(temp));
        assertFalse(Files.exists(f));
    }

    @Test
    void aFileWriterInAMissingFolderSaysSo() {
        Path f = tmp.resolve("no/such/w.npy");
        FileAccessException e = assertThrows(FileAccessException.class, () -> NpyFileWriter.create(f, NpyDtype.FLOAT32, 4));
        assertTrue(e.getMessage().startsWith("could not create " + f + ".tmp: no such file or directory"), e.getMessage());
        assertArrayEquals(new String[0], tmp.toFile().list());
    }
}
