package io.blocksim.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.Metric;
import io.blocksim.ScanMode;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * {@code blocksim bench search}: times search backends on one data set, next to the memory floor (a
 * parallel pass that reads every byte of the same data) and, when asked, next to torch and faiss
 * ({@code tools/bench/peers.py}, run as a subprocess on synthetic data of the same shape).
 */
public final class SearchBench {
    private SearchBench() {
    }

    /**
     * What to measure. Either synthetic data ({@code rows x dim}, uniform in [-1, 1), from
     * {@code seed}) or a given {@code data} set described by {@code label}.
     *
     * @throws InvalidArgumentException for rows, dim, a query count, repeats or threads below 1, k
     *     outside 1..rows, no metric or negative warmups
     */
    public record Options(int rows, int dim, long seed, VectorSet data, String label, List<Integer> queries, int k,
            List<Metric> metrics, int repeats, int warmups, int threads, boolean peers, String python,
            Path peersScript) {
        public static final int DEFAULT_ROWS = 858_923;
        public static final int DEFAULT_DIM = 384;

        public Options {
            queries = List.copyOf(queries);
            metrics = List.copyOf(metrics);
            if (data != null) {
                rows = data.rows();
                dim = data.dim();
            }
            if (rows < 1 || dim < 1) {
                throw new InvalidArgumentException("rows and dim must be at least 1");
            }
            if (queries.isEmpty() || queries.stream().anyMatch(q -> q < 1)) {
                throw new InvalidArgumentException("query counts must be at least 1");
            }
            if (k < 1 || k > rows) {
                throw new InvalidArgumentException("k must be between 1 and " + rows + ", got " + k);
            }
            if (metrics.isEmpty()) {
                throw new InvalidArgumentException("give at least one metric");
            }
            if (repeats < 1 || warmups < 0) {
                throw new InvalidArgumentException("repeats must be at least 1 and warmups at least 0");
            }
            if (threads < 1) {
                throw new InvalidArgumentException("threads must be at least 1");
            }
        }

        /** 858,923 x 384 synthetic rows, Q = 1, 2, 8, 64, 512, k = 10, both metrics, 5 repeats after 2 warmups. */
        public static Options defaults() {
            return new Options(DEFAULT_ROWS, DEFAULT_DIM, 42, null, null, List.of(1, 2, 8, 64, 512), 10,
                    List.of(Metric.COSINE, Metric.L2), 5, 2, Runtime.getRuntime().availableProcessors(), false,
                    "/usr/bin/python3", null);
        }

        public Options withSynthetic(int rows, int dim, long seed) {
            return new Options(rows, dim, seed, null, null, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withData(VectorSet data, String label) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withQueries(List<Integer> queries) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withK(int k) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withMetrics(List<Metric> metrics) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withRepeats(int repeats, int warmups) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        public Options withThreads(int threads) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, peersScript);
        }

        /** Also run torch and faiss through {@code python} and {@code script} (null: tools/bench/peers.py). */
        public Options withPeers(boolean peers, String python, Path script) {
            return new Options(rows, dim, seed, data, label, queries, k, metrics, repeats, warmups, threads, peers,
                    python, script);
        }

        String describe() {
            return (data != null ? (label == null ? "given data" : label) : "synthetic seed " + seed) + ", "
                    + String.format(Locale.ROOT, "%,d x %d float32 (%.2f GB)", rows, dim, bytes(rows, dim) / 1e9);
        }
    }

