package io.blocksim.search;

/** One result row: the candidate's row id, its label (the string or prefix), and its score. */
public record Hit(int row, String string, float score) {
}
