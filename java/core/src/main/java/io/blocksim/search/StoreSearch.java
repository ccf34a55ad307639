package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.SearchBackend;
import io.blocksim.ClosedException;
import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.StoreDamagedException;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import java.util.List;

/**
 * The seed's {@code strings_with_topk_closest_*} over a store: candidates are one stored
 * (site, block, position) — all strings at the last position, the unique prefixes at an earlier
 * one (whose labels are the prefixes) — and the queries are vectors taken from wherever the
 * caller likes (another site, a prompt, a file).
 */
public final class StoreSearch {
    private StoreSearch() {
    }

    /**
     * Top-k rows of the stored (site, block, position) for each query, labelled.
     *
     * @param position 0..L-1, or negative counting from the end (-1 is the last), as the seed's t_i
     * @param prompts  the prompt behind each query, or null when the queries came as vectors
     * @throws InvalidArgumentException for an entry the store does not hold, a position outside
     *     its strings, no queries, or k outside 1..rows
     * @throws InvalidDataException for a query of another dimension than the candidates, or with a
     *     non-finite value
     * @throws StoreDamagedException when a label cannot be decoded
     * @throws ClosedException when the store or the backend is closed, before or during the search
     * @throws DeviceException when the backend's device fails
     */
    public static LabeledResult search(Store store, SearchBackend backend, String site, int block, int position,
            float[][] queries, List<String> prompts, int k, Metric metric) {
        Manifest.Entry entry = store.entry(site, block, position);
        EntryKey key = entry.key();
        VectorSet data = store.vectors(key);
        checkQueries(queries, data.dim(), k, data.rows());
        long t0 = System.nanoTime();
        SearchResult r = backend.search(data, queries, k, metric);
        double ms = (System.nanoTime() - t0) / 1e6;
        return LabeledResult.of(backend.name(), r, prompts, row -> store.label(key, row), ms);
    }

    /**
     * The seed's embeddings search over every string of the store: the concatenated token +
     * position embeddings of all L positions, computed exactly from {@code search}'s table.
     *
     * @param queries token ids of each prompt, L each
     * @throws InvalidArgumentException for no queries, a query of another length than L, or k
     *     outside 1..N
     * @throws ClosedException when the store is closed
     */
    public static LabeledResult embeddings(Store store, EmbeddingSearch search, byte[][] queries, List<String> prompts,
            int k, Metric metric) {
        if (queries.length == 0) {
            throw new InvalidArgumentException("no queries: the prompt list is empty");
        }
        long t0 = System.nanoTime();
        SearchResult r = search.search(store.strings(), store.stringCount(), queries, k, metric);
        double ms = (System.nanoTime() - t0) / 1e6;
        return LabeledResult.of("cpu", r, prompts, store::string, ms);
    }

    /**
     * The checks every backend relies on, with messages that say how to fix the input.
     *
     * @throws InvalidArgumentException for no queries, or k outside 1..rows
     * @throws InvalidDataException for a query of another dimension than {@code dim}, or with a
     *     non-finite value
     */
    public static void checkQueries(float[][] queries, int dim, int k, int rows) {
        if (queries.length == 0) {
            throw new InvalidArgumentException("no queries: the query file or prompt list is empty");
        }
        if (k < 1 || k > rows) {
            throw new InvalidArgumentException("k = " + k + " is outside 1.." + rows + " (the number of candidate rows)");
        }
        for (int q = 0; q < queries.length; q++) {
            if (queries[q].length != dim) {
                throw new InvalidDataException("query " + q + " has " + queries[q].length + " values but the candidates have "
                        + dim + " (pick the matching site, or a query file of shape [Q, " + dim + "])");
            }
            for (int i = 0; i < dim; i++) {
                if (!Float.isFinite(queries[q][i])) {
                    throw new InvalidDataException("query " + q + " has a non-finite value (" + queries[q][i] + ") at index " + i);
                }
            }
        }
    }
}