    /** One measured configuration; the JSON field names are the bench's published schema. */
    /**
     * One measured configuration; the JSON field names are the bench's published schema. {@code scan}
     * is what the search read ("float32", or "codes" for the compressed scan; null for peers);
     * {@code rescoredMedian} and {@code rescoredMax} are the rows the compressed scan re-scored per
     * query (median and max over the queries; null for a float32 scan) and {@code codeBytes} the
     * bytes of the codes it read (codes and scales).
     */
    @JsonPropertyOrder({"backend", "metric", "q", "k", "rows", "dim", "median_ms", "min_ms", "max_ms", "floor_ms", "scan",
        "rescored_median", "rescored_max", "code_bytes"})
    public record Result(
            @JsonProperty("backend") String backend,
            @JsonProperty("metric") String metric,
            @JsonProperty("q") int q,
            @JsonProperty("k") int k,
            @JsonProperty("rows") long rows,
            @JsonProperty("dim") int dim,
            @JsonProperty("median_ms") double medianMs,
            @JsonProperty("min_ms") double minMs,
            @JsonProperty("max_ms") double maxMs,
            @JsonProperty("floor_ms") Double floorMs,
            @JsonProperty("scan") String scan,
            @JsonProperty("rescored_median") Integer rescoredMedian,
            @JsonProperty("rescored_max") Integer rescoredMax,
            @JsonProperty("code_bytes") Long codeBytes) {

        /** Bytes of vector data per millisecond of the median, in GB/s. */
        public double gbPerSecond() {
            return bytes(rows, dim) / (medianMs * 1e6);
        }

        Result withFloor(double floor) {
            return new Result(backend, metric, q, k, rows, dim, medianMs, minMs, maxMs, floor, scan, rescoredMedian,
                    rescoredMax, codeBytes);
        }

        Result withScan(String scan, int[] rescored, Long codeBytes) {
            Integer med = null;
            Integer max = null;
            if (rescored != null && rescored.length > 0) {
                int[] s = rescored.clone();
                Arrays.sort(s);
                med = s[(s.length - 1) / 2];
                max = s[s.length - 1];
            }
            return new Result(backend, metric, q, k, rows, dim, medianMs, minMs, maxMs, floorMs, scan, med, max,
                    "codes".equals(scan) ? codeBytes : null);
        }
    }

    /** All results of one run. */
    public record Report(String data, long rows, int dim, int threads, double floorMs, List<Result> results) {
        private static final ObjectMapper JSON = new ObjectMapper();

