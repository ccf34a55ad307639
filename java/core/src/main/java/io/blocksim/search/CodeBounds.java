package io.blocksim.search;

import io.blocksim.Metric;

/**
 * The proven interval of a row's canonical score ({@link CanonicalScores}) from its codes: what
 * lets the compressed scan skip a row without reading its floats. All bounds are computed in
 * double and widened, then rounded outward to float keys ("larger is better": cosine, or the
 * negated distance).
 *
 * <p>Notation: D = dim, u = 2^-24 (float32's unit roundoff), L the kernel's lanes (at most 16),
 * x the row (float32), c its int8 codes, s its scale, x^ = s c (real), E >= |x - x^| its stored
 * error bound ({@link io.blocksim.store.RowCodes}), n its stored float32 norm (|x| rounded once to
 * float from the double sum, so |x| <= n (1 + 2^-23)).
 *
 * <p><b>Cosine.</b> The query is normalized in double and rounded to float: q'_i = fl(q_i / w) with
 * w = max(|q|, 1e-8), so |q/w| <= 1 and |q' - q/w| <= u |q/w| + sqrt(D) 2^-150 (rounding and
 * underflow). The kernel computes P = fl(sum_i c_i q'_i) in float (fma, any order, lanes then a
 * reduction): with every product exact in the fma, |P - sum c_i q'_i| <= gamma_{D+L} sum|c_i q'_i|
 * + (D + L) 2^-150 (Higham 3.1, plus one subnormal rounding per operation), gamma_n = n u/(1 - n u),
 * and sum|c_i q'_i| <= |c| |q'| by Cauchy-Schwarz. So S = s P (exact in double) satisfies
 * <pre>  |x^.(q/w) - S| <= G |x^| + s (D + L) 2^-149,   G = (D + L + 16) u,</pre>
 * (G covers gamma_{D+L} (1 + 2u), the query's u and its underflow, with room for the double
 * arithmetic below), and |x^| <= |x| + E. Adding the coding error |x.(q/w) - x^.(q/w)| <= E |q/w| <= E:
 * <pre>  x.q/w in [S - m, S + m],   m = E + G (n (1 + 2^-22) + E) + s (D + L) 2^-149.</pre>
 * The exact cosine is x.q / (max(|x|, 1e-8) w) = (x.q/w) / max(|x|, 1e-8), and max(|x|, 1e-8) is
 * within a factor 1 +- 2^-22 of N = max(n, 1e-8); the canonical score rounds that in double and
 * once to float (relative 2^-23 at most, plus 2^-149 for a subnormal result; the clamp to [-1, 1]
 * only moves it closer). Hence
 * <pre>  C in [ (S - m)/N - |S - m|/N 2^-21 - 2^-22,  (S + m)/N + |S + m|/N 2^-21 + 2^-22 ].</pre>
 *
 * <p><b>L2.</b> The kernel computes per dimension diff_i = fma(s, c_i, -q_i) = fl(x^_i - q_i) (one
 * rounding: |diff - (x^ - q)| <= u |x^ - q| + sqrt(D) 2^-150) and T = fl(sum_i diff_i^2) in float
 * (fma, any order): a sum of non-negative terms, |T - |diff|^2| <= gamma_{D+L} |diff|^2 + (D + L) 2^-150.
 * So |x^ - q| lies in [ sqrt(max(0, T - A)/(1 + G')) / (1 + 2^-23) - B, sqrt((T + A)/(1 - G')) (1 + 2^-23) + B ]
 * with G' = (D + L + 8) u, A = (D + L) 2^-149, B = sqrt(D) 2^-149, and by the triangle inequality
 * |x - q| lies within E of |x^ - q|. The canonical distance is |x - q| rounded in double and once
 * to float: within a factor 1 +- 2^-23; we widen by 2^-22. A non-finite T (the float sum
 * overflowed) gives the interval [0, infinity): the row is always re-scored.
 *
 * <p>NaN anywhere (never from finite stored data) gives the widest interval. Thread safety:
 * stateless.
 */
final class CodeBounds {
    private CodeBounds() {
    }

