/**
 * The transformer over ONNX Runtime and the prefix-sharing extraction; the model plug-in.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.model;
