package io.blocksim.api;

/**
 * One result: the candidate's row in its entry, its label (the string, the prefix for an earlier
 * position, or an imported store's label), and its score (cosine similarity, larger is closer; or
 * L2 distance, smaller is closer). Immutable.
 */
public record Hit(int row, String label, float score) {
}
