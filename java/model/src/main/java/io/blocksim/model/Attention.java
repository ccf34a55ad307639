package io.blocksim.model;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal self-attention of one new position per row over its cached past, in place: the keys and
 * values of earlier positions are read where the prefix trie keeps them (one entry per ancestor
 * prefix), never gathered. Same math as model.py's Block: per head, w = softmax((q . k_j) * hs^-0.5)
 * over the past positions and the row's own, out = sum_j w_j v_j.
 *
 * <p>Layouts (float32, native order): a row's qkv is [keys C | queries C | values C] (the fused
 * Linear's order); a cache entry is [keys C | values C].
 */
final class Attention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final int c;
    private final int heads;
    private final int hs;
    private final float scale;

    Attention(int nEmbed, int nHead) {
        if (nEmbed % nHead != 0 || (nEmbed / nHead) % S.length() != 0) {
            // the kernels step through a head in whole vectors
            throw new IllegalArgumentException("head size " + nEmbed + "/" + nHead + " is not a multiple of " + S.length() + " lanes");
        }
        this.c = nEmbed;
        this.heads = nHead;
        this.hs = nEmbed / nHead;
        this.scale = (float) Math.pow(hs, -0.5);
    }

    /**
     * Rows {@code [from, to)} of a batch at position {@code t}.
     *
     * @param qkv       the batch's qkv rows, 3C floats each
     * @param out       the batch's head outputs, C floats each (written)
     * @param past      the cache; entry of ancestor {@code anc[r * t + j]} at position j lies at byte
     *                  {@code pastBase[j] + anc * 8C}
     * @param store     where to write each row's own [keys | values] entry (byte {@code storeBase +
     *                  (storeFirst + r) * 8C}), or null
     */
    void rows(MemorySegment qkv, MemorySegment out, int from, int to, int t, int[] anc,
              MemorySegment past, long[] pastBase, MemorySegment store, long storeBase, int storeFirst) {
        long entry = 2L * c * Float.BYTES;
        long cb = (long) c * Float.BYTES;
        long[] kOff = new long[t];
        float[] w = new float[t + 1];
        float[] lanes = new float[S.length()];
        for (int r = from; r < to; r++) {
            long row = (long) r * 3 * cb;
            for (int j = 0; j < t; j++) {
                kOff[j] = pastBase[j] + anc[r * t + j] * entry;
            }
            long qOff = row + cb;
            long outOff = (long) r * cb;
            for (int h = 0; h < heads; h++) {
                long hb = (long) h * hs * Float.BYTES;
                // past positions from the cache, the row's own from its qkv (keys at 0, values at 2C)
                for (int j = 0; j < t; j++) {
                    w[j] = dot(qkv, qOff + hb, past, kOff[j] + hb, lanes) * scale;
                }
                w[t] = dot(qkv, qOff + hb, qkv, row + hb, lanes) * scale;
                softmax(w, t + 1);
                for (int i = 0; i < hs; i += S.length()) {
                    long o = hb + (long) i * Float.BYTES;
                    FloatVector acc = FloatVector.fromMemorySegment(S, qkv, row + 2 * cb + o, NATIVE).mul(w[t]);
                    for (int j = 0; j < t; j++) {
                        acc = FloatVector.fromMemorySegment(S, past, kOff[j] + cb + o, NATIVE).fma(FloatVector.broadcast(S, w[j]), acc);
                    }
                    acc.intoMemorySegment(out, outOff + o, NATIVE);
                }
            }
            if (store != null) {
                long dst = storeBase + (storeFirst + r) * entry;
                MemorySegment.copy(qkv, row, store, dst, cb);
                MemorySegment.copy(qkv, row + 2 * cb, store, dst + cb, cb);
            }
        }
    }

    /** Copies each row's keys and values into the cache without attending (the last block's, when nothing reads its output). */
    void storeOnly(MemorySegment qkv, int from, int to, MemorySegment store, long storeBase, int storeFirst) {
        long entry = 2L * c * Float.BYTES;
        long cb = (long) c * Float.BYTES;
        for (int r = from; r < to; r++) {
            long row = (long) r * 3 * cb;
            long dst = storeBase + (storeFirst + r) * entry;
            MemorySegment.copy(qkv, row, store, dst, cb);
            MemorySegment.copy(qkv, row + 2 * cb, store, dst + cb, cb);
        }
    }

    /*
     * Softmax and the lane sum below avoid the Vector API's EXP and reduceLanes: their results
     * may differ by an ulp between interpreted and JIT-compiled code, and a resumed extraction must
     * write the same bytes as an uninterrupted one (ExtractResumeTest). Math.exp uses one stub in
     * every execution mode; the lanes are summed in a fixed order.
     */

    /** In place over w[0, n): exp(w - max) / sum. */
    private static void softmax(float[] w, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, w[j]);
        }
        float sum = 0;
        for (int j = 0; j < n; j++) {
            w[j] = (float) Math.exp(w[j] - max);
            sum += w[j];
        }
        float inv = 1 / sum;
        for (int j = 0; j < n; j++) {
            w[j] *= inv;
        }
    }

    private float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, float[] lanes) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < hs; i += S.length()) {
            long o = (long) i * Float.BYTES;
            acc = FloatVector.fromMemorySegment(S, a, aOff + o, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, b, bOff + o, NATIVE), acc);
        }
        acc.intoArray(lanes, 0);
        float sum = 0;
        for (float v : lanes) {
            sum += v;
        }
        return sum;
    }
}
