/**
 * blocksim demo: the notebook's tables on our model, and its report.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.demo;
