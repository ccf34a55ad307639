package io.blocksim.search;

import io.blocksim.BlocksimException;
import io.blocksim.ClosedException;
import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchBackendProvider;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * Chooses a search backend by name from the {@link SearchBackendProvider}s on the class path,
 * saying which and why, and routes each request the chosen backend does not
 * {@link SearchBackend#supports support} to the CPU backend, naming both in the result.
 *
 * <p>Thread safety: every method may be called from any thread; the providers are loaded once
 * (two threads racing on the first call may both load them, and one list wins).
 */
public final class Backends {
    private static volatile List<SearchBackendProvider> installed;

    private Backends() {
    }

    /**
     * A backend (already routed) and the one line that says why it was chosen. Immutable; the
     * backend is thread-safe as every {@link SearchBackend} is, so one choice may serve many threads.
     */
    public record Choice(SearchBackend backend, String reason) {
    }

    /** The providers found with {@link ServiceLoader}, highest priority first; loaded once. */
    public static List<SearchBackendProvider> installed() {
        List<SearchBackendProvider> p = installed;
        if (p == null) {
            List<SearchBackendProvider> found = new ArrayList<>();
            ServiceLoader.load(SearchBackendProvider.class, Backends.class.getClassLoader()).forEach(found::add);
            if (found.stream().noneMatch(x -> x.name().equals("cpu"))) {
                found.add(new CpuBackendProvider());  // a shaded or repackaged jar may lose the service file
            }
            found.sort(Comparator.comparingInt(SearchBackendProvider::priority).reversed());
            installed = p = List.copyOf(found);
        }
        return p;
    }

    /** As {@link #open(String, List)} over the {@link #installed()} providers. */
    public static Choice open(String device) {
        return open(device, installed());
    }

    /**
     * "auto" (or null): the usable provider of highest priority that starts, else the CPU, with
     * every skipped provider's reason. A provider's name or alias ("cpu", "cuda", "gpu"): that one,
     * or an {@link InvalidArgumentException} that says why it is unavailable.
     *
     * @throws InvalidArgumentException for an unknown or unavailable backend
     * @throws DeviceException when a requested backend is available but fails to start
     */
    public static Choice open(String device, List<SearchBackendProvider> providers) {
        String d = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
        if (d.equals("auto")) {
            List<String> skipped = new ArrayList<>();
            for (SearchBackendProvider p : providers) {
                if (p.name().equals("cpu")) {
                    continue;
                }
                SearchBackendProvider.Availability a = p.probe();
                if (!a.usable()) {
                    skipped.add(p.name() + " unavailable: " + a.reason());
                    continue;
                }
                try {
                    SearchBackend b = p.open();
                    return new Choice(routed(b), p.name() + " (auto: " + a.reason() + ")");
                } catch (BlocksimException | LinkageError e) {
                    skipped.add("the " + p.name() + " backend did not start: " + oneLine(e));
                }
            }
            if (providers.stream().noneMatch(p -> !p.name().equals("cpu"))) {
                skipped.add("no GPU search backend on the class path");
            }
            return new Choice(new CpuSearchBackend(), "cpu (auto: " + String.join("; ", skipped) + ")");
        }
        for (SearchBackendProvider p : providers) {
            if (p.name().equals(d) || p.aliases().contains(d)) {
                if (d.equals("cpu")) {
                    return new Choice(new CpuSearchBackend(), "cpu (requested)");
                }
                SearchBackendProvider.Availability a = p.probe();
                if (!a.usable()) {
                    throw new InvalidArgumentException("the " + p.name() + " backend is unavailable: " + a.reason()
                            + "; choose cpu or auto");
                }
                return new Choice(routed(p.open()), p.name() + " (requested: " + a.reason() + ")");
            }
        }
        List<String> names = new ArrayList<>(List.of("auto"));
        providers.forEach(p -> names.add(p.name()));
        if (d.equals("cuda") || d.equals("gpu")) {
            throw new InvalidArgumentException("the cuda backend is not on the class path (add blocksim-cuda): choose "
                    + String.join(" or ", names));
        }
        throw new InvalidArgumentException("unknown search backend '" + device + "': choose " + String.join(", ", names));
    }

    /**
     * {@code primary}, except that a request it does not {@link SearchBackend#supports support} runs
     * on a CPU backend (made on first need, closed with the result); every result names the backend
     * that ran it, with a note when the request was handed over. A CPU backend is returned as it is.
     *
     * <p>The routed backend is as thread-safe as {@code primary}: it adds only the CPU backend, made
     * once under a lock. Closing it closes both; afterwards every search throws a
     * {@link io.blocksim.ClosedException}, whichever backend it would have gone to (a search already
     * running on either ends as that backend's contract says).
     */
    public static SearchBackend routed(SearchBackend primary) {
        return primary instanceof CpuSearchBackend || primary instanceof Routed ? primary : new Routed(primary, true);
    }

    /**
     * As {@link #routed(SearchBackend)} for a backend that belongs to the caller: closing the
     * result closes only the CPU backend it may have made, never {@code primary}.
     */
    public static SearchBackend routedBorrowed(SearchBackend primary) {
        return new Routed(primary, false);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return (m == null ? e.getClass().getSimpleName() : m).lines().findFirst().orElse("");
    }

    private static final class Routed implements SearchBackend {
        private final SearchBackend primary;
        private final boolean ownsPrimary;
        private CpuSearchBackend cpu;  // guarded by this
        private volatile boolean closed;  // set under this

        Routed(SearchBackend primary, boolean ownsPrimary) {
            this.primary = primary;
            this.ownsPrimary = ownsPrimary;
        }

        @Override
        public String name() {
            return primary.name();
        }

        @Override
        public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
            return search(data, queries, k, metric, ScanMode.AUTO);
        }

        @Override
        public boolean supportsCodes() {
            return true;  // through the CPU backend when the primary has no code scan
        }

        @Override
        public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric, ScanMode scan) {
            if (closed) {
                throw new ClosedException("the " + primary.name() + " search backend is closed");
            }
            if (scan == ScanMode.CODES && !primary.supportsCodes()) {
                return cpu().search(data, queries, k, metric, scan).ranOn("cpu", primary.name()
                        + " has no compressed scan; the cpu backend ran it");
            }
            if (primary.supports(data.dim(), k, metric) || primary instanceof CpuSearchBackend) {
                SearchResult r = primary.search(data, queries, k, metric, scan);
                return r.backend() != null ? r : r.ranOn(primary.name(), null);
            }
            return cpu().search(data, queries, k, metric, scan).ranOn("cpu", primary.name()
                    + " does not run this request (dim " + data.dim() + ", k " + k + ", " + metric.cliName()
                    + "); the cpu backend ran it");
        }

        private synchronized CpuSearchBackend cpu() {
            if (closed) {  // never make a CPU backend that nobody will close
                throw new ClosedException("the " + primary.name() + " search backend is closed");
            }
            if (cpu == null) {
                cpu = new CpuSearchBackend();
            }
            return cpu;
        }

        @Override
        public void close() {
            CpuSearchBackend c;
            synchronized (this) {
                closed = true;
                c = cpu;
            }
            try {
                if (ownsPrimary) {
                    primary.close();
                }
            } finally {
                if (c != null) {
                    c.close();
                }
            }
        }

        @Override
        public String toString() {
            return primary.toString();
        }
    }
}
