package io.blocksim.search;

/** Exact top-k search over a {@link VectorSet}. Every backend gives the same answer. */
public interface SearchBackend extends AutoCloseable {
    /** A short name for messages and JSON ("cpu", "cuda"). */
    String name();

    /**
     * The k best rows for each query. {@code queries[q]} has {@code data.dim()} finite floats;
     * {@code 1 <= k <= data.rows()}.
     */
    SearchResult search(VectorSet data, float[][] queries, int k, Metric metric);

    @Override
    default void close() {
    }
}
