package io.blocksim.store;

/** An entry a writer is asked to store: its key and the length of its vectors. */
public record EntrySpec(EntryKey key, int dim) {
    public EntrySpec {
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be >= 1, got " + dim);
        }
    }

    public EntrySpec(String site, int block, int position, int dim) {
        this(new EntryKey(site, block, position), dim);
    }
}
