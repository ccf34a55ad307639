package io.blocksim.store;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * What an extraction writes: the model and dataset it comes from, string length L, N strings,
 * the entries to store and how many strings go in one shard. Two extractions resume each other
 * only when their specs are equal.
 */
public record StoreSpec(ModelInfo model, String datasetSha256, int stringLength, int stringCount, int shardStrings,
                        List<EntrySpec> entries) {
    /** A default shard size: 65,536 strings = 96 MiB of float32 [., 384] per entry shard. */
    public static final int DEFAULT_SHARD_STRINGS = 65_536;

    public StoreSpec {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(model.sha256(), "model sha256");
        if (model.vocabSize() < 1 || model.vocabSize() > 256) {
            throw new IllegalArgumentException("vocab must have 1..256 tokens (strings.npy is uint8), got " + model.vocabSize());
        }
        if (stringLength < 1 || stringCount < 1 || shardStrings < 1) {
            throw new IllegalArgumentException("L, N and shard size must be >= 1");
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no entries to store");
        }
        entries = List.copyOf(entries);
        HashSet<EntryKey> seen = new HashSet<>();
        for (EntrySpec e : entries) {
            if (!seen.add(e.key())) {
                throw new IllegalArgumentException("entry " + e.key() + " is listed twice");
            }
            if (e.key().position() >= stringLength) {
                throw new IllegalArgumentException("entry " + e.key() + " is past the last position " + (stringLength - 1));
            }
        }
    }

    public int shardCount() {
        return Manifest.shardsFor(stringCount, shardStrings);
    }
}
