package io.blocksim.text;

/**
 * The unique prefixes of one length among a {@link StringTable}'s strings: prefix row {@code r}
 * is the prefix of string {@code firstString(r)}, the first string that has it. Because the
 * model is causal, the intermediates at position t of all strings sharing a prefix of length t+1
 * are identical, so search at t runs over these rows.
 */
public final class PrefixIndex {
    private final int position;
    private final int[] firstStrings; // null for the identity (last position)
    private final int rows;

    PrefixIndex(int position, int[] firstStrings) {
        this.position = position;
        this.firstStrings = firstStrings;
        this.rows = firstStrings.length;
    }

    private PrefixIndex(int position, int rows) {
        this.position = position;
        this.firstStrings = null;
        this.rows = rows;
    }

    static PrefixIndex identity(int position, int rows) {
        return new PrefixIndex(position, rows);
    }

    public static PrefixIndex of(int position, int[] firstStrings) {
        return new PrefixIndex(position, firstStrings.clone());
    }

    public int position() {
        return position;
    }

    public int rows() {
        return rows;
    }

    public int firstString(int row) {
        return firstStrings == null ? row : firstStrings[row];
    }

    /** A copy of the first-string index (0..rows-1 at the last position). */
    public int[] firstStrings() {
        if (firstStrings == null) {
            int[] id = new int[rows];
            for (int i = 0; i < rows; i++) {
                id[i] = i;
            }
            return id;
        }
        return firstStrings.clone();
    }

    /** Number of prefix rows whose first string is below {@code stringRow}: rows of a shard boundary. */
    public int rowsBefore(int stringRow) {
        if (firstStrings == null) {
            return Math.min(stringRow, rows);
        }
        int idx = java.util.Arrays.binarySearch(firstStrings, stringRow);
        return idx >= 0 ? idx : -idx - 1;
    }
}
