package io.blocksim.api;

/**
 * One block's row of the notebook's norm table: the mean and sample standard deviation of the L2
 * norms of {@code rows} last-position vectors. Immutable.
 */
public record NormRow(int block, int rows, double mean, double std) {
}
