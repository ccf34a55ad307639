/**
 * The CPU search backend (Vector API kernels), top-k selection, norms, backend discovery and routing.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.search;
