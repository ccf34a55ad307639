package io.blocksim.model;

import io.blocksim.InvalidArgumentException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A block intermediate of the transformer (DESIGN.md section 2): a 384-float vector per string
 * position. Every site but {@link #EMBEDDING} exists once per block.
 */
public enum Site {
    /** {@code tok_emb + pos_emb}, the input of block 0; one per model, not per block. */
    EMBEDDING("embedding"),
    /** The input of block b: the embedding for b = 0, else block b-1's output (no output of its own). */
    BLOCK_INPUT("block_input"),
    /** The heads' outputs concatenated, the input of the attention projection. */
    HEADS_OUTPUT("heads_output"),
    /** The attention projection's output: the attention sub-layer's contribution to the residual. */
    PROJ_OUTPUT("proj_output"),
    /** The feed-forward net's output: its contribution to the residual. */
    FFWD_OUTPUT("ffwd_output"),
    /** The block's output (residual stream after the block). */
    BLOCK_OUTPUT("block_output");

    private final String cliName;

    Site(String cliName) {
        this.cliName = cliName;
    }

    /** The name users type and JSON carries, e.g. {@code proj_output}. */
    public String cliName() {
        return cliName;
    }

    /** False only for {@link #EMBEDDING}, which has no block index. */
    public boolean perBlock() {
        return this != EMBEDDING;
    }

    /** All CLI names, comma-separated, for messages. */
    public static String validNames() {
        return Arrays.stream(values()).map(Site::cliName).collect(Collectors.joining(", "));
    }

    /**
     * The site named {@code name} (case-insensitive, '-' accepted for '_').
     *
     * @throws InvalidArgumentException for any other name (the message lists the valid ones)
     */
    public static Site parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Site s : values()) {
            if (s.cliName.equals(n)) {
                return s;
            }
        }
        throw new InvalidArgumentException("unknown site '" + name + "': use one of " + validNames());
    }

    /**
     * The ONNX output holding this site of block {@code block}. {@link #EMBEDDING} ignores the
     * block; {@link #BLOCK_INPUT} of block b > 0 is block b-1's output. The upper bound of
     * {@code block} depends on the model: see {@link ModelSpec#outputName(Site, int)}.
     *
     * @throws InvalidArgumentException for a negative block
     */
    public String outputName(int block) {
        if (this == EMBEDDING) {
            return "embedding";
        }
        if (block < 0) {
            throw new InvalidArgumentException("block must be >= 0, got " + block);
        }
        return switch (this) {
            case BLOCK_INPUT -> block == 0 ? "embedding" : "block" + (block - 1) + ".block_output";
            default -> "block" + block + "." + cliName;
        };
    }

    @Override
    public String toString() {
        return cliName;
    }
}
