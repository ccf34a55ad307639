/**
 * The store on disk: npy files, the manifest, mapped shards, the crash-safe writer, import and verify.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.store;
