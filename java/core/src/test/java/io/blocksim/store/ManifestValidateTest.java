package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.StoreDamagedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Manifest.validate, one rule at a time: each inconsistent manifest is refused with the words that
 * name its problem, and each boundary value that is allowed passes.
 */
class ManifestValidateTest {
    private static final Path FILE = Path.of("store", "manifest.json");

    @TempDir
    Path tmp;

    /** The fixture's complete model store: L 4, N 11, shards of 4, prefix indexes at 0 and 1. */
    private Manifest good;

    @BeforeEach
    void readFixture() {
        good = Manifest.read(Fixtures.modelStore(tmp.resolve("s")));
    }

    /** A manifest's fields, to change one and build it again. */
    private static final class M {
        String format;
        int version;
        String kind;
        ModelInfo model;
        String dataset;
        int l;
        int n;
        int shardStrings;
        int total;
        int done;
        Manifest.FileRef strings;
        Manifest.FileRef labels;
        List<Manifest.PrefixIndexFile> prefixes;
        List<Manifest.Entry> entries;

        M(Manifest m) {
            format = m.format();
            version = m.formatVersion();
            kind = m.kind();
            model = m.model();
            dataset = m.datasetSha256();
            l = m.stringLength();
            n = m.stringCount();
            shardStrings = m.shardStrings();
            total = m.shardsTotal();
            done = m.shardsDone();
            strings = m.strings();
            labels = m.labels();
            prefixes = m.prefixIndexes() == null ? null : new ArrayList<>(m.prefixIndexes());
            entries = m.entries() == null ? null : new ArrayList<>(m.entries());
        }

        Manifest build() {
            return new Manifest(format, version, kind, model, dataset, l, n, shardStrings, total, done, strings, labels,
                    prefixes, entries);
        }
    }

    private static Manifest with(Manifest base, Consumer<M> change) {
        M m = new M(base);
        change.accept(m);
        return m.build();
    }

    /** The smallest model store: one string of length 1, one entry, no shard written yet. */
    private static Manifest smallest() {
        return new Manifest(Manifest.FORMAT, 1, Manifest.KIND_MODEL, new ModelInfo("a".repeat(64), 1, 1, 1, "x"), null,
                1, 1, 1, 1, 0, null, null, List.of(), List.of(new Manifest.Entry("e", 0, 0, 1, 0, null, List.of())));
    }

    /** The "why" of the refusal of {@code m}. */
    private static String refused(Manifest m) {
        StoreDamagedException e = assertThrows(StoreDamagedException.class, () -> m.validate(FILE));
        String prefix = FILE + " is damaged: ";
        String suffix = "; extract or import the store again";
        assertTrue(e.getMessage().startsWith(prefix) && e.getMessage().endsWith(suffix), e.getMessage());
        return e.getMessage().substring(prefix.length(), e.getMessage().length() - suffix.length());
    }

    private Manifest.Entry entry(Manifest m, String site, int block) {
        return m.entries().stream().filter(e -> e.site().equals(site) && e.block() == block).findFirst().orElseThrow();
    }

    private static List<Manifest.Entry> replace(List<Manifest.Entry> entries, Manifest.Entry old, Manifest.Entry now) {
        List<Manifest.Entry> out = new ArrayList<>(entries);
        out.set(out.indexOf(old), now);
        return out;
    }

    private static Manifest.Entry withShards(Manifest.Entry e, int rows, List<Manifest.Shard> shards) {
        return new Manifest.Entry(e.site(), e.block(), e.position(), e.dim(), rows, e.prefixIndex(), shards);
    }

    private static Manifest.Shard rows(Manifest.Shard s, int rows) {
        return new Manifest.Shard(s.file(), rows, s.crc32c(), s.norms(), s.normsCrc32c());
    }

    @Test
    void theFixtureAndTheSmallestStoreAreValid() {
        good.validate(FILE);
        smallest().validate(FILE);
        // shards_done may be anything from 0 to shards_total
        with(smallest(), m -> {
            m.done = 1;
            m.strings = new Manifest.FileRef(Manifest.STRINGS_FILE, "00000000");
            m.entries = List.of(new Manifest.Entry("e", 0, 0, 1, 1, null,
                    List.of(new Manifest.Shard("e-b0-t0/vectors-00000.npy", 1, "0", "e-b0-t0/norms-00000.npy", "0"))));
        }).validate(FILE);
    }

