package io.blocksim.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextPipelineTest {

    @Test
    void corpusCountsMatchTheSeed() {
        Corpus corpus = TestCorpus.get();
        assertEquals(Corpus.TINYSHAKESPEARE_SHA256, corpus.sha256());
        assertEquals(1_115_394, corpus.text().length());
        Tokenizer tok = Tokenizer.fromText(corpus.text());
        assertEquals(65, tok.size());
        StringTable strings = StringTable.uniqueSubstrings(tok.encode(corpus.text()), 10);
        assertEquals(858_923, strings.size());
        int[] expected = {65, 1_403, 11_556, 50_712, 141_021, 283_313, 447_352, 609_659, 750_467, 858_923};
        for (int t = 0; t < 10; t++) {
            assertEquals(expected[t], strings.prefixes(t).rows(), "prefixes at t=" + t);
        }
    }

    @Test
    void matchesANaiveImplementationOnRandomText() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 20; trial++) {
            int len = 1 + rnd.nextInt(6);
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(400);
            for (int i = 0; i < n; i++) {
                sb.append("abc\n".charAt(rnd.nextInt(4)));
            }
            String text = sb.toString();
            Tokenizer tok = new Tokenizer("\nabc");
            StringTable table = StringTable.uniqueSubstrings(tok.encode(text), len);
            LinkedHashSet<String> naive = new LinkedHashSet<>();
            for (int i = 0; i + len <= text.length(); i++) {
                naive.add(text.substring(i, i + len));
            }
            List<String> got = new ArrayList<>();
            for (int r = 0; r < table.size(); r++) {
                got.add(table.decode(tok, r, len));
            }
            assertEquals(new ArrayList<>(naive), got);
            for (int t = 0; t < len; t++) {
                Map<String, Integer> first = new LinkedHashMap<>();
                for (int r = 0; r < got.size(); r++) {
                    first.putIfAbsent(got.get(r).substring(0, t + 1), r);
                }
                PrefixIndex p = table.prefixes(t);
                assertArrayEquals(first.values().stream().mapToInt(Integer::intValue).toArray(), p.firstStrings());
                for (int r = 0; r <= got.size(); r++) {
                    final int row = r;
                    assertEquals(first.values().stream().filter(v -> v < row).count(), p.rowsBefore(r));
                }
            }
        }
    }

    @Test
    void tokenizerRoundTripsAndNamesBadCharacters() {
        Tokenizer tok = new Tokenizer(" !abc");
        assertEquals("ab c!", tok.decode(tok.encode("ab c!")));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> tok.encode("abz"));
        assertTrue(e.getMessage().contains("'z'") && e.getMessage().contains("position 2"), e.getMessage());
    }

    /** An emoji is one character (two UTF-16 units): named whole, shown, and counted as one position. */
    @Test
    void tokenizerNamesAWholeCodePointOutsideTheBasicPlane() {
        Tokenizer tok = new Tokenizer(" !abc");
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> tok.encode("a\uD83D\uDE00b"));
        assertTrue(e.getMessage().contains("character '\uD83D\uDE00' (U+1F600) at position 1 of"), e.getMessage());
        assertTrue(!e.getMessage().contains("U+D83D") && !e.getMessage().contains("'?'"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> tok.encode("\uD83D\uDE00\uD83D\uDE00z"));
        assertTrue(e.getMessage().contains("(U+1F600) at position 0"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> tok.encode("ab\u00e9"));
        assertTrue(e.getMessage().contains("'\u00e9' (U+00E9) at position 2"), e.getMessage());
    }

    @Test
    void quoteLooksLikePythonRepr() {
        assertEquals("'my most gr'", Tokenizer.quote("my most gr"));
        assertEquals("'ng\\nfantast'", Tokenizer.quote("ng\nfantast"));
        assertEquals("\"n's beams,\"", Tokenizer.quote("n's beams,"));
    }

    @Test
    void anyUtf8FileIsACorpus(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "héllo wörld", StandardCharsets.UTF_8);
        Corpus c = Corpus.resolve(f);
        assertEquals("héllo wörld", c.text());
        assertEquals(64, c.sha256().length());
        Files.write(f, new byte[] {(byte) 0xff, (byte) 0xfe, 0x41});
        assertThrows(InvalidDataException.class, () -> Corpus.read(f));
        assertThrows(FileAccessException.class, () -> Corpus.read(dir.resolve("missing.txt")));
    }

    @Test
    void withStringsAppendsOnlyTheMissingOnes() {
        StringTable t = new StringTable(new byte[] {1, 2, 3, 4, 5, 6}, 2);
        StringTable u = t.withStrings(java.util.List.of(new byte[] {3, 4}, new byte[] {9, 9}, new byte[] {9, 9}));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 9, 9}, u.tokens());
        org.junit.jupiter.api.Assertions.assertSame(t, t.withStrings(java.util.List.of(new byte[] {5, 6})));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> t.withStrings(java.util.List.of(new byte[] {1})));
        // prefix indexes stay consistent: the appended string's prefix 9 is new, 3 is not
        org.junit.jupiter.api.Assertions.assertEquals(4, u.prefixes(0).rows());
    }
}
