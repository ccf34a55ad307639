package io.blocksim.search;

import io.blocksim.spi.VectorSet;

import io.blocksim.ClosedException;
import io.blocksim.Metric;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.SearchBackend;
import io.blocksim.UserError;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import java.util.List;

/**
 * The seed's {@code strings_with_topk_closest_*} over a store: candidates are one stored
 * (site, block, position) — all strings at the last position, the unique prefixes at an earlier
 * one (whose labels are the prefixes) — and the queries are vectors taken from wherever the
 * caller likes (another site, a prompt, a file).
 *
 * <p>Thread safety: stateless; any number of threads may search one store with one backend at once
 * (both are thread-safe, see {@link Store} and {@link SearchBackend}). When the store or the
 * backend is closed before or during a search, the search ends with a
 * {@link io.blocksim.ClosedException}, whichever step (lookup, scan or labelling) met the close.
 */
public final class StoreSearch {
    private StoreSearch() {
    }

    /**
     * Top-k rows of the stored (site, block, position) for each query, labelled.
     *
     * @param position 0..L-1, or negative counting from the end (-1 is the last), as the seed's t_i
     * @param prompts  the prompt behind each query, or null when the queries came as vectors
     */
    public static LabeledResult search(Store store, SearchBackend backend, String site, int block, int position,
            float[][] queries, List<String> prompts, int k, Metric metric) {
        try {
            return searchOpen(store, backend, site, block, position, queries, prompts, k, metric);
        } catch (IllegalStateException e) {
            throw closedOr(store, e);
        }
    }

    private static LabeledResult searchOpen(Store store, SearchBackend backend, String site, int block, int position,
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
     */
    public static LabeledResult embeddings(Store store, EmbeddingSearch search, byte[][] queries, List<String> prompts,
            int k, Metric metric) {
        if (queries.length == 0) {
            throw UserError.data("no queries: the prompt list is empty");
        }
        try {
            long t0 = System.nanoTime();
            SearchResult r = search.search(store.strings(), store.stringCount(), queries, k, metric);
            double ms = (System.nanoTime() - t0) / 1e6;
            return LabeledResult.of("cpu", r, prompts, store::string, ms);
        } catch (IllegalStateException e) {
            throw closedOr(store, e);
        }
    }

    /** The JDK's exception for a read of a closed store's memory, as a ClosedException; others as they are. */
    private static RuntimeException closedOr(Store store, IllegalStateException e) {
        if (store.isOpen()) {
            return e;
        }
        return new ClosedException("store " + store.dir() + " was closed while a search ran", e);
    }

    /** The checks every backend relies on, with messages that say how to fix the input. */
    public static void checkQueries(float[][] queries, int dim, int k, int rows) {
        if (queries.length == 0) {
            throw UserError.data("no queries: the query file or prompt list is empty");
        }
        if (k < 1 || k > rows) {
            throw UserError.usage("k = " + k + " is outside 1.." + rows + " (the number of candidate rows)");
        }
        for (int q = 0; q < queries.length; q++) {
            if (queries[q].length != dim) {
                throw UserError.data("query " + q + " has " + queries[q].length + " values but the candidates have "
                        + dim + " (pick the matching site, or a query file of shape [Q, " + dim + "])");
            }
            for (int i = 0; i < dim; i++) {
                if (!Float.isFinite(queries[q][i])) {
                    throw UserError.data("query " + q + " has a non-finite value (" + queries[q][i] + ") at index " + i);
                }
            }
        }
    }
}
