/**
 * The CUDA search backend: JCuda glue, cuBLAS through FFM downcalls (JCublas as fallback), kernel loading, device memory; the CUDA plug-in.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.cuda;
