package io.blocksim.api;

import io.blocksim.Metric;
import io.blocksim.spi.SearchBackend;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Store;

/** For tests in other packages: the internal store behind the API's, and one search through the API. */
public final class ApiTestAccess {
    private ApiTestAccess() {
    }

    public static Store internal(BlocksimStore s) {
        return s.internal();
    }

    /** The API's view of an open internal store (closing it closes {@code s}). */
    public static BlocksimStore wrap(Store s) {
        return new BlocksimStore(s);
    }

    /** One search of vectors on {@code b} (the caller's; not closed) through a {@link Searcher}. */
    public static SearchResponse search(Store s, SearchBackend b, EntryKey key, float[][] queries, int k, Metric metric) {
        try (Searcher searcher = Searcher.builder(wrap(s)).backend(b).build()) {
            return searcher.search(SearchRequest.builder(key.site(), key.block()).position(key.position())
                    .vectors(queries).k(k).metric(metric).build());
        }
    }
}
