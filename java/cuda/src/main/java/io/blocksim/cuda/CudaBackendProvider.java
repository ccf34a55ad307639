package io.blocksim.cuda;

import io.blocksim.DeviceException;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchBackendProvider;
import java.util.List;

/**
 * The CUDA backend as a plug-in ("cuda", alias "gpu"): usable when {@link CudaProbe} finds a
 * driver, a device of compute capability 8.0 or newer and kernels that load; preferred over the
 * CPU under "auto".
 */
public final class CudaBackendProvider implements SearchBackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public List<String> aliases() {
        return List.of("gpu");
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Availability probe() {
        CudaProbe.Outcome o = CudaProbe.probe();
        boolean usable = o.verdict().usable() && o.device() != null;
        return new Availability(usable, o.verdict().reason());
    }

    @Override
    public SearchBackend open() {
        CudaProbe.Outcome o = CudaProbe.probe();
        if (o.device() == null) {
            throw new DeviceException("CUDA unavailable: " + o.verdict().reason());
        }
        try {
            return CudaSearchBackend.open(o.device());
        } catch (LinkageError e) {
            throw new DeviceException("the CUDA backend did not start: " + CudaErrors.oneLine(e), e);
        }
    }
}
