package io.blocksim.store;

import io.blocksim.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * What a stored entry holds: the intermediate {@code site} of block {@code block} at string
 * position {@code position} (0..L-1; sites without a block, such as the embedding, use block 0).
 * Site names are lower-case identifiers because they name folders in the store; a site name that is
 * not one, or a negative block or position, is an {@link InvalidArgumentException}.
 */
public record EntryKey(String site, int block, int position) implements Comparable<EntryKey> {
    private static final Pattern SITE = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    public EntryKey {
        if (site == null || !SITE.matcher(site).matches()) {
            throw new InvalidArgumentException("site name '" + site + "' is not valid: use lower-case letters, digits and '_' (e.g. block_output)");
        }
        if (block < 0 || position < 0) {
            throw new InvalidArgumentException("block and position must be >= 0 (got block " + block + ", position " + position + ")");
        }
    }

    /** The folder of the entry's files inside the store. */
    public String folder() {
        return site + "-b" + block + "-t" + position;
    }

    /** How messages name it: {@code block_output block 3 position 9}. */
    @Override
    public String toString() {
        return site + " block " + block + " position " + position;
    }

    @Override
    public int compareTo(EntryKey o) {
        int c = site.compareTo(o.site);
        if (c == 0) {
            c = Integer.compare(block, o.block);
        }
        return c != 0 ? c : Integer.compare(position, o.position);
    }
}
