package io.blocksim.api;

import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
import java.util.List;

/**
 * One search, built once and checked once: which stored (site, block, position) holds the
 * candidates, the queries (vectors, or prompts the model turns into vectors at a query site that
 * may differ from the candidates'), how many results per query and by which metric. The seed's
 * {@code strings_with_topk_closest_*}.
 *
 * <p>{@link Builder#build} checks what needs no store (k at least 1, exactly one kind of query,
 * vectors of one length and finite, prompts not empty); {@link Searcher#search} checks the rest
 * against the store (the entry exists, k at most its rows, the vectors' dimension). Immutable and
 * thread-safe: the query arrays are copied in.
 */
public final class SearchRequest {
    /** The default number of results per query. */
    public static final int DEFAULT_K = 10;

    private final String site;
    private final int block;
    private final int position;
    private final boolean allPositions;
    private final float[][] vectors;
    private final List<String> prompts;
    private final String querySite;
    private final int queryBlock;
    private final int k;
    private final Metric metric;
    private final ScanMode scan;

    private SearchRequest(Builder b) {
        this.site = b.site;
        this.block = b.block;
        this.position = b.position;
        this.allPositions = b.allPositions;
        this.vectors = b.vectors;
        this.prompts = b.prompts;
        this.querySite = b.querySite != null ? b.querySite : b.site;
        this.queryBlock = b.queryBlock != null ? b.queryBlock : b.block;
        this.k = b.k;
        this.metric = b.metric;
        this.scan = b.scan;
    }

    /**
     * A request for candidates at {@code site} ("proj_output", "ffwd_output", ..., or an imported
     * store's site name) in block {@code block}; by default the last position, k = 10, cosine.
     */
    public static Builder builder(String site, int block) {
        return new Builder(site, block);
    }

    public String site() {
        return site;
    }

    public int block() {
        return block;
    }

    /** 0..L-1, or negative counting from the end (-1, the default, is the last), as the seed's t_i. */
    public int position() {
        return position;
    }

    /** True for the seed's embeddings search: whole strings, all positions concatenated. */
    public boolean allPositions() {
        return allPositions;
    }

    /** The query vectors (a copy), or null when the queries are prompts. */
    public float[][] vectors() {
        return vectors == null ? null : copy(vectors);
    }

    /** The prompts, or null when the queries are vectors. */
    public List<String> prompts() {
        return prompts;
    }

    /** How many queries. */
    public int queryCount() {
        return vectors != null ? vectors.length : prompts.size();
    }

    /** Where the prompts' vectors are taken (default: the candidates' site). */
    public String querySite() {
        return querySite;
    }

    /** The block the prompts' vectors are taken from (default: the candidates' block). */
    public int queryBlock() {
        return queryBlock;
    }

    public int k() {
        return k;
    }

    /** What the search reads: {@link ScanMode#AUTO} (default), codes or float32; the answer is the same. */
    public ScanMode scan() {
        return scan;
    }

    public Metric metric() {
        return metric;
    }

    float[][] vectorsNoCopy() {
        return vectors;
    }

