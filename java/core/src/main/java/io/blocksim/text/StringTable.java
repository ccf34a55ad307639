package io.blocksim.text;

/**
 * The unique length-L substrings of a tokenized text in order of first occurrence (the seed's
 * {@code all_unique_substrings}), held as one flat array of token ids, row-major [N, L].
 */
public final class StringTable {
    private final byte[] tokens;
    private final int length;

    public StringTable(byte[] tokens, int length) {
        if (length < 1 || tokens.length % length != 0) {
            throw new IllegalArgumentException("token array of " + tokens.length + " is not a multiple of " + length);
        }
        this.tokens = tokens;
        this.length = length;
    }

    /** Every length-L window of {@code text}, de-duplicated, in order of first occurrence. */
    public static StringTable uniqueSubstrings(byte[] text, int length) {
        if (length < 1) {
            throw new IllegalArgumentException("substring length must be at least 1, got " + length);
        }
        int windows = Math.max(0, text.length - length + 1);
        int[] first = Windows.firstOccurrences(text, 1, windows, length);
        byte[] flat = new byte[first.length * length];
        for (int i = 0; i < first.length; i++) {
            System.arraycopy(text, first[i], flat, i * length, length);
        }
        return new StringTable(flat, length);
    }

    public int size() {
        return tokens.length / length;
    }

    /** L, the length of every string. */
    public int length() {
        return length;
    }

    /** The backing array [N * L]; callers must not modify it. */
    public byte[] tokens() {
        return tokens;
    }

    public byte token(int row, int position) {
        return tokens[row * length + position];
    }

    public String decode(Tokenizer tokenizer, int row, int prefixLength) {
        return tokenizer.decode(tokens, row * length, prefixLength);
    }

    /** The first {@code limit} strings (the demo's quick mode). */
    public StringTable head(int limit) {
        if (limit >= size()) {
            return this;
        }
        return new StringTable(java.util.Arrays.copyOf(tokens, limit * length), length);
    }

    /**
     * This table followed by those of {@code extra} (L tokens each) that it does not hold yet, in
     * their order: the demo's quick store is the first strings plus its prompts.
     */
    public StringTable withStrings(java.util.List<byte[]> extra) {
        java.util.Set<java.nio.ByteBuffer> have = new java.util.HashSet<>();
        for (int i = 0; i < size(); i++) {
            have.add(java.nio.ByteBuffer.wrap(tokens, i * length, length).slice());
        }
        java.io.ByteArrayOutputStream added = new java.io.ByteArrayOutputStream();
        for (byte[] s : extra) {
            if (s.length != length) {
                throw new IllegalArgumentException("string of " + s.length + " tokens in a table of length " + length);
            }
            if (have.add(java.nio.ByteBuffer.wrap(s.clone()))) {
                added.writeBytes(s);
            }
        }
        if (added.size() == 0) {
            return this;
        }
        byte[] all = java.util.Arrays.copyOf(tokens, tokens.length + added.size());
        System.arraycopy(added.toByteArray(), 0, all, tokens.length, added.size());
        return new StringTable(all, length);
    }

    /**
     * The unique prefixes of length {@code position + 1}, each represented by the first string
     * (in string order) that has it. At the last position that is every string.
     */
    public PrefixIndex prefixes(int position) {
        if (position < 0 || position >= length) {
            throw new IllegalArgumentException("position " + position + " outside 0.." + (length - 1));
        }
        if (position == length - 1) {
            return PrefixIndex.identity(position, size());
        }
        return new PrefixIndex(position, Windows.firstOccurrences(tokens, length, size(), position + 1));
    }
}
