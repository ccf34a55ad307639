package io.blocksim.text;

import java.util.Arrays;

/** De-duplication of fixed-length byte windows, keeping first occurrences in order. */
final class Windows {
    private Windows() {
    }

    /**
     * Indices (in increasing order) of the windows {@code data[w*stride, w*stride+len)},
     * {@code w < count}, whose content has not appeared in an earlier window.
     */
    static int[] firstOccurrences(byte[] data, int stride, int count, int len) {
        int cap = Integer.highestOneBit(Math.max(4, count * 2 - 1)) << 1; // load factor <= 0.5
        int mask = cap - 1;
        int[] table = new int[cap]; // window index + 1; 0 = empty
        int[] out = new int[count];
        int n = 0;
        for (int w = 0; w < count; w++) {
            int start = w * stride;
            long h = 0x9E3779B97F4A7C15L;
            for (int i = 0; i < len; i++) {
                h = (h ^ (data[start + i] & 0xff)) * 0xBF58476D1CE4E5B9L;
            }
            int slot = (int) (h ^ (h >>> 31)) & mask;
            while (true) {
                int e = table[slot];
                if (e == 0) {
                    table[slot] = w + 1;
                    out[n++] = w;
                    break;
                }
                int other = (e - 1) * stride;
                if (Arrays.equals(data, start, start + len, data, other, other + len)) {
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        return Arrays.copyOf(out, n);
    }
}
