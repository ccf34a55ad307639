package io.blocksim.search;

import io.blocksim.Metric;

/**
 * How far below a query's k-th best kernel key a row's kernel key may lie and the row still be in
 * the canonical top-k ({@link CanonicalScores}). The kernels sum in float32 in orders of their own,
 * so their keys differ from the canonical scores; {@link #relax} lowers the k-th key by twice the
 * largest such difference, which keeps every row that could be in the canonical top-k: if each
 * kernel key K and canonical key C satisfy |K - C| <= E, the k rows with the best K all have
 * C >= T - E (T the k-th best K), so the canonical k-th best is >= T - E and any row of the
 * canonical top-k has K >= C - E >= T - 2E. (For L2 the same argument runs with relative error.)
 *
 * <p>The bound. With u = 2^-24 (float32's unit roundoff), a float sum of n products computed in any
 * order with fma or mul/add has an error of at most gamma_n * sum|x_i q_i|, gamma_n = n u / (1 - n u)
 * (Higham, Accuracy and Stability, 3.1), whatever the accumulator split and fold.
 * <ul>
 * <li>Cosine: the kernel key is fl(fl(x . q') / fl(|x|)) with q' the query normalized in float
 * (|q'| <= 1 + u). By Cauchy-Schwarz sum|x_i q'_i| <= |x| |q'|, so the dot's error relative to |x|
 * is at most gamma_D (1 + u); the stored norm (rounded once from double) and the division add 2u,
 * q' another u, the canonical score's own rounding to float u and its clamp nothing (the exact
 * cosine lies in [-1, 1]). So |K - C| <= (D + 6) u (1 + small). We use E = (D + 16) * 2^-23, about
 * twice that (it also covers the float rounding of {@code t - 2E} itself and of any subnormal
 * products: at most D * 2^-149 / 1e-8, far below E). D = 384: the threshold drops by 9.5e-5.
 * <li>L2: every term (x_i - q_i)^2 is positive, so the kernel's sum is S (1 + theta) with
 * |theta| <= gamma_{D+2} =: d (the difference and its square add 2u), and the canonical distance
 * squared is S (1 + 4u) at worst (double sum, then one float rounding of sqrt). A row of the
 * canonical top-k then has K <= T (1 + d')/(1 - d') < T (1 + 3 d') for d' = (D + 16) * 2^-23 < 1/3,
 * so keys (-K) are relaxed to t (1 + 3 d'). Float underflow adds an absolute error of at most
 * 2^-149 per operation, so (D + 4) * 2^-147 more is subtracted; overflow is covered too: the bound
 * holds in unbounded exponent range, a kernel key of -infinity is a distance above float's range,
 * and a k-th key whose relaxed value overflows lets every row through.
 * </ul>
 * A relaxed threshold of NaN (heap not yet full) lets everything through, as before.
 */
final class Slack {
    /** No slack: the kernels' own top-k (unit tests of the kernels). */
    static final Slack NONE = new Slack(false, 0f, 0f, false);

    private final boolean relative;
    private final float factor;
    private final float absolute;
    private final boolean keepAll;

    private Slack(boolean relative, float factor, float absolute, boolean keepAll) {
        this.relative = relative;
        this.factor = factor;
        this.absolute = absolute;
        this.keepAll = keepAll;
    }

    static Slack of(Metric metric, int dim) {
        double e = (dim + 16.0) * 0x1p-23;
        if (metric == Metric.COSINE) {
            return new Slack(false, 0f, (float) (2 * e), 2 * e >= 2);
        }
        return new Slack(true, (float) (1 + 3 * e), (float) ((dim + 4.0) * 0x1p-147), e >= 1.0 / 3);
    }

    /** The lowest key that could still belong to the canonical top-k, given the k-th best key {@code t}. */
    float relax(float t) {
        if (this == NONE || Float.isNaN(t)) {
            return t;
        }
        if (keepAll) {
            return Float.NEGATIVE_INFINITY;
        }
        return relative ? t * factor - absolute : t - absolute;
    }
}
