package io.blocksim.cuda;

import java.util.Arrays;

/**
 * The kernels' packed candidate ({@code unsigned long long} on the device, {@code long} here):
 * {@code (bits(key) << 32) | (~id & 0xffffffff)}, where a larger unsigned value is a better
 * candidate (larger key, then lower id) and {@code 0} means "no candidate". {@code key} is the
 * cosine score or the negated squared L2 distance; {@code bits} maps a float to an order-preserving
 * unsigned int with -0 taken as +0 and NaN as -inf (so NaN ranks worst). Used on the host to read
 * candidate buffers (debugging and tests) and to merge lists the same way the merge kernels do.
 */
public final class PackedCandidates {
    /** The "no candidate" value that pads short lists. */
    public static final long NONE = 0L;

    private static final int NEG_INF_BITS = Float.floatToRawIntBits(Float.NEGATIVE_INFINITY);

    private PackedCandidates() {
    }

    /** The order-preserving unsigned image of a float key. */
    public static int orderedBits(float key) {
        int b = Float.isNaN(key) ? NEG_INF_BITS : Float.floatToRawIntBits(key + 0.0f);  // -0 + 0 = +0
        return b >= 0 ? b | 0x80000000 : ~b;
    }

    /** The float whose {@link #orderedBits} is {@code u} (NaN keys come back as -inf). */
    public static float keyOfBits(int u) {
        return Float.intBitsToFloat(u < 0 ? u & 0x7fffffff : ~u);
    }

    public static long pack(float key, int id) {
        return ((long) orderedBits(key) << 32) | (~id & 0xffffffffL);
    }

    public static int id(long packed) {
        return ~(int) packed;
    }

    public static float key(long packed) {
        return keyOfBits((int) (packed >>> 32));
    }

    /** True when {@code a} is a strictly better candidate than {@code b}. */
    public static boolean better(long a, long b) {
        return Long.compareUnsigned(a, b) > 0;
    }

    /** The key of a score: cosine as is, L2 as the negated squared distance. */
    public static float keyOfSquaredL2(float squaredDistance) {
        return -squaredDistance;
    }

    /**
     * The k best of {@code m} candidates at {@code from}, best first, padded with {@link #NONE}:
     * what {@code blocksim_merge_candidates} writes for one chunk (and the final merge reads).
     */
    public static long[] best(long[] cand, int from, int m, int k) {
        long[] c = Arrays.copyOfRange(cand, from, from + m);
        // flip the sign bit so that signed ascending order is unsigned ascending order
        for (int i = 0; i < c.length; i++) {
            c[i] ^= Long.MIN_VALUE;
        }
        Arrays.sort(c);
        long[] out = new long[k];
        for (int j = 0; j < k && j < c.length; j++) {
            long v = c[c.length - 1 - j] ^ Long.MIN_VALUE;
            out[j] = v;
        }
        return out;
    }

    /**
     * Merges lists of one query the way the host merge rule does (rounds of {@code chunk}
     * candidates reduced to k, then a final k best); returns the k best, best first. Equal to
     * {@link #best} over all lists, which is what the test of the rule checks.
     */
    public static long[] mergeLists(long[] lists, int m, int k, int chunk) {
        if (chunk < 2 * k) {
            throw new IllegalArgumentException("merge chunk " + chunk + " must be at least 2k = " + 2 * k);
        }
        long[] cur = Arrays.copyOf(lists, m);
        while (cur.length > chunk) {
            int blocks = (int) LaunchPlan.ceilDiv(cur.length, chunk);
            long[] next = new long[blocks * k];
            for (int b = 0; b < blocks; b++) {
                int from = b * chunk;
                long[] top = best(cur, from, Math.min(chunk, cur.length - from), k);
                System.arraycopy(top, 0, next, b * k, k);
            }
            cur = next;
        }
        return best(cur, 0, cur.length, k);
    }
}
