package io.blocksim.similars;

import io.blocksim.InvalidArgumentException;

/**
 * Which strings the job queries: {@code n} distinct string indices out of {@code 0..N-1}.
 *
 * <p>The generator is stated so that a seed gives the same sample on every machine and in any
 * language: SplitMix64 (Steele, Lea and Flood 2014: {@code state += 0x9E3779B97F4A7C15}, then
 * {@code z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >>> 27)) * 0x94D049BB133111EB;
 * z ^= z >>> 31}) seeded with {@code seed}, drives a Fisher-Yates shuffle of {@code 0..N-1} from
 * the front: for {@code i = 0..n-1}, {@code j = i + uniform(N - i)}, swap. {@code uniform(b)}
 * takes the top 31 bits of the next output and rejects values at or above the largest multiple of
 * b below 2^31, then returns the value mod b. The sample is the first n of the shuffle, in that
 * order. ({@code java.util.SplittableRandom} is the same mixer, but its bounded draws are not
 * specified, so they are written out here.)
 *
 * <p>Thread safety: static methods without shared state.
 */
public final class Sample {
    private Sample() {
    }

    /**
     * The first {@code n} string indices of the seeded shuffle of {@code 0..total-1}.
     *
     * @throws InvalidArgumentException for n outside 1..total
     */
    public static int[] shuffled(int n, int total, long seed) {
        if (n < 1 || n > total) {
            throw new InvalidArgumentException("a sample of " + n + " strings is outside 1.." + total
                    + " (the number of strings in the store)");
        }
        int[] perm = new int[total];
        for (int i = 0; i < total; i++) {
            perm[i] = i;
        }
        long[] state = {seed};
        for (int i = 0; i < n; i++) {
            int j = i + uniform(state, total - i);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return java.util.Arrays.copyOf(perm, n);
    }

    /** Every string, in order. */
    public static int[] all(int total) {
        int[] out = new int[total];
        for (int i = 0; i < total; i++) {
            out[i] = i;
        }
        return out;
    }

    /**
     * Checks a caller's own sample: not empty, every index in {@code 0..total-1}, no index twice.
     *
     * @throws InvalidArgumentException naming the first bad index
     */
    public static void check(int[] sample, int total) {
        if (sample == null || sample.length == 0) {
            throw new InvalidArgumentException("the sample is empty: give at least one string index");
        }
        java.util.BitSet seen = new java.util.BitSet(total);
        for (int i = 0; i < sample.length; i++) {
            int s = sample[i];
            if (s < 0 || s >= total) {
                throw new InvalidArgumentException("sample entry " + i + " is string " + s + ", outside 0.." + (total - 1));
            }
            if (seen.get(s)) {
                throw new InvalidArgumentException("sample entry " + i + " repeats string " + s
                        + ": a sample holds distinct strings");
            }
            seen.set(s);
        }
    }

    static long next(long[] state) {
        long z = (state[0] += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static int uniform(long[] state, int bound) {
        long limit = (1L << 31) / bound * bound;  // reject the short last run: no modulo bias
        while (true) {
            long r = next(state) >>> 33;
            if (r < limit) {
                return (int) (r % bound);
            }
        }
    }
}
