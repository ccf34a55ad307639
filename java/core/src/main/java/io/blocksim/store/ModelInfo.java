package io.blocksim.store;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The model a store was extracted with: its file's sha256 (what makes two models the same), its
 * shape, and its vocabulary (character i of {@code vocab} is token id i) for decoding strings.
 */
public record ModelInfo(
        @JsonProperty("sha256") String sha256,
        @JsonProperty("n_layer") int nLayer,
        @JsonProperty("n_embed") int nEmbed,
        @JsonProperty("n_head") int nHead,
        @JsonProperty("vocab") String vocab) {

    /** Vocabulary size in tokens (code points of {@code vocab}). */
    public int vocabSize() {
        return vocab == null ? 0 : vocab.codePointCount(0, vocab.length());
    }

    /** One line for messages: {@code sha256 86c4e6aa9db7... (n_layer 6, n_embed 384, n_head 6)}. */
    public String describe() {
        String sha = sha256 == null ? "?" : sha256.length() > 12 ? sha256.substring(0, 12) + "..." : sha256;
        return "sha256 " + sha + " (n_layer " + nLayer + ", n_embed " + nEmbed + ", n_head " + nHead + ")";
    }
}
