package io.blocksim.spi;

import io.blocksim.Metric;
import io.blocksim.ScanMode;

/**
 * Exact top-k search over a {@link VectorSet}: a plug-in point, found through
 * {@link SearchBackendProvider}. Every backend gives the same answer for the requests it
 * {@link #supports supports}: the same rows in the same order (ties to the lower row) and scores
 * within 1e-5 of a float64 reference.
 *
 * <p>Thread safety: implementations must allow concurrent {@link #search} calls from many threads,
 * each answered as if it ran alone (a backend may serialise them internally; the CUDA backend
 * does, since it owns one device context and its streams). {@link #close} may be called from any
 * thread, also while searches run: a search that starts after it throws
 * {@link io.blocksim.ClosedException}; one already running either finishes normally or ends with
 * a {@link io.blocksim.ClosedException}, and neither hangs nor touches freed memory. The same holds
 * when the memory behind {@code data} is released under a search (a store closed): the search
 * ends with a {@link io.blocksim.ClosedException}. Failures inside a backend's worker threads reach
 * the caller as the kind they are, not wrapped.
 */
public interface SearchBackend extends AutoCloseable {
    /** A short name for messages and JSON ("cpu", "cuda"). */
    String name();

    /**
     * Whether this backend runs a search of {@code dim}-dimensional rows for the top {@code k} by
     * {@code metric} itself. A caller routes a request this answers false for to another backend
     * (and says so); {@link #search} may refuse it. The default supports everything.
     */
    default boolean supports(int dim, int k, Metric metric) {
        return true;
    }

    /**
     * The k best rows for each query: {@code queries[q]} has {@code data.dim()} finite floats and
     * {@code 1 <= k <= data.rows()}. The result's row ids index the whole set (0..rows-1).
     *
     * @throws io.blocksim.InvalidArgumentException for k out of range or no queries
     * @throws io.blocksim.InvalidDataException for a query of the wrong length or a non-finite value
     * @throws io.blocksim.ClosedException when this backend, or the store behind {@code data}, is or
     *     gets closed
     * @throws io.blocksim.DeviceException when a device fails
     */
    SearchResult search(VectorSet data, float[][] queries, int k, Metric metric);

    /** Whether this backend has the compressed scan ({@link ScanMode#CODES}). The default: no. */
    default boolean supportsCodes() {
        return false;
    }

    /**
     * As {@link #search(VectorSet, float[][], int, Metric)}, reading what {@code scan} says: the
     * answer is the same whatever it says; the result's {@link SearchResult#scan} names what ran.
     * The default runs the float32 search for {@link ScanMode#AUTO} and {@link ScanMode#FLOAT32}
     * and refuses {@link ScanMode#CODES} ({@link io.blocksim.search.Backends#routed} hands such a
     * request to the CPU backend instead).
     *
     * @throws io.blocksim.InvalidArgumentException as the 4-argument search, and for
     *     {@link ScanMode#CODES} on a backend without a compressed scan or on data without codes
     */
    default SearchResult search(VectorSet data, float[][] queries, int k, Metric metric, ScanMode scan) {
        if (scan == ScanMode.CODES) {
            throw new io.blocksim.InvalidArgumentException("the " + name() + " backend has no compressed scan: search"
                    + " with --scan float32 or auto, or on the cpu backend");
        }
        return search(data, queries, k, metric);
    }

    /** Releases threads, device memory and caches. Idempotent. */
    @Override
    default void close() {
    }
}
