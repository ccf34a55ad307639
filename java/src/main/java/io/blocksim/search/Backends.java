package io.blocksim.search;

import io.blocksim.UserError;
import java.util.Locale;

/** Chooses a search backend for a {@code --device} value, saying which and why. */
public final class Backends {
    private Backends() {
    }

    /** A backend and the one line that says why it was chosen. */
    public record Choice(SearchBackend backend, String reason) {
    }

    public static Choice open(String device) {
        String d = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
        return switch (d) {
            case "cpu" -> new Choice(new CpuSearchBackend(), "cpu (requested)");
            case "auto" -> new Choice(new CpuSearchBackend(), "cpu (auto: no CUDA search backend in this build)");
            case "cuda", "gpu" -> throw UserError.usage(
                    "--device cuda: this build has no CUDA search backend yet; use --device cpu or auto");
            default -> throw UserError.usage("unknown device '" + device + "': use auto, cpu or cuda");
        };
    }
}
