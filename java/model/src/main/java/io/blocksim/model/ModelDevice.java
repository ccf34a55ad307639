package io.blocksim.model;

import io.blocksim.UserError;
import java.util.Locale;

/**
 * Where ONNX Runtime runs the model: {@code cpu}, {@code cuda} (the CUDA execution provider, in a
 * build made with {@code mvn -Pcuda package}, which swaps in the onnxruntime_gpu jar) or
 * {@code auto} (CUDA when a session can be created on it, else the CPU, saying why).
 */
public enum ModelDevice {
    AUTO, CPU, CUDA;

    /** How to get the CUDA provider, for messages. */
    static final String HOW = "the CUDA provider comes with a build made by 'mvn -Pcuda package' on a machine with"
            + " an NVIDIA driver, CUDA 12 and cuDNN 9";

    public static ModelDevice parse(String name) {
        return switch (name == null ? "auto" : name.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "cpu" -> CPU;
            case "cuda", "gpu" -> CUDA;
            default -> throw UserError.usage("unknown device '" + name + "': use auto, cpu or cuda");
        };
    }

    /** The decision: run on CUDA or not, and one line that says which and why. */
    public record Choice(boolean cuda, String reason) {
    }

    /**
     * Decides from the facts: whether this ONNX Runtime build lists the CUDA provider, and (when
     * it was tried) why creating a CUDA session failed, or null when it worked. {@code cuda} asked
     * for and not usable is a usage error naming the cause; {@code auto} falls back to the CPU.
     */
    public Choice decide(boolean providerInBuild, String cudaFailure) {
        if (this == CPU) {
            return new Choice(false, "cpu (requested)");
        }
        String why = !providerInBuild ? "this ONNX Runtime build has no CUDA provider"
                : cudaFailure != null ? "the CUDA provider could not start: " + cudaFailure
                : null;
        if (why == null) {
            return new Choice(true, "cuda (" + (this == CUDA ? "requested" : "auto: CUDA provider started") + ")");
        }
        if (this == CUDA) {
            throw UserError.usage("--device cuda: " + why + (providerInBuild ? "" : " (" + HOW + ")") + "; or use --device cpu");
        }
        return new Choice(false, "cpu (auto: " + why + (providerInBuild ? ")" : "; 'mvn -Pcuda package' adds it)"));
    }

    /** Whether to try creating a CUDA session at all. */
    public boolean triesCuda(boolean providerInBuild) {
        return this != CPU && providerInBuild;
    }
}
