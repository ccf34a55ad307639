package io.blocksim.similars;

/**
 * One entry of the job: candidates of {@code site} in block {@code block} at string position
 * {@code position} (0..L-1), or, with {@code position == ALL_POSITIONS}, the seed's concatenated
 * embedding of all L positions (site "embedding", block 0). Immutable.
 */
public record Target(String site, int block, int position) {
    /** The position of the concatenated all-position embedding entry. */
    public static final int ALL_POSITIONS = -1;
    /** The site name of the concatenated embedding. */
    public static final String EMBEDDING = "embedding";

    public static Target embedding() {
        return new Target(EMBEDDING, 0, ALL_POSITIONS);
    }

    public boolean allPositions() {
        return position == ALL_POSITIONS;
    }

    /** The stem of the entry's file names: {@code proj_output-b0-t9}, {@code embedding-all}. */
    public String fileStem() {
        return allPositions() ? site + "-all" : site + "-b" + block + "-t" + position;
    }

    /** How messages name it: {@code proj_output block 0 position 9}, {@code embedding (all positions)}. */
    @Override
    public String toString() {
        return allPositions() ? site + " (all positions)" : site + " block " + block + " position " + position;
    }
}
