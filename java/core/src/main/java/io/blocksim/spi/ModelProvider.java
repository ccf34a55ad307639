package io.blocksim.spi;

import java.nio.file.Path;

/**
 * The model behind prompts and extraction, found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.blocksim.spi.ModelProvider}); {@code blocksim-model} provides it over
 * ONNX Runtime. Without it on the class path, searches take query vectors only.
 *
 * <p>Implementations need a public no-argument constructor and must be thread-safe.
 */
public interface ModelProvider {
    /**
     * Opens a model for prompts.
     *
     * @param model the ONNX file; null for the shipped model
     * @throws io.blocksim.ModelException when the model cannot be found or loaded
     */
    PromptEncoder open(Path model);

    /**
     * Runs an extraction to the end, resuming a store that an earlier run left incomplete.
     *
     * @throws io.blocksim.InvalidArgumentException for targets the model does not have
     * @throws io.blocksim.StoreIncompatibleException when {@code out} holds another store and
     *     {@code replace} is false
     * @throws io.blocksim.ModelException when the model cannot be loaded or run
     * @throws io.blocksim.DeviceException when the requested device fails
     * @throws io.blocksim.FileAccessException when a file cannot be read or written
     */
    ExtractionRequest.Summary extract(ExtractionRequest request, ExtractionRequest.Listener listener);
}
