/**
 * The similar-strings job (DESIGN.md section 7), internal: a seeded sample of strings, each one's
 * k nearest stored strings at chosen (site, block, position) entries and in the concatenated
 * embedding, computed in query batches through a {@link io.blocksim.spi.SearchBackend}, and the
 * crash-safe results folder they are written to and read from. The public face is
 * {@code io.blocksim.api.SimilarStrings} and {@code io.blocksim.api.SimilarResults}.
 */
package io.blocksim.similars;