    /** G for cosine and G' for L2 with {@code lanes} lanes (see the class comment). */
    static double cosineGrowth(int dim, int lanes) {
        return (dim + lanes + 16.0) * 0x1p-24;
    }

    static double l2Growth(int dim, int lanes) {
        return (dim + lanes + 8.0) * 0x1p-24;
    }

    /**
     * The cosine interval as two float keys {@code out[0] <= C <= out[1]}, or false (and
     * {@code out} untouched) when the upper key is certainly below {@code bar} (NaN: never), which
     * costs no division: the common case of a row that cannot enter.
     *
     * @param p the kernel's float dot product of the codes with the normalized query
     * @param g {@link #cosineGrowth}
     * @param tiny (D + L) 2^-149
     */
    static boolean cosine(float p, float scale, float err, float norm, double g, double tiny, float bar, float[] out) {
        double s = (double) scale * p;
        double m = err + g * (norm * (1 + 0x1p-22) + err) + scale * tiny;
        double n = Math.max(norm, Metric.NORM_EPS);
        double hiNum = s + m;
        // hi * n = hiNum + |hiNum| 2^-21 + 2^-22 n, compared with bar * n (a margin for this double arithmetic)
        double hn = hiNum + Math.abs(hiNum) * 0x1p-21 + 0x1p-22 * n;
        double bn = bar * n;
        if (hn + (Math.abs(hn) + Math.abs(bn)) * 0x1p-45 < bn) {
            return false;
        }
        double loNum = s - m;
        double hi = hiNum / n + Math.abs(hiNum) / n * 0x1p-21 + 0x1p-22;
        double lo = loNum / n - Math.abs(loNum) / n * 0x1p-21 - 0x1p-22;
        if (!(hi >= lo)) {  // NaN
            out[0] = Float.NEGATIVE_INFINITY;
            out[1] = Float.POSITIVE_INFINITY;
            return true;
        }
        out[0] = down(Math.max(lo, -1));
        out[1] = up(Math.min(hi, 1));
        return true;
    }

    /** {@link #cosine(float, float, float, float, double, double, float, float[])} without a bar. */
    static void cosine(float p, float scale, float err, float norm, double g, double tiny, float[] out) {
        cosine(p, scale, err, norm, g, tiny, Float.NaN, out);
    }

    /**
     * The L2 interval as two float keys (negated distances) {@code out[0] <= -dist <= out[1]}, or
     * false when the upper key is certainly below {@code bar} (NaN: never).
     *
     * @param t the kernel's float sum of squared differences of the decoded row and the query
     * @param g {@link #l2Growth}
     * @param a (D + L) 2^-149
     * @param b sqrt(D) 2^-149
     */
    static boolean l2(float t, float err, double g, double a, double b, float bar, float[] out) {
        if (!(t < Float.POSITIVE_INFINITY)) {  // overflow or NaN: nothing is known
            out[0] = Float.NEGATIVE_INFINITY;
            out[1] = 0f;
            return true;
        }
        double lo = Math.sqrt(Math.max(0, t - a) / (1 + g)) / (1 + 0x1p-23) - b;
        double dLo = Math.max(0, lo - err) * (1 - 0x1p-22);
        if (-dLo + (dLo - bar) * 0x1p-45 < bar) {  // -dLo < bar with a margin (bar <= 0 <= dLo)
            return false;
        }
        double hi = Math.sqrt((t + a) / (1 - g)) * (1 + 0x1p-23) + b;
        double dHi = (hi + err) * (1 + 0x1p-22);
        out[0] = down(-dHi);
        out[1] = up(-dLo);
        return true;
    }

    /** {@link #l2(float, float, double, double, double, float, float[])} without a bar. */
    static void l2(float t, float err, double g, double a, double b, float[] out) {
        l2(t, err, g, a, b, Float.NaN, out);
    }

    /** The largest float not above {@code v}. */
    static float down(double v) {
        float f = (float) v;
        return f > v ? Math.nextDown(f) : f;
    }

    /** The smallest float not below {@code v}. */
    static float up(double v) {
        float f = (float) v;
        return f < v ? Math.nextUp(f) : f;
    }
}
