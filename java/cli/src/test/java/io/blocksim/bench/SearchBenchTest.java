package io.blocksim.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench's plumbing on tiny data (no timing is asserted). */
class SearchBenchTest {
    private static final List<String> FIELDS = List.of("backend", "metric", "q", "k", "rows", "dim", "median_ms",
            "min_ms", "max_ms", "floor_ms", "scan", "rescored_median", "rescored_max", "code_bytes");

    private static SearchBench.Options tiny() {
        return SearchBench.Options.defaults().withSynthetic(1500, 40, 3).withQueries(List.of(1, 17)).withK(5)
                .withRepeats(2, 0).withThreads(2);
    }

    @Test
    void reportsOneRecordPerBackendMetricAndQueryCount() throws IOException {
        SearchBench.Report r = SearchBench.run(tiny(), null);
        assertEquals(4, r.results().size());
        ObjectMapper json = new ObjectMapper();
        List<String> lines = r.jsonLines().lines().toList();
        assertEquals(4, lines.size());
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            List<String> names = new ArrayList<>();
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            assertEquals(FIELDS, names, line);
            assertEquals("cpu", n.get("backend").asText());
            assertEquals(1500, n.get("rows").asInt());
            assertEquals(40, n.get("dim").asInt());
            assertEquals(5, n.get("k").asInt());
            assertTrue(n.get("min_ms").asDouble() <= n.get("median_ms").asDouble());
            assertTrue(n.get("median_ms").asDouble() <= n.get("max_ms").asDouble());
            assertTrue(n.get("floor_ms").asDouble() > 0);
        }
        String table = r.table();
        assertTrue(table.contains("memory floor"), table);
        assertTrue(table.contains("cosine"), table);
        assertTrue(table.contains("l2"), table);
    }

    /** A stand-in peers script: its records are parsed and given the Java run's floor. */
    @Test
    void mergesPeerRecords(@TempDir Path dir) throws IOException {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs /usr/bin/python3");
        Path script = dir.resolve("peers.py");
        Files.writeString(script, """
                import json, sys
                a = sys.argv
                print("starting", file=sys.stderr)
                rows = int(a[a.index("--rows") + 1]); dim = int(a[a.index("--dim") + 1])
                for q in a[a.index("--queries") + 1].split(","):
                    print(json.dumps({"backend": "torch", "metric": "l2", "q": int(q), "k": 5, "rows": rows,
                                      "dim": dim, "median_ms": 2.0, "min_ms": 1.0, "max_ms": 3.0, "floor_ms": None}))
                """);
        SearchBench.Options o = tiny().withMetrics(List.of(Metric.L2)).withPeers(true, python.toString(), script);
        SearchBench.Report r = SearchBench.run(o, null);
        List<SearchBench.Result> torch = r.results().stream().filter(x -> x.backend().equals("torch")).toList();
        assertEquals(2, torch.size());
        assertEquals(17, torch.get(1).q());
        assertEquals(2.0, torch.get(0).medianMs());
        assertNotNull(torch.get(0).floorMs());
        assertEquals(r.floorMs(), torch.get(0).floorMs());
        assertTrue(r.table().contains("torch"));
    }

    /** Issue 16: with --scan codes,float32 on a store with codes, both rows per (metric, q), side by side. */
    @Test
    void scansRunSideBySideOnAStoreWithCodes(@TempDir Path dir) throws Exception {
        Path st = io.blocksim.cli.CliTestAccess.imported(dir);
        try (io.blocksim.store.Store s = io.blocksim.store.Store.open(st);
                io.blocksim.search.CpuSearchBackend cpu = new io.blocksim.search.CpuSearchBackend(2)) {
            SearchBench.Options o = tiny().withData(s.vectors("vectors", 0, 0), "imported").withQueries(List.of(2))
                    .withMetrics(List.of(Metric.COSINE));
            SearchBench.Report r = SearchBench.run(o, List.of(cpu), List.of(io.blocksim.ScanMode.CODES,
                    io.blocksim.ScanMode.FLOAT32), null);
            assertEquals(2, r.results().size());
            SearchBench.Result codes = r.results().get(0);
            SearchBench.Result floats = r.results().get(1);
            assertEquals("codes", codes.scan());
            assertTrue(codes.rescoredMedian() >= 5 && codes.rescoredMax() >= codes.rescoredMedian());
            assertEquals(50L * 8 + 50L * 8, codes.codeBytes());
            assertEquals("float32", floats.scan());
            assertNull(floats.rescoredMedian());
            assertNull(floats.codeBytes());
            assertTrue(r.table().contains(" codes ") && r.table().contains("rescored med/max"), r.table());
        }
    }

    @Test
    void peerRecordsParseWithANullFloor() throws IOException {
        SearchBench.Result res = new ObjectMapper().readValue("{\"backend\":\"faiss\",\"metric\":\"cosine\",\"q\":8,"
                + "\"k\":10,\"rows\":5,\"dim\":4,\"median_ms\":1.5,\"min_ms\":1,\"max_ms\":2,\"floor_ms\":null}",
                SearchBench.Result.class);
        assertEquals("faiss", res.backend());
        assertEquals(8, res.q());
        assertNull(res.floorMs());
    }

    @Test
    void rejectsBadOptions() {
        assertThrows(InvalidArgumentException.class, () -> tiny().withK(0));
        assertThrows(InvalidArgumentException.class, () -> tiny().withK(1501));
        assertThrows(InvalidArgumentException.class, () -> tiny().withQueries(List.of()));
        assertThrows(InvalidArgumentException.class, () -> tiny().withQueries(List.of(0)));
        assertThrows(InvalidArgumentException.class, () -> tiny().withRepeats(0, 1));
        assertThrows(InvalidArgumentException.class, () -> tiny().withMetrics(List.of()));
        FileAccessException missing = assertThrows(FileAccessException.class,
                () -> SearchBench.runPeers(tiny().withPeers(true, "/usr/bin/python3", Path.of("/nonexistent/peers.py")), null));
        assertTrue(missing.getMessage().contains("peers script not found"));
    }

    @Test
    void syntheticDataIsDeterministicAndInRange() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            var a = SyntheticVectors.create(arena, 1001, 7, 9);
            var b = SyntheticVectors.create(arena, 1001, 7, 9);
            var sa = a.shards().get(0).vectors();
            var sb = b.shards().get(0).vectors();
            for (long i = 0; i < 1001L * 7; i++) {
                float x = sa.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                assertEquals(x, sb.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i));
                assertTrue(x >= -1f && x < 1f, "value " + x);
            }
            assertNotNull(a.shards().get(0).norms());
        }
    }
}
