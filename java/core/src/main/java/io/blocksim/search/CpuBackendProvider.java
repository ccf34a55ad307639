package io.blocksim.search;

import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchBackendProvider;

/** The CPU backend as a plug-in: always usable, lowest priority. */
public final class CpuBackendProvider implements SearchBackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability probe() {
        return Availability.yes(Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public SearchBackend open() {
        return new CpuSearchBackend();
    }
}