    @Test
    void kindLengthsAndShardCountsAreChecked() {
        assertEquals("kind is 'other', not model or imported", refused(with(good, m -> m.kind = "other")));
        assertEquals("L and N must be >= 1 (L 0, N 1)", refused(with(smallest(), m -> m.l = 0)));
        assertEquals("L and N must be >= 1 (L 1, N 0)", refused(with(smallest(), m -> m.n = 0)));
        assertEquals("shard_strings must be >= 1", refused(with(smallest(), m -> m.shardStrings = 0)));
        assertEquals("shards_total 2 does not match N 11 and shard_strings 4",
                refused(with(good, m -> m.total = 2)));
        assertEquals("shards_done -1 is outside 0..3", refused(with(good, m -> m.done = -1)));
        assertEquals("shards_done 4 is outside 0..3", refused(with(good, m -> m.done = 4)));
        assertEquals("entries or prefix_indexes is missing", refused(with(good, m -> m.entries = null)));
        assertEquals("entries or prefix_indexes is missing", refused(with(good, m -> m.prefixes = null)));
    }

    @Test
    void aModelStoreNeedsItsModelAndStringsAndNoLabels() {
        String model = "the model or its vocab is missing";
        assertEquals(model, refused(with(good, m -> m.model = null)));
        assertEquals(model, refused(with(good, m -> m.model = new ModelInfo("a".repeat(64), 2, 8, 2, ""))));
        assertEquals(model, refused(with(good, m -> m.model = new ModelInfo(null, 2, 8, 2, Fixtures.VOCAB))));
        assertEquals("a model store has no labels file",
                refused(with(good, m -> m.labels = new Manifest.FileRef(Manifest.LABELS_FILE, "00000000"))));
        assertEquals("a model store with shards needs its strings file", refused(with(good, m -> m.strings = null)));
        assertEquals("file name '../strings.npy' is not a plain name inside the store",
                refused(with(good, m -> m.strings = new Manifest.FileRef("../strings.npy", "0"))));
    }

    @Test
    void anImportedStoreHasLengthOneNoModelNoStringsAndLabels() {
        Manifest imported = new Manifest(Manifest.FORMAT, 1, Manifest.KIND_IMPORTED, null, null, 1, 1, 1, 1, 0, null,
                new Manifest.FileRef(Manifest.LABELS_FILE, "0"), List.of(), List.of());
        imported.validate(FILE);
        String why = "an imported store has L 1, no model, no strings.npy and a labels file";
        assertEquals(why, refused(with(imported, m -> m.model = Fixtures.MODEL)));
        assertEquals(why, refused(with(imported, m -> m.labels = null)));
        assertEquals(why, refused(with(imported, m -> m.l = 2)));
    }

    @Test
    void prefixIndexesHaveAnEarlierPositionOnceAndOneToNRows() {
        // position L-2 and row counts 1 and N are allowed
        for (int rows : new int[] {1, Fixtures.N}) {
            List<Manifest.PrefixIndexFile> p = new ArrayList<>(good.prefixIndexes());
            p.add(new Manifest.PrefixIndexFile(Fixtures.L - 2, rows, "prefix-t2.npy", "0"));
            with(good, m -> m.prefixes = p).validate(FILE);
        }
        for (int position : new int[] {-1, Fixtures.L - 1}) {
            List<Manifest.PrefixIndexFile> p = new ArrayList<>(good.prefixIndexes());
            p.add(new Manifest.PrefixIndexFile(position, 1, "prefix-tx.npy", "0"));
            assertEquals("a prefix index has position outside 0..L-2", refused(with(good, m -> m.prefixes = p)));
        }
        List<Manifest.PrefixIndexFile> twice = new ArrayList<>(good.prefixIndexes());
        twice.add(good.prefixIndexes().get(0));
        assertEquals("two prefix indexes for position 0", refused(with(good, m -> m.prefixes = twice)));
        for (int rows : new int[] {0, Fixtures.N + 1}) {
            List<Manifest.PrefixIndexFile> p = new ArrayList<>(good.prefixIndexes());
            p.add(new Manifest.PrefixIndexFile(2, rows, "prefix-t2.npy", "0"));
            assertEquals("prefix index of position 2 has " + rows + " rows", refused(with(good, m -> m.prefixes = p)));
        }
        List<Manifest.PrefixIndexFile> badName = new ArrayList<>(good.prefixIndexes());
        badName.add(new Manifest.PrefixIndexFile(2, 1, "/etc/passwd", "0"));
        assertEquals("file name '/etc/passwd' is not a plain name inside the store",
                refused(with(good, m -> m.prefixes = badName)));
    }

