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
 * and sum|c_i q'_i| <= |c| |q'| by Cauchy-Schwarz. So S = s P (exact in double for a float P; the
 * native kernel's P = I/t has up to 31 bits and s P rounds once, see {@link #integerGrowth}) satisfies
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
 * <p><b>L2.</b> From the same code dot product with the raw query, P = fl(sum c_i q_i), and the
 * row's sum of squared codes cc = |c|^2 (exact: summed as integers), the decoded row's
 * squared distance is |x^ - q|^2 = s^2 cc - 2 s c.q + |q|^2 exactly. With |P - c.q| <= G |c| |q| +
 * (D + L) 2^-150 (as above, q unnormalized), and the double evaluation of A = s^2 cc - 2 s P + qq
 * (qq = |q|^2 summed in double) adding at most 2^-50 (s^2 cc + 2 s |P|) + D 2^-52 qq,
 * <pre>  |x^ - q|^2 in [A - delta, A + delta],  delta = 2 s (G sqrt(cc) |q| + (D + L) 2^-149) + 2^-50 (s^2 cc + 2 s |P|) + G 2^-28 qq,</pre>
 * (G 2^-28 >= (D + 16) 2^-52). By the triangle inequality |x - q| lies within E of |x^ - q|, and the
 * canonical distance is |x - q| rounded in double and once to float: within a factor 1 +- 2^-23;
 * we widen by 2^-22 (which also covers the double square roots). A non-finite A or delta (the
 * float dot product overflowed: a query near float's range) gives the interval [0, infinity): the
 * row is always re-scored. Unlike a sum of (s c_i - q_i)^2, this costs one FMA per code and query,
 * as cosine does.
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
        return cosineGrowth(dim, lanes);
    }

    /**
     * G for the native kernel ({@link NativeCodes}): P = I / t with I = sum c_i cq_i exact and
     * cq / t the query rounded to int16 at scale t, so |P - c.q| = |c.r| <= |c| rho with rho >= |r|
     * the rounding's norm. For cosine (|q'| about 1) the float sum's term G |c| |q'| becomes
     * |c| rho, for L2 G |c| |q| becomes |c| rho = (rho / |q|) |c| |q|: adding {@code rel} = rho
     * (cosine) or rho / |q| (L2), rounded up, to the float kernels' G keeps every other term of the
     * class comment as it is (it also covers the rounding of s P in double, and G >= (D + 16) u for
     * the L2 query norm's sum). The cosine row slack's |S| <= |x^| (1 + 2^-21) grows by |x^| rho <= m:
     * its 2m already holds it.
     *
     * @param rel the largest rho (cosine) or rho / |q| (L2) of the group's queries
     */
    static double integerGrowth(int dim, int lanes, double rel) {
        return cosineGrowth(dim, lanes) + rel * (1 + 0x1p-20);
    }

    /**
     * The cosine interval as two float keys {@code out[0] <= C <= out[1]}, or false (and
     * {@code out} untouched) when the upper key is certainly below {@code bar} (NaN: never), which
     * costs no division: the common case of a row that cannot enter.
     *
     * @param p the kernel's dot product of the codes with the normalized query (a float sum, or
     *     the native kernel's exact integer sum over the query's scale)
     * @param g {@link #cosineGrowth}, or {@link #integerGrowth} for the native kernel
     * @param tiny (D + L) 2^-149
     */
    static boolean cosine(double p, float scale, float err, float norm, double g, double tiny, float bar, float[] out) {
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

    /** {@link #cosine(double, float, float, float, double, double, float, float[])} without a bar. */
    static void cosine(double p, float scale, float err, float norm, double g, double tiny, float[] out) {
        cosine(p, scale, err, norm, g, tiny, Float.NaN, out);
    }

    /**
     * The L2 interval as two float keys (negated distances) {@code out[0] <= -dist <= out[1]}, or
     * false when the upper key is certainly below {@code bar} (NaN: never).
     *
     * @param p the kernel's dot product of the codes with the raw query (as for cosine)
     * @param cc the row's sum of squared codes, exact (an integer: summed in integers or in floats
     *     kept below 2^24)
     * @param qq the query's squared norm, summed in double
     * @param qn sqrt(qq)
     * @param g {@link #l2Growth}, or {@link #integerGrowth} for the native kernel
     * @param tiny (D + L) 2^-149
     */
    static boolean l2(double p, double cc, float scale, float err, double qq, double qn, double g, double tiny, float bar,
            float[] out) {
        double ss = (double) scale * scale * cc;
        double sp = 2.0 * scale * p;
        double a = ss - sp + qq;
        double delta = 2.0 * scale * (g * Math.sqrt(cc) * qn + tiny) + 0x1p-50 * (ss + Math.abs(sp))
                + (qq * 0x1p-52) * (g * 0x1p24);
        if (!(a < Double.POSITIVE_INFINITY && delta < Double.POSITIVE_INFINITY)) {  // a float sum overflowed, or NaN
            out[0] = Float.NEGATIVE_INFINITY;
            out[1] = 0f;
            return true;
        }
        double dLo = Math.max(0, Math.sqrt(Math.max(0, a - delta)) - err) * (1 - 0x1p-22);
        if (-dLo + (dLo - bar) * 0x1p-45 < bar) {  // -dLo < bar with a margin (bar <= 0 <= dLo)
            return false;
        }
        double dHi = (Math.sqrt(Math.max(0, a + delta)) + err) * (1 + 0x1p-22);
        out[0] = down(-dHi);
        out[1] = up(-dLo);
        return true;
    }

    /** {@link #l2(double, double, float, float, double, double, double, double, float, float[])} without a bar. */
    static void l2(double p, double cc, float scale, float err, double qq, double qn, double g, double tiny, float[] out) {
        l2(p, cc, scale, err, qq, qn, g, tiny, Float.NaN, out);
    }

    /**
     * Per row, for {@link #cosineCannotReach}: a bound on everything the cosine interval's upper end
     * adds to S = s P once multiplied by N = max(n, 1e-8): m (as in the class comment) plus
     * |S + m| 2^-21 + 2^-22 N, using |S| <= |x^| (1 + 2^-21) <= n (1 + 2^-20) + E + m.
     */
    static double cosineRowSlack(float scale, float err, float norm, double g, double tiny) {
        double m = err + g * (norm * (1 + 0x1p-22) + err) + scale * tiny;
        double n = Math.max(norm, Metric.NORM_EPS);
        return m + (norm * (1 + 0x1p-20) + err + 2 * m) * 0x1p-21 + 0x1p-22 * n;
    }

    /**
     * True when the row's cosine upper bound is certainly below {@code bar}: S + slack < bar N, with
     * a margin for this double arithmetic. Never true for a NaN bar or S. Cheap: no division.
     */
    static boolean cosineCannotReach(double s, double slack, double n, float bar) {
        double bn = bar * n;
        return s + slack < bn - (Math.abs(bn) + n + slack) * 0x1p-40;
    }

    /**
     * True when the row's L2 upper key (minus its smallest possible distance) is certainly below
     * {@code bar} (a negated distance): the smallest distance, sqrt(A - delta) - E, shrunk by
     * 2^-22, exceeds -bar; compared squared (no square root per query), with a margin. Never true
     * for a NaN bar or a non-finite sum.
     *
     * @param ss s^2 cc (double)
     * @param sqc sqrt(cc)
     */
    static boolean l2CannotReach(double p, double ss, double sqc, float scale, float err, double qq, double qn, double g,
            double tiny, float bar) {
        double sp = 2.0 * scale * p;
        double a = ss - sp + qq;
        double delta = 2.0 * scale * (g * sqc * qn + tiny) + 0x1p-50 * (ss + Math.abs(sp)) + (qq * 0x1p-52) * (g * 0x1p24);
        double t = -bar * (1 + 0x1p-21) + err;  // sqrt(A - delta) > t  =>  dLo > -bar
        return t >= 0 && a - delta > t * t * (1 + 0x1p-40) + Double.MIN_NORMAL;
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
