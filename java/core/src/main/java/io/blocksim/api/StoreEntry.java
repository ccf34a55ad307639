package io.blocksim.api;

/**
 * One stored (site, block, position) of a store: {@code rows} candidate vectors of {@code dim}
 * floats. At the last position ({@code L-1}) the rows are all strings; at an earlier position t
 * they are the unique prefixes of length t+1 (in order of first occurrence). Immutable.
 */
public record StoreEntry(String site, int block, int position, int rows, int dim) {
}