    @Test
    void entriesAreUniqueInsideTheStringsAndOfPositiveDim() {
        Manifest.Entry last = entry(good, "block_output", 0);
        List<Manifest.Entry> twice = new ArrayList<>(good.entries());
        twice.add(last);
        assertEquals("entry block_output block 0 position 3 appears twice", refused(with(good, m -> m.entries = twice)));

        Manifest.Entry past = new Manifest.Entry("block_output", 7, Fixtures.L, 8, 0, null, List.of());
        assertEquals("entry block_output block 7 position 4 is past the last position 3",
                refused(with(good, m -> {
                    m.done = 0;
                    m.entries = List.of(past);
                })));
        assertEquals("entry e block 0 position 0 has dim 0", refused(with(smallest(), m ->
                m.entries = List.of(new Manifest.Entry("e", 0, 0, 0, 0, null, List.of())))));
        assertEquals("entry block_output block 0 position 3 has 2 shards, not shards_done 3",
                refused(with(good, m -> m.entries = replace(good.entries(), last,
                        withShards(last, last.rows(), last.shards().subList(0, 2))))));
        assertEquals("entry block_output block 0 position 3 at the last position names a prefix index",
                refused(with(good, m -> m.entries = replace(good.entries(), last, new Manifest.Entry(last.site(), last.block(),
                        last.position(), last.dim(), last.rows(), "prefix-t0.npy", last.shards())))));
        assertEquals("an entry has no shards list", refused(with(smallest(), m ->
                m.entries = List.of(new Manifest.Entry("e", 0, 0, 1, 0, null, null)))));
    }

    @Test
    void shardRowsAddUpAndMatchTheStringsOrThePrefixIndex() {
        // an earlier position's shards may hold no rows at all
        Manifest.Entry emb = entry(good, "embedding", 0);
        List<Manifest.Shard> allInFirst = new ArrayList<>();
        allInFirst.add(rows(emb.shards().get(0), emb.rows()));
        allInFirst.add(rows(emb.shards().get(1), 0));
        allInFirst.add(rows(emb.shards().get(2), 0));
        with(good, m -> m.entries = replace(good.entries(), emb, withShards(emb, emb.rows(), allInFirst))).validate(FILE);

        List<Manifest.Shard> negative = new ArrayList<>(emb.shards());
        negative.set(1, rows(negative.get(1), -1));
        assertEquals("entry embedding block 0 position 0 shard 1 has negative rows",
                refused(with(good, m -> m.entries = replace(good.entries(), emb, withShards(emb, emb.rows(), negative)))));

        List<Manifest.Shard> badName = new ArrayList<>(emb.shards());
        Manifest.Shard s0 = badName.get(0);
        badName.set(0, new Manifest.Shard(s0.file(), s0.rows(), s0.crc32c(), "a/b/c", s0.normsCrc32c()));
        assertEquals("file name 'a/b/c' is not a plain name inside the store",
                refused(with(good, m -> m.entries = replace(good.entries(), emb, withShards(emb, emb.rows(), badName)))));

        Manifest.Entry last = entry(good, "block_output", 1);
        List<Manifest.Shard> moved = new ArrayList<>(last.shards());
        moved.set(0, rows(moved.get(0), 3));
        moved.set(1, rows(moved.get(1), 5));
        assertEquals("entry block_output block 1 position 3 shard 0 has 3 rows, not 4",
                refused(with(good, m -> m.entries = replace(good.entries(), last, withShards(last, last.rows(), moved)))));

        assertEquals("entry block_output block 1 position 3 says 12 rows but its shards hold 11",
                refused(with(good, m -> m.entries = replace(good.entries(), last, withShards(last, 12, last.shards())))));

        List<Manifest.Shard> more = new ArrayList<>(emb.shards());
        more.set(0, rows(more.get(0), more.get(0).rows() + 1));
        assertEquals("entry embedding block 0 position 0 has " + (emb.rows() + 1) + " rows but its prefix index has "
                        + emb.rows(),
                refused(with(good, m -> m.entries = replace(good.entries(), emb, withShards(emb, emb.rows() + 1, more)))));
    }

    /** A manifest that is not JSON is named with the parser's words and where, on one line. */
    @Test
    void invalidJsonIsReportedWithItsLineAndColumn() throws IOException {
        Path dir = tmp.resolve("bad");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Manifest.FILE), "{\n  \"format\": \"blocksim-store\",\n  oops\n}\n");
        String m = assertThrows(StoreDamagedException.class, () -> Manifest.read(dir)).getMessage();
        assertTrue(m.contains("is damaged: it is not valid JSON (Unexpected character ('o' (code 111))"), m);
        assertTrue(m.contains(" at line 3, column 3)"), m);
        assertFalse(m.contains("Source"), m);
        assertFalse(m.contains("\n"), m);

        String json = Files.readString(tmp.resolve("s").resolve(Manifest.FILE));
        Files.writeString(dir.resolve(Manifest.FILE), json.replace("\"N\" : 11", "\"N\" : \"eleven\""));
        m = assertThrows(StoreDamagedException.class, () -> Manifest.read(dir)).getMessage();
        assertTrue(m.contains("is damaged: Cannot deserialize value of type `int` from String \"eleven\""), m);
        assertFalse(m.contains("\n"), m);
    }
}
