package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.FileAccessException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The small rules of the store's value types and helpers: exact words, exact boundaries. */
class StoreValuesTest {
    @TempDir
    Path tmp;

    @Test
    void byteCountsUseBinaryUnitsWithOneDecimal() {
        assertEquals("0 B", FileOps.bytes(0));
        assertEquals("1023 B", FileOps.bytes(1023));
        assertEquals("1.0 KiB", FileOps.bytes(1024));
        assertEquals("1.5 KiB", FileOps.bytes(1536));
        assertEquals("1024.0 KiB", FileOps.bytes(1024L * 1024 - 1));  // 1023.999 rounds up, still KiB
        assertEquals("1.0 MiB", FileOps.bytes(1024L * 1024));
        assertEquals("2.5 GiB", FileOps.bytes(5L << 29));
        assertEquals("1.0 TiB", FileOps.bytes(1L << 40));
        assertEquals("1024.0 TiB", FileOps.bytes(1L << 50));  // TiB is the largest unit
    }

    @Test
    void fileErrorsSayWhatFailedInWords() {
        Path f = Path.of("some", "file.npy");
        FileAccessException e = FileOps.io("read", f, new NoSuchFileException(f.toString()));
        assertEquals("could not read " + f + ": no such file or directory (check the path, its permissions and free disk space)",
                e.getMessage());
        assertTrue(e.getCause() instanceof NoSuchFileException);
        assertEquals("could not write " + f + ": permission denied (check the path, its permissions and free disk space)",
                FileOps.io("write", f, new AccessDeniedException(f.toString())).getMessage());
        assertTrue(FileOps.io("map", f, new IOException("No space left on device")).getMessage()
                .startsWith("could not map " + f + ": No space left on device ("));
        assertTrue(FileOps.io("map", f, new IOException()).getMessage().startsWith("could not map " + f + ": IOException ("));
    }

    @Test
    void usableSpaceIsTheDisksOrUnlimitedWhenUnknown() {
        long free = FileOps.usableSpace(tmp);
        assertTrue(free > 0 && free < Long.MAX_VALUE, "free " + free);
        assertEquals(Long.MAX_VALUE, FileOps.usableSpace(tmp.resolve("no/such/dir")));
    }

    @Test
    void entryKeysSortBySiteThenBlockThenPosition() {
        List<EntryKey> keys = new ArrayList<>(List.of(new EntryKey("b", 0, 0), new EntryKey("a", 1, 0),
                new EntryKey("a", 0, 2), new EntryKey("a", 0, 1), new EntryKey("a", 1, 0)));
        java.util.Collections.sort(keys);
        assertEquals(List.of(new EntryKey("a", 0, 1), new EntryKey("a", 0, 2), new EntryKey("a", 1, 0),
                new EntryKey("a", 1, 0), new EntryKey("b", 0, 0)), keys);
        assertEquals(0, new EntryKey("a", 1, 2).compareTo(new EntryKey("a", 1, 2)));
        assertTrue(new EntryKey("a", 1, 2).compareTo(new EntryKey("a", 1, 3)) < 0);
        assertTrue(new EntryKey("a", 2, 0).compareTo(new EntryKey("a", 1, 3)) > 0);
    }

