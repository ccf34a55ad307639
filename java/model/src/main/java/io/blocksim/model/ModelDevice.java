package io.blocksim.model;

import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
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

    /**
     * The device named {@code name}: auto (also for null), cpu, cuda or gpu, in any case.
     *
     * @throws InvalidArgumentException for any other name
     */
    public static ModelDevice parse(String name) {
        return switch (name == null ? "auto" : name.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "cpu" -> CPU;
            case "cuda", "gpu" -> CUDA;
            default -> throw new InvalidArgumentException("unknown device '" + name + "': use auto, cpu or cuda");
        };
    }

    /** The decision: run on CUDA or not, and one line that says which and why. */
    public record Choice(boolean cuda, String reason) {
    }

    /**
     * Decides from the facts: whether this ONNX Runtime build lists the CUDA provider, and (when
     * it was tried) why creating a CUDA session failed, or null when it worked. {@code cuda} asked
     * for and not usable is refused, naming the cause; {@code auto} falls back to the CPU.
     *
     * @throws InvalidArgumentException for {@code cuda} when this ONNX Runtime build has no CUDA
     *     provider
     * @throws DeviceException for {@code cuda} when the CUDA provider is in the build but could not
     *     start
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
            String msg = "cannot run the model on CUDA: " + why + (providerInBuild ? "" : " (" + HOW + ")")
                    + "; or run it on the CPU";
            throw providerInBuild ? new DeviceException(msg) : new InvalidArgumentException(msg);
        }
        return new Choice(false, "cpu (auto: " + why + (providerInBuild ? ")" : "; 'mvn -Pcuda package' adds it)"));
    }

    /** Whether to try creating a CUDA session at all. */
    public boolean triesCuda(boolean providerInBuild) {
        return this != CPU && providerInBuild;
    }
}
