/**
 * The blocksim library: the one public API, documented here in one place.
 *
 * <h2>What it does</h2>
 * For a character-level transformer run over every unique length-L substring of a corpus, find the
 * k strings whose internal vector at a chosen site (proj_output, ffwd_output, ... of a block, at a
 * position t_i) is closest to a query's, by cosine similarity or L2 distance, exactly.
 *
 * <h2>Types</h2>
 * <ul>
 * <li>{@link io.blocksim.api.BlocksimStore}: open a store (memory-mapped {@code .npy} shards and a
 *     manifest), list its {@link io.blocksim.api.StoreEntry entries}, decode strings; make one from
 *     your own vectors with {@link io.blocksim.api.BlocksimStore#importVectors}.</li>
 * <li>{@link io.blocksim.api.Extraction}: make a store by running the model (needs
 *     {@code blocksim-model}).</li>
 * <li>{@link io.blocksim.api.SearchRequest}: one search (site, block, position, queries as vectors
 *     or prompts, query site, k, metric, and the scan: {@link io.blocksim.ScanMode} auto, codes or
 *     float32), built and checked once.</li>
 * <li>{@link io.blocksim.api.Searcher}: runs requests on a backend: {@code "auto"}, {@code "cpu"},
 *     {@code "cuda"}, or a {@link io.blocksim.spi.SearchBackend} instance of your own.</li>
 * <li>{@link io.blocksim.api.SearchResponse}, {@link io.blocksim.api.Hit}: per query the hits (row,
 *     label, score), best first, the backend that ran, a note when a request was handed to
 *     another backend, and what the search read ("codes" with the rows re-scored per query, or
 *     "float32").</li>
 * <li>{@link io.blocksim.api.SimilarStrings}: the seed's batch similar-strings job (a sample's k
 *     nearest strings at many entries), streamed or written to a resumable results folder, which
 *     {@link io.blocksim.api.SimilarResults} reads back per string and merges over positions.</li>
 * <li>{@link io.blocksim.api.Models}: the model for prompt vectors
 *     ({@link io.blocksim.spi.PromptEncoder}).</li>
 * <li>In {@code io.blocksim}: {@link io.blocksim.Metric}, {@link io.blocksim.ScanMode} and the error kinds, all unchecked under
 *     {@link io.blocksim.BlocksimException}.</li>
 * <li>In {@code io.blocksim.spi}: the plug-in contracts ({@link io.blocksim.spi.SearchBackend},
 *     {@link io.blocksim.spi.SearchBackendProvider}, {@link io.blocksim.spi.ModelProvider}) and what a
 *     backend sees ({@link io.blocksim.spi.VectorSet}, {@link io.blocksim.spi.VectorShard},
 *     {@link io.blocksim.spi.ShardCodes}, {@link io.blocksim.spi.SearchResult}).</li>
 * </ul>
 * Every other package ({@code text}, {@code store}, {@code search}, {@code model}, {@code cuda},
 * {@code similars}, {@code cli}, {@code demo}, {@code bench}) is internal: public only so the modules can reach each
 * other, and free to change.
 *
 * <h2>Modules</h2>
 * {@code blocksim-core} (this package; JDK and Jackson only), {@code blocksim-model} (ONNX Runtime:
 * prompts and extraction), {@code blocksim-cuda} (JCuda: the GPU backend), {@code blocksim-cli}.
 * Model and CUDA are found at run time with {@link java.util.ServiceLoader}: put their jars on the
 * class path and "auto" and prompts use them.
 *
 * <h2>Semantics</h2>
 * <ul>
 * <li>Candidates at the last position are all N strings; at an earlier position t, the unique
 *     prefixes of length t+1 (the model is causal), each labelled by the prefix.</li>
 * <li>Cosine: {@code x.q / (max(|x|, 1e-8) * max(|q|, 1e-8))} (torch's {@code cosine_similarity});
 *     L2: {@code |x - q|}. Scores are float32.</li>
 * <li>Exact: every backend returns the same rows in the same order, ties to the lower row, scores
 *     within 1e-5 of a float64 reference.</li>
 * <li>Prompt queries are the model's vector at the prompt's last position, at the query site
 *     (default: the candidates' site).</li>
 * </ul>
 *
 * <h2>Errors</h2>
 * Unchecked, by kind: {@link io.blocksim.InvalidArgumentException} (a bad value),
 * {@link io.blocksim.InvalidDataException} (a malformed file or query),
 * {@link io.blocksim.StoreNotFoundException}, {@link io.blocksim.StoreIncompleteException},
 * {@link io.blocksim.StoreDamagedException}, {@link io.blocksim.StoreIncompatibleException},
 * {@link io.blocksim.StoreChangedException} (its files were truncated, rewritten or replaced after
 * it was opened),
 * {@link io.blocksim.FileAccessException}, {@link io.blocksim.DeviceException},
 * {@link io.blocksim.ModelException}, {@link io.blocksim.ClosedException}. Messages are one line and
 * name no command-line flags.
 *
 * <h2>Threads</h2>
 * An open store, a searcher and a backend may each be shared by any number of threads. Closing a
 * store while searches run ends them with a {@link io.blocksim.ClosedException}; no unmapped memory
 * is ever read. Closing a searcher refuses new searches and waits for running ones to finish before
 * it frees the model and the backend. Builders are not thread-safe; what they build is.
 *
 * <h2>JVM flags</h2>
 * JDK 25. Full CPU speed needs {@code --add-modules jdk.incubator.vector} (the Vector API); the
 * fastest segment views want {@code --enable-native-access=ALL-UNNAMED}. Without them the library
 * still works: the search runs scalar code with the same answers (one warning line), and extraction
 * runs the full model instead of the prefix-sharing step engine.
 *
 * <h2>Files outside the jars</h2>
 * The model ({@code artifacts/model/blocksim-shakespeare.onnx} and its step graphs) is found under
 * {@code BLOCKSIM_PROJECT_DIR} or above the jars; give another with {@link
 * io.blocksim.api.Extraction#model} or {@link io.blocksim.api.Searcher.Builder#model(java.nio.file.Path)}.
 * The corpus comes from {@code BLOCKSIM_DATASET}, {@link io.blocksim.api.Extraction#corpus}, or a
 * sha256-checked download.
 */
package io.blocksim.api;
