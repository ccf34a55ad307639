package io.blocksim.model;

import io.blocksim.InvalidArgumentException;

/**
 * One vector set an extraction produces: {@code site} of {@code block} at string position
 * {@code position} (0-based, counted from the start; the CLI turns negative positions into these).
 * At the last position there is one vector per string; at an earlier position t one per unique
 * prefix of length t+1 (the rows of {@link io.blocksim.text.StringTable#prefixes(int)}). A negative
 * position or block is an {@link InvalidArgumentException}.
 */
public record Target(Site site, int block, int position) {

    public Target {
        if (site == null) {
            throw new IllegalArgumentException("site is null");
        }
        if (position < 0) {
            throw new InvalidArgumentException("position must be >= 0 here, got " + position);
        }
        if (site == Site.EMBEDDING) {
            block = 0; // the embedding has no block: one canonical spelling
        } else if (block < 0) {
            throw new InvalidArgumentException("block must be >= 0, got " + block);
        }
    }

    /**
     * The ONNX output this target reads, checked against the model's depth.
     *
     * @throws InvalidArgumentException for a block the model does not have
     */
    public String outputName(ModelSpec spec) {
        return spec.outputName(site, block);
    }

    @Override
    public String toString() {
        return site.cliName() + (site.perBlock() ? " b" + block : "") + " t" + position;
    }
}
