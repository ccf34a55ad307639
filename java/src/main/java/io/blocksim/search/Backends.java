package io.blocksim.search;

import io.blocksim.UserError;
import io.blocksim.cuda.CudaErrors;
import io.blocksim.cuda.CudaProbe;
import io.blocksim.cuda.CudaSearchBackend;

import java.util.Locale;
import java.util.function.Supplier;

/** Chooses a search backend for a {@code --device} value, saying which and why. */
public final class Backends {
    private Backends() {
    }

    /** A backend and the one line that says why it was chosen. */
    public record Choice(SearchBackend backend, String reason) {
    }

    /**
     * "cpu": the CPU backend. "auto": CUDA when the probe passes (and the backend starts), else the
     * CPU with the probe's reason. "cuda" (or "gpu"): CUDA, or a {@link UserError} with the reason.
     */
    public static Choice open(String device) {
        return open(device, CudaProbe::probe);
    }

    /** As {@link #open(String)} with the probe's outcome supplied (tests inject one). */
    public static Choice open(String device, Supplier<CudaProbe.Outcome> probe) {
        String d = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
        return switch (d) {
            case "cpu" -> new Choice(new CpuSearchBackend(), "cpu (requested)");
            case "auto" -> {
                CudaProbe.Outcome o = probe.get();
                if (!o.verdict().usable() || o.device() == null) {
                    yield new Choice(new CpuSearchBackend(), "cpu (auto: CUDA unavailable: " + o.verdict().reason() + ")");
                }
                try {
                    CudaSearchBackend cuda = CudaSearchBackend.open(o.device());
                    yield new Choice(cuda, "cuda (auto: " + cuda.describe() + ")");
                } catch (RuntimeException | LinkageError e) {
                    yield new Choice(new CpuSearchBackend(),
                            "cpu (auto: the CUDA backend did not start: " + CudaErrors.oneLine(e) + ")");
                }
            }
            case "cuda", "gpu" -> {
                CudaProbe.Outcome o = probe.get();
                if (!o.verdict().usable() || o.device() == null) {
                    throw UserError.usage("--device " + d + ": CUDA unavailable: " + o.verdict().reason()
                            + "; use --device cpu or auto");
                }
                CudaSearchBackend cuda = CudaSearchBackend.open(o.device());
                yield new Choice(cuda, "cuda (requested: " + cuda.describe() + ")");
            }
            default -> throw UserError.usage("unknown device '" + device + "': use auto, cpu or cuda");
        };
    }
}