    private static float[][] copy(float[][] v) {
        float[][] out = new float[v.length][];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] == null ? null : v[i].clone();
        }
        return out;
    }

    /** Collects a request; not thread-safe (use one per thread), the built request is. */
    public static final class Builder {
        private final String site;
        private final int block;
        private int position = -1;
        private boolean allPositions;
        private float[][] vectors;
        private List<String> prompts;
        private String querySite;
        private Integer queryBlock;
        private int k = DEFAULT_K;
        private Metric metric = Metric.COSINE;
        private ScanMode scan = ScanMode.AUTO;

        private Builder(String site, int block) {
            this.site = site;
            this.block = block;
        }

        /** The candidates' position: 0..L-1, or negative counting from the end (default -1, the last). */
        public Builder position(int position) {
            this.position = position;
            this.allPositions = false;
            return this;
        }

        /** The embeddings search over whole strings (site "embedding" only; prompts of the store's length). */
        public Builder allPositions() {
            this.allPositions = true;
            return this;
        }

        /** Queries as vectors: {@code [Q][dim]}, the candidates' dimension. */
        public Builder vectors(float[][] queries) {
            this.vectors = queries == null ? null : copy(queries);  // null rows stay null: build() names them
            return this;
        }

        /** Queries as prompts, run through the model (the store's model) to the query site's last position. */
        public Builder prompts(List<String> prompts) {
            // not List.copyOf: a null prompt must reach build(), which says which one it is
            this.prompts = prompts == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(prompts));
            return this;
        }

        public Builder prompts(String... prompts) {
            return prompts(List.of(prompts));
        }

        /** Take the prompts' vectors at another site and block than the candidates' (the notebook's ffwd tables). */
        public Builder querySite(String site, int block) {
            this.querySite = site;
            this.queryBlock = block;
            return this;
        }

        /** Results per query, at least 1 (default 10). */
        public Builder k(int k) {
            this.k = k;
            return this;
        }

        public Builder metric(Metric metric) {
            this.metric = metric;
            return this;
        }

        /**
         * What the search reads (default {@link ScanMode#AUTO}): the compressed scan over the store's
         * codes, or every row's float32 values. The answer is the same either way;
         * {@link SearchResponse#scan} says which ran. {@link ScanMode#CODES} on a store without codes
         * fails when searched ({@code blocksim index} adds them).
         */
        public Builder scan(ScanMode scan) {
            this.scan = scan;
            return this;
        }

        /**
         * The request, checked.
         *
         * @throws InvalidArgumentException a missing site, a negative block, k below 1, no queries,
         *     both vectors and prompts, an empty prompt, a query site without prompts, or
         *     {@link #allPositions} with a site other than "embedding" or without prompts
         * @throws InvalidDataException query vectors of different lengths, empty, or not finite
         */
        public SearchRequest build() {
            if (site == null || site.isBlank()) {
                throw new InvalidArgumentException("no site: name the site whose vectors are searched");
            }
            if (block < 0) {
                throw new InvalidArgumentException("block " + block + " is negative");
            }
            if (k < 1) {
                throw new InvalidArgumentException("k = " + k + " must be at least 1");
            }
            if (metric == null) {
                throw new InvalidArgumentException("no metric: choose cosine or l2");
            }
            if (scan == null) {
                throw new InvalidArgumentException("no scan: choose auto, codes or float32");
            }
            boolean hasVectors = vectors != null && vectors.length > 0;
            boolean hasPrompts = prompts != null && !prompts.isEmpty();
            if (hasVectors == hasPrompts) {
                throw new InvalidArgumentException(hasVectors ? "give queries as vectors or as prompts, not both"
                        : "no queries: give at least one query vector or prompt");
            }
            if (hasPrompts) {
                for (int i = 0; i < prompts.size(); i++) {
                    if (prompts.get(i) == null || prompts.get(i).isEmpty()) {
                        throw new InvalidArgumentException("prompt " + (i + 1) + " is empty");
                    }
                }
            } else {
                if (querySite != null) {
                    throw new InvalidArgumentException("a query site applies to prompts; query vectors are used as given");
                }
                int dim = vectors[0] == null ? 0 : vectors[0].length;
                for (int q = 0; q < vectors.length; q++) {
                    float[] v = vectors[q];
                    if (v == null || v.length == 0 || v.length != dim) {
                        throw new InvalidDataException("query " + q + " has " + (v == null ? 0 : v.length)
                                + " values; every query needs the same number, at least 1 (query 0 has " + dim + ")");
                    }
                    for (int i = 0; i < v.length; i++) {
                        if (!Float.isFinite(v[i])) {
                            throw new InvalidDataException("query " + q + " has a non-finite value (" + v[i]
                                    + ") at index " + i);
                        }
                    }
                }
            }
            if (allPositions) {
                if (!site.equals("embedding")) {
                    throw new InvalidArgumentException("all positions needs the site embedding (the concatenated"
                            + " embedding of all positions); other sites are searched one position at a time");
                }
                if (!hasPrompts) {
                    throw new InvalidArgumentException("the embeddings search compares whole strings: give prompts,"
                            + " not vectors");
                }
            }
            return new SearchRequest(this);
        }
    }
}