    @Test
    void anEntrySpecNeedsAtLeastOneDimension() {
        assertEquals(1, new EntrySpec("e", 0, 0, 1).dim());
        assertEquals("dim must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> new EntrySpec("e", 0, 0, 0)).getMessage());
    }

    private static ModelInfo model(int vocab) {
        String v = IntStream.range(0, vocab).map(i -> 0x4E00 + i)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return new ModelInfo("a".repeat(64), 1, 1, 1, v);
    }

    @Test
    void aSpecAllowsOneTo256TokensAndAnythingFromOneString() {
        List<EntrySpec> one = List.of(new EntrySpec("e", 0, 0, 1));
        assertEquals(1, new StoreSpec(model(1), null, 1, 1, 1, one).shardCount());
        assertEquals(1, new StoreSpec(model(256), null, 1, 1, 1, one).shardCount());
        for (int vocab : new int[] {0, 257}) {
            assertEquals("vocab must have 1..256 tokens (strings.npy is uint8), got " + vocab,
                    assertThrows(IllegalArgumentException.class, () -> new StoreSpec(model(vocab), null, 1, 1, 1, one)).getMessage());
        }
        for (int[] lns : new int[][] {{0, 1, 1}, {1, 0, 1}, {1, 1, 0}}) {
            assertEquals("L, N and shard size must be >= 1", assertThrows(IllegalArgumentException.class,
                    () -> new StoreSpec(model(5), null, lns[0], lns[1], lns[2], one)).getMessage());
        }
        // position L-1 is the last one a spec may ask for
        new StoreSpec(model(5), null, 3, 1, 1, List.of(new EntrySpec("e", 0, 2, 1)));
        assertEquals("entry e block 0 position 3 is past the last position 2", assertThrows(IllegalArgumentException.class,
                () -> new StoreSpec(model(5), null, 3, 1, 1, List.of(new EntrySpec("e", 0, 3, 1)))).getMessage());
        assertEquals(3, new StoreSpec(model(5), null, 1, 9, 4, one).shardCount());
    }

    @Test
    void labelsSplitOnEveryLineEndAndAFinalOneAddsNothing() {
        assertEquals(List.of(), Labels.split(""));
        assertEquals(List.of("a"), Labels.split("a"));
        assertEquals(List.of("a"), Labels.split("a\n"));
        assertEquals(List.of("a"), Labels.split("a\r"));
        assertEquals(List.of("a"), Labels.split("a\r\n"));
        assertEquals(List.of("a", "b"), Labels.split("a\r\nb"));
        assertEquals(List.of("a", "", "b"), Labels.split("a\r\rb\n"));
        assertEquals(List.of("a", "", "b"), Labels.split("a\n\r\nb"));
        assertEquals(List.of(""), Labels.split("\n"));
    }

    @Test
    void aModelIsDescribedByTheStartOfItsSha() {
        assertEquals("sha256 0123456789ab... (n_layer 6, n_embed 384, n_head 6)",
                new ModelInfo("0123456789abcdef".repeat(4), 6, 384, 6, "ab").describe());
        assertEquals("sha256 0123456789ab (n_layer 1, n_embed 2, n_head 3)",
                new ModelInfo("0123456789ab", 1, 2, 3, "ab").describe());
        assertEquals("sha256 0123456789ab... (n_layer 1, n_embed 2, n_head 3)",
                new ModelInfo("0123456789abc", 1, 2, 3, "ab").describe());
        assertEquals("sha256 ? (n_layer 1, n_embed 2, n_head 3)", new ModelInfo(null, 1, 2, 3, "ab").describe());
        assertEquals(0, new ModelInfo(null, 1, 2, 3, null).vocabSize());
    }

    @Test
    void oneByteDescrsOfAnyByteOrderAreUint8() {
        for (String d : new String[] {"|u1", "<u1", ">u1", "=u1"}) {
            assertSame(NpyDtype.UINT8, NpyDtype.fromDescr(d), d);
        }
        for (String d : new String[] {"|i1", "<i1", ">i1", "=i1"}) {
            assertSame(NpyDtype.INT8, NpyDtype.fromDescr(d), d);
        }
        assertSame(NpyDtype.FLOAT32, NpyDtype.fromDescr("<f4"));
        assertSame(NpyDtype.INT64, NpyDtype.fromDescr("<i8"));
        for (String d : new String[] {"u1", "xu1", "<u2", "<i2", "<u1 ", ">f4", "<f8", ""}) {
            assertNull(NpyDtype.fromDescr(d), d);
        }
    }

    @Test
    void unreadableDescrsAreDescribedInWords() {
        assertEquals("'<f8' (float64)", NpyDtype.describe("<f8"));
        assertEquals("'>f4' (big-endian)", NpyDtype.describe(">f4"));
        assertEquals("'<U10' (string)", NpyDtype.describe("<U10"));
        assertEquals("'|b1' (bool)", NpyDtype.describe("|b1"));
        assertEquals("'<c16' (complex128)", NpyDtype.describe("<c16"));
        assertEquals("'|O'", NpyDtype.describe("|O"));  // a kind without a size
        assertEquals("'<V8'", NpyDtype.describe("<V8"));
        assertEquals("'f'", NpyDtype.describe("f"));
        assertEquals("''", NpyDtype.describe(""));
    }

    @Test
    void aProblemReadsAsFileColonMessage() {
        assertEquals("a/b.npy: is missing", new StoreVerifier.Problem("a/b.npy", "is missing").toString());
    }
}
