package io.blocksim.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Model stores of any size with random vectors, written through {@link StoreWriter} as an
 * extraction would (several shards per entry, prefix indexes for earlier positions). For tests
 * that need more rows than {@link Fixtures}' eleven.
 */
public final class TestStores {
    private TestStores() {
    }

    /**
     * Writes a complete store at {@code dir}: {@code strings} distinct random strings of length
     * {@code length} over {@link Fixtures#VOCAB}, {@code shardStrings} strings per shard, and for
     * each entry reproducible values in [-1, 1) from {@code seed}.
     */
    public static Path build(Path dir, int length, int strings, int shardStrings, List<EntrySpec> entries, long seed) {
        byte[] tokens = strings(length, strings, seed);
        StoreSpec spec = new StoreSpec(Fixtures.MODEL, Fixtures.DATASET, length, strings, shardStrings, entries);
        try (StoreWriter w = StoreWriter.open(dir, spec, false)) {
            w.putStrings(tokens);
            TreeSet<Integer> earlier = new TreeSet<>();
            for (EntrySpec e : entries) {
                if (e.key().position() < length - 1) {
                    earlier.add(e.key().position());
                }
            }
            for (int t : earlier) {
                w.putPrefixIndex(t, prefixIndex(tokens, length, strings, t));
            }
            for (int i = 0; i < w.shardCount(); i++) {
                try (StoreWriter.Shard s = w.beginShard(i)) {
                    for (EntrySpec e : entries) {
                        fill(s, e, seed);
                    }
                    s.commit();
                }
            }
        }
        return dir;
    }

    private static byte[] strings(int length, int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int v = Fixtures.VOCAB.length();
        Set<String> seen = new HashSet<>();
        byte[] out = new byte[n * length];
        int at = 0;
        while (at < n) {
            byte[] s = new byte[length];
            for (int c = 0; c < length; c++) {
                s[c] = (byte) rnd.nextInt(v);
            }
            if (seen.add(new String(s, java.nio.charset.StandardCharsets.ISO_8859_1))) {
                System.arraycopy(s, 0, out, at * length, length);
                at++;
            }
        }
        return out;
    }

    private static int[] prefixIndex(byte[] tokens, int length, int n, int t) {
        Map<String, Integer> first = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            first.putIfAbsent(new String(tokens, i * length, t + 1, java.nio.charset.StandardCharsets.ISO_8859_1), i);
        }
        return new ArrayList<>(first.values()).stream().mapToInt(Integer::intValue).toArray();
    }

    private static void fill(StoreWriter.Shard s, EntrySpec e, long seed) {
        MemorySegment seg = s.vectors(e.key());
        int first = s.firstRow(e.key());
        int dim = e.dim();
        for (int r = 0; r < s.rows(e.key()); r++) {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + e.key().hashCode() * 65_537L + first + r);
            for (int c = 0; c < dim; c++) {
                seg.setAtIndex(Npy.FLOAT32, (long) r * dim + c, (float) (rnd.nextDouble() * 2 - 1));
            }
        }
    }
}
