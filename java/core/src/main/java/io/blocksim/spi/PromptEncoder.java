package io.blocksim.spi;

import java.util.List;

/**
 * Runs prompts through a model to make search queries: the plug-in point that
 * {@code blocksim-model} implements with ONNX Runtime (found through {@link ModelProvider}).
 *
 * <p>Thread safety: implementations must allow concurrent calls; {@link #close} releases the model
 * and must not be called while other calls run.
 */
public interface PromptEncoder extends AutoCloseable {
    /** The sha256 of the model file (lower-case hex), as stores record it. */
    String modelSha256();

    /** The longest prompt the model takes (its context length, in characters). */
    int maxPromptLength();

    /** The characters the model knows, in token-id order. */
    String vocabulary();

    /**
     * For each prompt, the vector of {@code site} in block {@code block} at the prompt's last
     * position: {@code result[i]} has the model's width in floats.
     *
     * @throws io.blocksim.InvalidArgumentException for an unknown site or block, an empty prompt,
     *     one longer than {@link #maxPromptLength}, or a character outside the vocabulary
     * @throws io.blocksim.ModelException when the model fails to run
     */
    float[][] lastPositionVectors(List<String> prompts, String site, int block);

    /**
     * The embedding table {@code table[t][token]} = token embedding + position embedding, for
     * positions {@code 0..length-1}: what the exact all-position embeddings search needs.
     *
     * @throws io.blocksim.InvalidArgumentException for a length outside 1..{@link #maxPromptLength}
     */
    float[][][] embeddingTable(int length);

    @Override
    void close();
}
