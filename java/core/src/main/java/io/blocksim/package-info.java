/**
 * The vocabulary every part of blocksim shares: {@link io.blocksim.Metric} and the error kinds
 * under {@link io.blocksim.BlocksimException}. Public API; see {@link io.blocksim.api}. Depends on
 * nothing else in blocksim.
 */
package io.blocksim;
