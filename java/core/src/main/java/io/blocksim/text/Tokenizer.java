package io.blocksim.text;

import io.blocksim.InvalidArgumentException;
import java.util.Arrays;

/**
 * Character-level tokenizer: token id = index of the character in the vocabulary string (the
 * sorted distinct characters of the training corpus; the model carries its own). At most 256
 * characters, so a token fits in a byte (stored unsigned).
 */
public final class Tokenizer {
    private final String vocab;
    private final int[] ids; // code point -> id, -1 when absent (only for chars < ids.length)

    public Tokenizer(String vocab) {
        if (vocab.isEmpty() || vocab.length() > 256) {
            throw new IllegalArgumentException("vocabulary must have 1..256 characters, has " + vocab.length());
        }
        this.vocab = vocab;
        int max = vocab.chars().max().orElse(0);
        this.ids = new int[max + 1];
        Arrays.fill(ids, -1);
        for (int i = 0; i < vocab.length(); i++) {
            char c = vocab.charAt(i);
            if (ids[c] != -1) {
                throw new IllegalArgumentException("vocabulary repeats " + describe(c));
            }
            ids[c] = i;
        }
    }

    /** The sorted distinct characters of a text: the seed's vocabulary rule. */
    public static Tokenizer fromText(String text) {
        return new Tokenizer(text.chars().sorted().distinct()
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    }

    public String vocab() {
        return vocab;
    }

    public int size() {
        return vocab.length();
    }

    /**
     * Token ids of {@code s}; a character outside the vocabulary is refused, naming it and its position.
     *
     * @throws InvalidArgumentException for a character outside the vocabulary
     */
    public byte[] encode(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int id = c < ids.length ? ids[c] : -1;
            if (id < 0) {
                // name the whole code point (an emoji is two UTF-16 units) and count positions in characters
                throw new InvalidArgumentException("character " + describe(s.codePointAt(i)) + " at position "
                        + s.codePointCount(0, i) + " of " + quote(s) + " is not in the model's vocabulary");
            }
            out[i] = (byte) id;
        }
        return out;
    }

    public String decode(byte[] tokens, int offset, int length) {
        char[] cs = new char[length];
        for (int i = 0; i < length; i++) {
            cs[i] = vocab.charAt(tokens[offset + i] & 0xff);
        }
        return new String(cs);
    }

    public String decode(byte[] tokens) {
        return decode(tokens, 0, tokens.length);
    }

    /** A code point as users see it: the character quoted, then its Unicode number ('😀' (U+1F600)). */
    static String describe(int codePoint) {
        return quote(Character.toString(codePoint)) + String.format(java.util.Locale.ROOT, " (U+%04X)", codePoint);
    }

    /** Python-repr-like quoting, as the notebook prints strings: 'ng\nfantast'. */
    public static String quote(String s) {
        boolean single = s.indexOf('\'') >= 0 && s.indexOf('"') < 0;
        char q = single ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(q);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c == q) {
                        b.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append(q).toString();
    }
}
