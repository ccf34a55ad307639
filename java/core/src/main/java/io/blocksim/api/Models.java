package io.blocksim.api;

import io.blocksim.ModelException;
import io.blocksim.spi.ModelProvider;
import io.blocksim.spi.PromptEncoder;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.ServiceLoader;

/**
 * The model behind prompts and extraction, when {@code blocksim-model} is on the class path.
 * Opening a model takes about a second (ONNX Runtime builds its session); keep it and share it.
 */
public final class Models {
    private static volatile ModelProvider provider;

    private Models() {
    }

    /**
     * Opens a model for prompts: {@code model} an ONNX file, or null for the shipped model.
     * Close it when done.
     *
     * @throws ModelException when {@code blocksim-model} is not on the class path, or the model
     *     cannot be found or loaded
     */
    public static PromptEncoder open(Path model) {
        return provider().open(model);
    }

    /** True when a model implementation ({@code blocksim-model}) is on the class path. */
    public static boolean available() {
        return find() != null;
    }

    static ModelProvider provider() {
        ModelProvider p = find();
        if (p == null) {
            throw new ModelException("prompts and extraction need the model: add blocksim-model to the"
                    + " class path, or give query vectors");
        }
        return p;
    }

    private static ModelProvider find() {
        ModelProvider p = provider;
        if (p == null) {
            Iterator<ModelProvider> it = ServiceLoader.load(ModelProvider.class, Models.class.getClassLoader()).iterator();
            if (it.hasNext()) {
                provider = p = it.next();
            }
        }
        return p;
    }
}
