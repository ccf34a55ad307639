package io.blocksim.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** A small model store with random vectors: what an extractor would write, without a model. */
public final class Fixtures {
    public static final String VOCAB = "\nab c";
    static final ModelInfo MODEL = new ModelInfo("a".repeat(64), 2, 8, 2, VOCAB);
    static final String DATASET = "d".repeat(64);
    public static final int L = 4;
    public static final int N = 11;
    static final int SHARD = 4;
    static final List<EntrySpec> ENTRIES = List.of(
            new EntrySpec("block_output", 0, L - 1, 8),
            new EntrySpec("block_output", 1, L - 1, 8),
            new EntrySpec("ffwd_output", 1, 1, 8),
            new EntrySpec("embedding", 0, 0, 5));

    private Fixtures() {
    }

    static StoreSpec spec() {
        return new StoreSpec(MODEL, DATASET, L, N, SHARD, ENTRIES);
    }

    /** N distinct strings of length L over the vocabulary, token ids string-major. */
    static byte[] strings() {
        Random rnd = new Random(7);
        java.util.Set<String> seen = new java.util.HashSet<>();
        byte[] out = new byte[N * L];
        int n = 0;
        while (n < N) {
            byte[] s = new byte[L];
            for (int c = 0; c < L; c++) {
                s[c] = (byte) rnd.nextInt(VOCAB.length());
            }
            if (seen.add(java.util.Arrays.toString(s))) {
                System.arraycopy(s, 0, out, n * L, L);
                n++;
            }
        }
        return out;
    }

    static String decode(byte[] strings, int i, int len) {
        StringBuilder b = new StringBuilder();
        for (int c = 0; c < len; c++) {
            b.append(VOCAB.charAt(strings[i * L + c]));
        }
        return b.toString();
    }

    /** For each unique prefix of length t+1, in order, the first string that has it. */
    static int[] prefixIndex(byte[] strings, int t) {
        Map<String, Integer> first = new LinkedHashMap<>();
        for (int i = 0; i < N; i++) {
            first.putIfAbsent(decode(strings, i, t + 1), i);
        }
        return first.values().stream().mapToInt(Integer::intValue).toArray();
    }

    /** The value an extractor would write at (entry, row, col): reproducible random floats. */
    static float value(EntryKey key, int row, int col) {
        return new Random(key.hashCode() * 1_000_003L + row * 131L + col).nextFloat() * 2 - 1;
    }

    static void fill(StoreWriter.Shard s, EntrySpec e) {
        MemorySegment seg = s.vectors(e.key());
        int first = s.firstRow(e.key());
        for (int r = 0; r < s.rows(e.key()); r++) {
            for (int c = 0; c < e.dim(); c++) {
                seg.setAtIndex(Npy.FLOAT32, (long) r * e.dim() + c, value(e.key(), first + r, c));
            }
        }
    }

    /** Puts strings and prefix indexes: the part of an extraction before the shards. */
    static void prepare(StoreWriter w) {
        byte[] strings = strings();
        w.putStrings(strings);
        for (int t : List.of(0, 1)) {
            w.putPrefixIndex(t, prefixIndex(strings, t));
        }
    }

    /** Writes shards [next, end) of every entry. */
    static void writeShards(StoreWriter w, int end) {
        for (int i = w.nextShard(); i < end; i++) {
            try (StoreWriter.Shard s = w.beginShard(i)) {
                for (EntrySpec e : ENTRIES) {
                    fill(s, e);
                }
                s.commit();
            }
        }
    }

    /** A complete small store at {@code dir}. */
    public static Path modelStore(Path dir) {
        try (StoreWriter w = StoreWriter.open(dir, spec(), false)) {
            prepare(w);
            writeShards(w, w.shardCount());
        }
        return dir;
    }

    /**
     * The store of {@link #modelStore} as a killed extraction leaves it: the manifest names the
     * strings, the prefix indexes and the first {@code shards} shards only.
     */
    public static Path incompleteModelStore(Path dir, int shards) {
        try (StoreWriter w = StoreWriter.open(dir, spec(), false)) {
            prepare(w);
            writeShards(w, shards);
        }
        return dir;
    }

    static List<Path> files(Path dir) throws java.io.IOException {
        try (var s = java.nio.file.Files.walk(dir)) {
            return new ArrayList<>(s.filter(java.nio.file.Files::isRegularFile).sorted().toList());
        }
    }
}
