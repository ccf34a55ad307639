package io.blocksim.cuda;

import io.blocksim.Metric;
import io.blocksim.search.CanonicalScores;

/**
 * Whether the device's m best rows of a query by kernel key certainly hold the query's canonical
 * top-k (see {@link QueryPrep#finish} for the protocol and why it is exact). Pure: no CUDA, unit
 * tested on any machine. Stateless: any thread.
 */
final class BoundaryCheck {
    /**
     * Candidates fetched beyond k, at least: room for the rows whose kernel keys lie just below the
     * k-th but whose canonical scores may still tie or beat it (the extra is max(this, k)). With
     * random data only a few rows fall within the slack (D = 384 cosine: 9.5e-5 below the k-th);
     * more than this many only where many rows tie near the k-th, which the CPU then answers.
     */
    static final int MIN_EXTRA_CANDIDATES = 16;

    private BoundaryCheck() {
    }

    /**
     * How many candidates to ask the kernels for: {@code min(k + max(16, k), MAX_K, rows)}.
     *
     * @param k the request's k, 1 to {@link LaunchPlan#MAX_K}
     * @param rows the rows of the whole set, at least k
     */
    static int candidates(int k, int rows) {
        if (k < 1 || k > LaunchPlan.MAX_K || rows < k) {
            throw new IllegalArgumentException("k = " + k + " with " + rows + " rows");
        }
        return Math.min(Math.min(k + Math.max(MIN_EXTRA_CANDIDATES, k), LaunchPlan.MAX_K), rows);
    }

    /**
     * Whether the kernels can return enough candidates past the k-th for {@link #certain} to succeed
     * on untied data: at least {@link #MIN_EXTRA_CANDIDATES} more than k, or every row. Past
     * {@code MAX_K - 16} (k above 1,008) they cannot, and the CUDA backend hands the request to the
     * CPU rather than scan on the device only to send every query there.
     */
    static boolean provable(int k, int rows) {
        int m = candidates(k, rows);
        return m == rows || m - k >= MIN_EXTRA_CANDIDATES;
    }

    /**
     * True when the m rows certainly contain the canonical top-k of the whole set: the entries are
     * real rows (id >= 0, key not NaN), except possibly a tail of padding (id -1 with a NaN key: the
     * kernels had fewer than m candidates, so they returned every one, which holds the top-k; the
     * compressed scan's survivors do), and either all candidates were returned (padding, or
     * {@code m == rows}) or the m-th key lies strictly below the lowest key a canonical top-k row
     * can have, {@link CanonicalScores#lowestKeyInTopK} of the k-th key.
     *
     * @param keys the kernel keys best first (merge_final with {@link LaunchPlan#METRIC_KEYS}):
     *     cosine scores or {@code -(squared L2 distance)}; {@code keys.length} is m
     * @param ids the rows of the keys, the same length
     * @param k 1 to m
     * @param rows the rows of the whole set
     * @param dim the vectors' dimension
     */
    static boolean certain(float[] keys, int[] ids, int k, int rows, Metric metric, int dim) {
        int m = keys.length;
        if (ids.length != m || k < 1 || k > m || m > rows) {
            throw new IllegalArgumentException(m + " keys, " + ids.length + " ids, k = " + k + ", " + rows + " rows");
        }
        int n = m;
        while (n > 0 && ids[n - 1] == -1 && Float.isNaN(keys[n - 1])) {
            n--;  // the kernels' padding
        }
        if (n < k) {
            return false;  // fewer than k candidates: never from a correct search
        }
        for (int j = 0; j < n; j++) {
            if (ids[j] < 0 || Float.isNaN(keys[j])) {
                return false;  // a missing entry among real ones
            }
        }
        if (n < m || m == rows) {
            return true;
        }
        // rows left out have keys <= keys[m - 1] (an equal key with a higher id), and a key equal to the
        // bound may still be in the top-k: hence strict
        return keys[m - 1] < CanonicalScores.lowestKeyInTopK(metric, dim, keys[k - 1]);
    }

    /** The rows without the kernels' padding (a tail of -1), for {@link QueryPrep#finish}. */
    static int[] withoutPadding(int[] ids) {
        int n = ids.length;
        while (n > 0 && ids[n - 1] == -1) {
            n--;
        }
        return n == ids.length ? ids : java.util.Arrays.copyOf(ids, n);
    }
}
