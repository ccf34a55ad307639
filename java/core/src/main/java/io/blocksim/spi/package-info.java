/**
 * The plug-in contracts: a search backend ({@link io.blocksim.spi.SearchBackend}, found through
 * {@link io.blocksim.spi.SearchBackendProvider}), the model behind prompts and extraction
 * ({@link io.blocksim.spi.ModelProvider}, {@link io.blocksim.spi.PromptEncoder}), and what a backend
 * sees ({@link io.blocksim.spi.VectorSet}, {@link io.blocksim.spi.VectorShard},
 * {@link io.blocksim.spi.SearchResult}). Public API for implementers; see {@link io.blocksim.api}.
 */
package io.blocksim.spi;