        /** One JSON object per line, in the {@link Result} schema. */
        public String jsonLines() {
            StringBuilder b = new StringBuilder();
            for (Result r : results) {
                try {
                    b.append(JSON.writeValueAsString(r)).append('\n');
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
            return b.toString();
        }

        /** A fixed-width table: one row per result, GB/s of vector data and the ratio to the floor. */
        public String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "data: %s; %d threads%n", data, threads));
            b.append(String.format(Locale.ROOT, "memory floor (one parallel read of every byte): %.1f ms = %.1f GB/s"
                    + " (median of the run; each cpu row is compared with the floor passes run beside it)%n",
                    floorMs, bytes(rows, dim) / (floorMs * 1e6)));
            b.append(String.format(Locale.ROOT, "%-8s %-7s %-7s %5s %5s %10s %10s %10s %9s %8s %8s %15s%n", "backend",
                    "scan", "metric", "q", "k", "median_ms", "min_ms", "max_ms", "floor_ms", "GB/s", "x floor",
                    "rescored med/max"));
            for (Result r : results) {
                double floor = r.floorMs() != null ? r.floorMs() : floorMs;
                String rescored = r.rescoredMedian() == null ? "-" : r.rescoredMedian() + "/" + r.rescoredMax();
                b.append(String.format(Locale.ROOT, "%-8s %-7s %-7s %5d %5d %10.1f %10.1f %10.1f %9.1f %8.1f %8.2f %15s%n",
                        r.backend(), r.scan() == null ? "-" : r.scan(), r.metric(), r.q(), r.k(), r.medianMs(), r.minMs(),
                        r.maxMs(), floor, r.gbPerSecond(), r.medianMs() / floor, rescored));
            }
            return b.toString();
        }
    }

    /** Measures the CPU backend (and the peers when asked). */
    public static Report run(Options o, PrintStream progress) {
        try (CpuSearchBackend cpu = new CpuSearchBackend(o.threads())) {
            return run(o, List.of(cpu), progress);
        }
    }

    /** Measures each backend for every (metric, q) of {@code o} with the auto scan; {@code progress} may be null. */
    public static Report run(Options o, List<? extends SearchBackend> backends, PrintStream progress) {
        return run(o, backends, List.of(ScanMode.AUTO), progress);
    }

    /**
     * Measures each backend for every (metric, q, scan) of {@code o} and {@code scans}, the scans of
     * one (metric, q) side by side; {@code progress} may be null.
     */
    public static Report run(Options o, List<? extends SearchBackend> backends, List<ScanMode> scans,
            PrintStream progress) {
        try (Arena arena = Arena.ofShared(); MemoryFloor floor = new MemoryFloor(o.threads())) {
            if (o.data() == null) {
                say(progress, "generating " + o.describe());
            }
            VectorSet data = o.data() != null ? o.data() : SyntheticVectors.create(arena, o.rows(), o.dim(), o.seed());
            List<Double> floorSamples = new ArrayList<>();
            for (int i = 0; i < o.warmups() + o.repeats(); i++) {
                double ms = time(() -> floor.pass(data));
                if (i >= o.warmups()) {
                    floorSamples.add(ms);
                }
            }
            say(progress, String.format(Locale.ROOT, "memory floor %.1f ms", median(floorSamples)));
            List<Result> results = new ArrayList<>();
            if (o.warmups() > 0) {
                warmUp(o, backends, scans, data, progress);
            }
            for (SearchBackend backend : backends) {
                for (Metric metric : o.metrics()) {
                    for (int q : o.queries()) {
                      for (ScanMode scan : scans) {
                        float[][] queries = SyntheticVectors.queries(q, o.dim(), o.seed() + 1000L * q);
                        double[] ms = new double[o.repeats()];
                        List<Double> floors = new ArrayList<>();
                        SearchResult[] last = new SearchResult[1];
                        for (int i = 0; i < o.warmups() + o.repeats(); i++) {
                            // a floor pass right before each timed search: the machine may be shared,
                            // and the ratio means most when both ran under the same conditions
                            double f = time(() -> floor.pass(data));
                            double t = time(() -> last[0] = backend.search(data, queries, o.k(), metric, scan));
                            if (i >= o.warmups()) {
                                ms[i - o.warmups()] = t;
                                floors.add(f);
                            }
                        }
                        floorSamples.addAll(floors);
                        Result r = result(backend.name(), metric.cliName(), q, o.k(), o.rows(), o.dim(), ms)
                                .withFloor(median(floors)).withScan(last[0].scanOrFloat32(), last[0].rescored(),
                                        codeBytes(data));
                        results.add(r);
                        say(progress, String.format(Locale.ROOT, "%s %s %s q=%d: median %.1f ms (floor %.1f ms)%s",
                                r.backend(), r.scan(), r.metric(), q, r.medianMs(), r.floorMs(), r.rescoredMedian() == null
                                ? "" : ", rescored " + r.rescoredMedian() + "/" + r.rescoredMax()));
                      }
                    }
                }
            }
            double floorMs = median(floorSamples);
            if (o.peers()) {
                results.addAll(runPeers(o, progress));
            }
            // peers ran elsewhere: they are compared with the floor of the whole run
            List<Result> withFloor = results.stream().map(r -> r.floorMs() != null ? r : r.withFloor(floorMs))
                    .collect(Collectors.toList());
            return new Report(o.describe(), o.rows(), o.dim(), o.threads(), floorMs, withFloor);
        }
    }

    /**
     * Gets every kernel shape compiled before anything is timed (skipped when {@code warmups} is 0):
     * each backend searches a slice of the data (about 64 MB) for each metric and each query count
     * until about a second has passed. Otherwise the first configurations measured would include
     * the JIT's work.
     */
    private static void warmUp(Options o, List<? extends SearchBackend> backends, List<ScanMode> scans, VectorSet data,
            PrintStream progress) {
        VectorShard first = data.shards().get(0);
        int rows = (int) Math.min(first.rows(), Math.max(1, (64L << 20) / ((long) data.dim() * Float.BYTES)));
        VectorSet slice = new VectorSet(data.dim(), List.of(new VectorShard(first.vectors(), first.norms(), 0, rows,
                first.codes())));
        int k = Math.min(o.k(), rows);
        say(progress, "warming up on " + rows + " rows");
        for (SearchBackend backend : backends) {
            for (Metric metric : o.metrics()) {
                for (int q : o.queries()) {
                    float[][] queries = SyntheticVectors.queries(q, o.dim(), 7);
                    long end = System.nanoTime() + 1_000_000_000L;
                    for (int i = 0; i < 3 || System.nanoTime() < end; i++) {
                        backend.search(slice, queries, k, metric, scans.get(i % scans.size()));
                    }
                }
            }
        }
    }

    /**
     * Runs {@code tools/bench/peers.py} (torch and faiss on synthetic data of the same shape) and
     * parses its JSON lines; the script's stderr (its progress) is passed through to ours.
     *
     * @throws FileAccessException when the script is missing or python cannot be started
     * @throws BlocksimException (this class itself) when the script fails
     */
    public static List<Result> runPeers(Options o, PrintStream progress) {
        Path script = o.peersScript() != null ? o.peersScript() : defaultPeersScript();
        if (!Files.isRegularFile(script)) {
            throw new FileAccessException("peers script not found: " + script);
        }
        List<String> cmd = new ArrayList<>(List.of(o.python(), script.toString(),
                "--rows", Integer.toString(o.rows()), "--dim", Integer.toString(o.dim()),
                "--queries", o.queries().stream().map(String::valueOf).collect(Collectors.joining(",")),
                "--k", Integer.toString(o.k()),
                "--metrics", o.metrics().stream().map(Metric::cliName).collect(Collectors.joining(",")),
                "--repeats", Integer.toString(o.repeats()), "--warmups", Integer.toString(o.warmups()),
                "--threads", Integer.toString(o.threads()), "--seed", Long.toString(o.seed())));
        say(progress, "running peers: " + String.join(" ", cmd));
        ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        List<Result> out = new ArrayList<>();
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            p.getOutputStream().close();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    String t = line.strip();
                    if (t.startsWith("{")) {
                        out.add(json.readValue(t, Result.class));  // the script reports progress on stderr
                    } else if (!t.isEmpty()) {
                        say(progress, "peers: " + t);
                    }
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                throw new BlocksimException("peers script failed with exit code " + rc + ": " + String.join(" ", cmd));
            }
        } catch (IOException e) {
            throw new FileAccessException("cannot run the peers script (" + String.join(" ", cmd) + "): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running the peers script", e);
        }
        return out;
    }

    /** tools/bench/peers.py under $BLOCKSIM_PROJECT_DIR, else under the working directory. */
    public static Path defaultPeersScript() {
        String root = System.getenv("BLOCKSIM_PROJECT_DIR");
        return Path.of(root != null ? root : ".").resolve("tools/bench/peers.py").toAbsolutePath().normalize();
    }

    static Result result(String backend, String metric, int q, int k, long rows, int dim, double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        return new Result(backend, metric, q, k, rows, dim, median(s), s[0], s[s.length - 1], null, null, null, null, null);
    }

    /** Bytes of the codes and scales of {@code data} (0 when it has none). */
    static long codeBytes(VectorSet data) {
        long n = 0;
        for (VectorShard s : data.shards()) {
            if (s.codes() != null) {
                n += (long) s.rows() * data.dim() + (long) s.rows() * 2 * Float.BYTES;
            }
        }
        return n;
    }

    static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).sorted().toArray());
    }

    /** Median of sorted values. */
    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static double bytes(long rows, int dim) {
        return (double) rows * dim * Float.BYTES;
    }

    private static void say(PrintStream progress, String line) {
        if (progress != null) {
            progress.println(line);
            progress.flush();
        }
    }
}
