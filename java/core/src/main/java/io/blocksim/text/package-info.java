/**
 * The text pipeline: the corpus (download, sha256), the tokenizer, unique substrings and prefixes.
 *
 * <p><b>Internal.</b> Not part of blocksim's API: public only so the modules can reach each other,
 * and free to change. Use {@link io.blocksim.api} instead.
 */
package io.blocksim.text;
