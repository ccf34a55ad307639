package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchBackendProvider;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Provider discovery, "auto" ranking, refusals by kind, and routing of unsupported requests. */
class BackendsTest {
    /** A provider over the CPU backend whose availability, priority and supported k are set by the test. */
    private static final class Fake implements SearchBackendProvider {
        final String name;
        final int priority;
        final Availability availability;
        final int maxK;
        final boolean failOpen;
        final AtomicInteger searches = new AtomicInteger();

        Fake(String name, int priority, Availability a, int maxK, boolean failOpen) {
            this.name = name;
            this.priority = priority;
            this.availability = a;
            this.maxK = maxK;
            this.failOpen = failOpen;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public List<String> aliases() {
            return List.of(name + "-alias");
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public Availability probe() {
            return availability;
        }

        @Override
        public SearchBackend open() {
            if (failOpen) {
                throw new DeviceException("device lost");
            }
            CpuSearchBackend cpu = new CpuSearchBackend(1);
            return new SearchBackend() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public boolean supports(int dim, int k, Metric metric) {
                    return k <= maxK;
                }

                @Override
                public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
                    if (k > maxK) {
                        throw new AssertionError("routing must not send an unsupported request");
                    }
                    searches.incrementAndGet();
                    return cpu.search(data, queries, k, metric);
                }

                @Override
                public void close() {
                    cpu.close();
                }
            };
        }
    }

    @Test
    void installedProvidersIncludeTheCpu() {
        List<SearchBackendProvider> p = Backends.installed();
        assertTrue(p.stream().anyMatch(x -> x instanceof CpuBackendProvider), p.toString());
        for (int i = 1; i < p.size(); i++) {
            assertTrue(p.get(i - 1).priority() >= p.get(i).priority(), "highest priority first");
        }
    }

    @Test
    void autoTakesTheBestUsableAndSaysWhySkipped() {
        Fake off = new Fake("gpuish", 100, SearchBackendProvider.Availability.no("no driver"), 10, false);
        Fake broken = new Fake("broken", 90, SearchBackendProvider.Availability.yes("found"), 10, true);
        Fake ok = new Fake("accel", 50, SearchBackendProvider.Availability.yes("accel 1"), 10, false);
        List<SearchBackendProvider> all = List.of(off, broken, ok, new CpuBackendProvider());
        Backends.Choice c = Backends.open("auto", all);
        try (SearchBackend b = c.backend()) {
            assertEquals("accel", b.name());
            assertEquals("accel (auto: accel 1)", c.reason());
        }
        Backends.Choice cpu = Backends.open(null, List.of(off, new CpuBackendProvider()));
        try (SearchBackend b = cpu.backend()) {
            assertInstanceOf(CpuSearchBackend.class, b);
            assertEquals("cpu (auto: gpuish unavailable: no driver)", cpu.reason());
        }
        Backends.Choice none = Backends.open("AUTO", List.of(new CpuBackendProvider()));
        none.backend().close();
        assertEquals("cpu (auto: no GPU search backend on the class path)", none.reason());
    }

    @Test
    void namedBackendsAndRefusals() {
        Fake off = new Fake("gpuish", 100, SearchBackendProvider.Availability.no("no driver"), 10, false);
        Fake ok = new Fake("accel", 50, SearchBackendProvider.Availability.yes("accel 1"), 10, false);
        List<SearchBackendProvider> all = List.of(off, ok, new CpuBackendProvider());
        try (SearchBackend b = Backends.open("accel-alias", all).backend()) {
            assertEquals("accel", b.name());
        }
        assertEquals("cpu (requested)", Backends.open("cpu", all).reason());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Backends.open("gpuish", all));
        assertEquals("the gpuish backend is unavailable: no driver; choose cpu or auto", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> Backends.open("tpu", all));
        assertEquals("unknown search backend 'tpu': choose auto, gpuish, accel, cpu", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> Backends.open("cuda", List.of(new CpuBackendProvider())));
        assertTrue(e.getMessage().contains("not on the class path"), e.getMessage());
        assertThrows(DeviceException.class,
                () -> Backends.open("broken", List.of(new Fake("broken", 1, SearchBackendProvider.Availability.yes("x"), 1, true))));
    }

    @Test
    void unsupportedRequestsRunOnTheCpuAndSaySo() {
        Fake ok = new Fake("accel", 50, SearchBackendProvider.Availability.yes("accel 1"), 3, false);
        try (Arena arena = Arena.ofConfined()) {
            VectorSet data = TestVectors.oneShard(arena, TestVectors.gaussian(200, 16, 3));
            float[][] q = TestVectors.gaussian(2, 16, 4);
            SearchResult want = new CpuSearchBackend(1).search(data, q, 5, Metric.L2);
            try (SearchBackend b = Backends.open("accel", List.of(ok, new CpuBackendProvider())).backend()) {
                SearchResult small = b.search(data, q, 3, Metric.L2);
                assertEquals("accel", small.backend());
                assertNull(small.note());
                SearchResult big = b.search(data, q, 5, Metric.L2);
                assertEquals("cpu", big.backend());
                assertEquals("accel does not run this request (dim 16, k 5, l2); the cpu backend ran it", big.note());
                for (int i = 0; i < q.length; i++) {
                    assertEquals(List.of(box(want.rows()[i])), List.of(box(big.rows()[i])));
                }
            }
            assertEquals(1, ok.searches.get());
            assertFalse(new ArrayList<>(Backends.installed()).isEmpty());
        }
    }

    private static Integer[] box(int[] a) {
        Integer[] out = new Integer[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
