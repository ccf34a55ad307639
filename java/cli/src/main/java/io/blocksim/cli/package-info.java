/**
 * The command line (picocli): one command per class, one-line errors and exit codes.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.cli;
