package io.blocksim.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.SimilarStrings;
import io.blocksim.api.StoreEntry;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.store.Npy;

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
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code blocksim bench similars}: times the similar-strings job ({@link SimilarStrings}, the library
 * call, on the CPU backend, in the job's own query batches) per entry and over all entries, next to
 * the machine's float32 GEMM rate ({@link GemmRate}, the kernels' tile in cache) and, when asked, two
 * torch baselines on the same store and the same sampled strings in the same sitting
 * ({@code tools/bench/similars_peers.py}): the seed's way (candidate batches of 10,000 rows,
 * {@code cdist} / {@code cosine_similarity}, {@code topk} per batch, merged across batches) and
 * {@code topk(Q @ X.T)} per tile of candidate rows. Baselines too slow for the whole sample run on
 * its first strings and are compared per query and entry.
 *
 * <p>FLOP are {@code 2 * queries * candidates * dim} per entry (the GEMM the job amounts to); the
 * embedding entry, computed from per-position tables rather than a GEMM, is reported with its
 * equivalent rate and no GEMM fraction.
 */
public final class SimilarsBench {
    /** Targets of the issue: share of the GEMM rate, and speed-ups over the two baselines. */
    public static final double TARGET_GEMM_FRACTION = 0.70;
    public static final double TARGET_VS_TILE = 5;
    public static final double TARGET_VS_SEED = 50;
    private static final double GIB = 1024.0 * 1024 * 1024;

    private SimilarsBench() {
    }

    /**
     * What to run. {@code blocks} null: every block of the store's model. {@code peerSamples} /
     * {@code seedCosineSamples}: strings for the torch tile baseline and the seed's L2, and for the
     * seed's cosine (its B x n x D intermediate makes it by far the slowest); capped at
     * {@code samples}.
     */
    public record Options(Path store, int samples, long seed, List<String> sites, int[] blocks, int k,
            List<Metric> metrics, int repeats, int warmups, int queryBatch, int threads, boolean peers,
            int peerSamples, int seedCosineSamples, String python, Path peersScript, long gemmMillis) {
        public Options {
            sites = List.copyOf(sites);
            metrics = List.copyOf(metrics);
            if (samples < 1) {
                throw new InvalidArgumentException("--samples must be at least 1");
            }
            if (repeats < 1 || warmups < 0) {
                throw new InvalidArgumentException("--repeats must be at least 1 and --warmups at least 0");
            }
            if (metrics.isEmpty()) {
                throw new InvalidArgumentException("give at least one metric");
            }
            if (threads < 1 || queryBatch < 1) {
                throw new InvalidArgumentException("--threads and --query-batch must be at least 1");
            }
            if (peerSamples < 1 || seedCosineSamples < 1) {
                throw new InvalidArgumentException("--peer-samples and --seed-cosine-samples must be at least 1");
            }
        }

        public static Options defaults(Path store) {
            return new Options(store, 20_000, 42, List.of("proj_output", "ffwd_output"), new int[] {0, 1, 2, 3, 4, 5}, 10,
                    List.of(Metric.L2, Metric.COSINE), 1, 1, SimilarStrings.DEFAULT_QUERY_BATCH,
                    Runtime.getRuntime().availableProcessors(), false, 512, 16, "/usr/bin/python3", null, 1000);
        }
    }

    /** The setting, once per run. */
    @JsonPropertyOrder({"record", "store", "strings", "entries", "samples", "sample_seed", "k", "query_batch", "threads",
        "cores", "cpu", "memory_bytes", "entries_bytes", "java", "notes"})
    public record Setting(
            @JsonProperty("record") String record,
            @JsonProperty("store") String store,
            @JsonProperty("strings") int strings,
            @JsonProperty("entries") int entries,
            @JsonProperty("samples") int samples,
            @JsonProperty("sample_seed") long sampleSeed,
            @JsonProperty("k") int k,
            @JsonProperty("query_batch") int queryBatch,
            @JsonProperty("threads") int threads,
            @JsonProperty("cores") int cores,
            @JsonProperty("cpu") String cpu,
            @JsonProperty("memory_bytes") long memoryBytes,
            @JsonProperty("entries_bytes") long entriesBytes,
            @JsonProperty("java") String java,
            @JsonProperty("notes") String notes) {
    }

    /** A GEMM rate: {@code java-tile} ({@link GemmRate}) or {@code torch-sgemm} (the tile baseline's shape). */
    @JsonPropertyOrder({"record", "source", "shape", "threads", "gflop_per_s", "rounds", "notes"})
    public record Gemm(
            @JsonProperty("record") String record,
            @JsonProperty("source") String source,
            @JsonProperty("shape") String shape,
            @JsonProperty("threads") int threads,
            @JsonProperty("gflop_per_s") double gflopPerS,
            @JsonProperty("rounds") double[] rounds,
            @JsonProperty("notes") String notes) {
    }

    /** One engine on one entry: medians over repeats. {@code gemm_fraction} is null for baselines and the embedding. */
    @JsonPropertyOrder({"record", "engine", "metric", "site", "block", "position", "samples", "candidates", "dim", "k",
        "repeats", "median_s", "min_s", "max_s", "ms_per_query", "gflop_per_s", "gemm_fraction", "batch_median_s",
        "cores_busy", "others_busy", "disk_read_bytes", "notes"})
    public record EntryResult(
            @JsonProperty("record") String record,
            @JsonProperty("engine") String engine,
            @JsonProperty("metric") String metric,
            @JsonProperty("site") String site,
            @JsonProperty("block") int block,
            @JsonProperty("position") Integer position,
            @JsonProperty("samples") int samples,
            @JsonProperty("candidates") long candidates,
            @JsonProperty("dim") int dim,
            @JsonProperty("k") int k,
            @JsonProperty("repeats") int repeats,
            @JsonProperty("median_s") double medianS,
            @JsonProperty("min_s") double minS,
            @JsonProperty("max_s") double maxS,
            @JsonProperty("ms_per_query") double msPerQuery,
            @JsonProperty("gflop_per_s") double gflopPerS,
            @JsonProperty("gemm_fraction") Double gemmFraction,
            @JsonProperty("batch_median_s") Double batchMedianS,
            @JsonProperty("cores_busy") Double coresBusy,
            @JsonProperty("others_busy") Double othersBusy,
            @JsonProperty("disk_read_bytes") Long diskReadBytes,
            @JsonProperty("notes") String notes) {
        String label() {
            return site + (position == null ? " all positions" : " b" + block + " t" + position);
        }

        double flop() {
            return 2.0 * samples * candidates * dim;
        }
    }

    /** One engine over all its entries of one metric (the sums of the entries' medians). */
    @JsonPropertyOrder({"record", "engine", "metric", "entries", "samples", "seconds", "ms_per_query", "gflop_per_s",
        "gemm_fraction", "disk_read_bytes"})
    public record Total(
            @JsonProperty("record") String record,
            @JsonProperty("engine") String engine,
            @JsonProperty("metric") String metric,
            @JsonProperty("entries") int entries,
            @JsonProperty("samples") int samples,
            @JsonProperty("seconds") double seconds,
            @JsonProperty("ms_per_query") double msPerQuery,
            @JsonProperty("gflop_per_s") double gflopPerS,
            @JsonProperty("gemm_fraction") Double gemmFraction,
            @JsonProperty("disk_read_bytes") Long diskReadBytes) {
    }

    /**
     * The job against one baseline or the GEMM rate, for one metric over the GEMM entries both ran:
     * {@code value} is the speed-up per query and entry (or the GEMM fraction), {@code overlap} the
     * mean share of a baseline's k ids that the job also returned for the same strings.
     */
    @JsonPropertyOrder({"record", "metric", "against", "blocksim_samples", "baseline_samples", "entries",
        "blocksim_ms_per_query", "baseline_ms_per_query", "value", "target", "met", "overlap"})
    public record Comparison(
            @JsonProperty("record") String record,
            @JsonProperty("metric") String metric,
            @JsonProperty("against") String against,
            @JsonProperty("blocksim_samples") int blocksimSamples,
            @JsonProperty("baseline_samples") Integer baselineSamples,
            @JsonProperty("entries") int entries,
            @JsonProperty("blocksim_ms_per_query") Double blocksimMsPerQuery,
            @JsonProperty("baseline_ms_per_query") Double baselineMsPerQuery,
            @JsonProperty("value") double value,
            @JsonProperty("target") double target,
            @JsonProperty("met") boolean met,
            @JsonProperty("overlap") Double overlap) {
    }

    /** Everything measured, in the order it is written. */
    public record Report(Setting setting, List<Gemm> gemm, List<EntryResult> entries, List<Total> totals,
            List<Comparison> comparisons) {
        private static final ObjectMapper JSON = new ObjectMapper();

        /** The reference rate: the best java-tile round of the run (the cores with nothing else running). */
        public double gemmRate() {
            return javaGemm(gemm);
        }

        /** One JSON object per line: the setting, the GEMM rates, the entries, the totals, the comparisons. */
        public String jsonLines() {
            StringBuilder b = new StringBuilder();
            List<Object> all = new ArrayList<>();
            all.add(setting);
            all.addAll(gemm);
            all.addAll(entries);
            all.addAll(totals);
            all.addAll(comparisons);
            for (Object o : all) {
                try {
                    b.append(JSON.writeValueAsString(o)).append('\n');
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
            return b.toString();
        }

        /** The setting, the GEMM rates, the job per entry, every engine's totals and the comparisons. */
        public String table() {
            StringBuilder b = new StringBuilder();
            Setting s = setting;
            b.append(String.format(Locale.ROOT, "similars job: %s; %,d strings; %d entries; %,d sampled strings (seed %d),"
                    + " k = %d, query batches of %d, cpu backend, %d threads%n", s.store(), s.strings(), s.entries(),
                    s.samples(), s.sampleSeed(), s.k(), s.queryBatch(), s.threads()));
            b.append(String.format(Locale.ROOT, "machine: %s, %d cores, %.1f GiB memory; the entries hold %.1f GiB%s; %s%n",
                    s.cpu(), s.cores(), s.memoryBytes() / GIB, s.entriesBytes() / GIB,
                    s.entriesBytes() > s.memoryBytes() * 0.6 ? " (not all of it stays in the page cache: disk GB below)" : "",
                    s.java()));
            for (Gemm g : gemm) {
                b.append(String.format(Locale.ROOT, "GEMM rate %-11s %s, %d threads: %.1f GFLOP/s (%s; best round %.1f)%n",
                        g.source(), g.shape(), g.threads(), g.gflopPerS(), g.notes(),
                        Arrays.stream(g.rounds()).max().orElse(Double.NaN)));
            }
            b.append(String.format(Locale.ROOT, "reference for x GEMM: %.1f GFLOP/s, the best java-tile round%n", gemmRate()));
            b.append(String.format(Locale.ROOT, "%-11s %-6s %-24s %8s %9s %9s %8s %7s %8s %7s %7s%n", "engine", "metric",
                    "entry", "samples", "median_s", "ms/query", "GFLOP/s", "x GEMM", "disk GB", "cores", "others"));
            List<EntryResult> sorted = new ArrayList<>(entries);
            sorted.sort(Comparator.comparing(EntryResult::metric).thenComparing(e -> !e.engine().equals("blocksim"))
                    .thenComparing(EntryResult::engine));
            for (EntryResult e : sorted) {
                b.append(String.format(Locale.ROOT, "%-11s %-6s %-24s %,8d %9.2f %9.3f %8.1f %7s %8s %7s %7s%n", e.engine(),
                        e.metric(), e.label(), e.samples(), e.medianS(), e.msPerQuery(), e.gflopPerS(),
                        e.gemmFraction() == null ? "" : String.format(Locale.ROOT, "%.2f", e.gemmFraction()),
                        e.diskReadBytes() == null ? "" : String.format(Locale.ROOT, "%.2f", e.diskReadBytes() / 1e9),
                        e.coresBusy() == null ? "" : String.format(Locale.ROOT, "%.2f", e.coresBusy()),
                        e.othersBusy() == null ? "" : String.format(Locale.ROOT, "%.2f", e.othersBusy())));
            }
            b.append("totals (sums of the entries' medians; ms per query and entry):\n");
            for (Total t : totals) {
                b.append(String.format(Locale.ROOT, "%-11s %-6s %-24s %,8d %9.2f %9.3f %8.1f %7s %8s%n", t.engine(),
                        t.metric(), "all " + t.entries() + " entries", t.samples(), t.seconds(), t.msPerQuery(),
                        t.gflopPerS(), t.gemmFraction() == null ? "" : String.format(Locale.ROOT, "%.2f", t.gemmFraction()),
                        t.diskReadBytes() == null ? "" : String.format(Locale.ROOT, "%.2f", t.diskReadBytes() / 1e9)));
            }
            if (!comparisons.isEmpty()) {
                b.append("against the targets (per query and entry, over the entries both ran; baselines on fewer"
                        + " strings where their samples say so):\n");
                for (Comparison c : comparisons) {
                    if (c.against().equals("gemm")) {
                        b.append(String.format(Locale.ROOT, "  %-6s job at %.2f of the GEMM rate (target %.2f): %s%n",
                                c.metric(), c.value(), c.target(), c.met() ? "met" : "missed"));
                    } else {
                        b.append(String.format(Locale.ROOT, "  %-6s %.1fx %s (%.3f vs %.3f ms per query; job on %,d strings,"
                                + " %s on %,d) (target %.0fx): %s%s%n", c.metric(), c.value(), c.against(),
                                c.blocksimMsPerQuery(), c.baselineMsPerQuery(), c.blocksimSamples(), c.against(),
                                c.baselineSamples(), c.target(), c.met() ? "met" : "missed",
                                c.overlap() == null ? "" : String.format(Locale.ROOT, "; same neighbours: %.3f", c.overlap())));
                    }
                }
            }
            Set<String> notes = new java.util.LinkedHashSet<>();
            for (EntryResult e : entries) {
                if (e.notes() != null && !e.engine().equals("blocksim")) {
                    notes.add(e.engine() + " " + e.metric() + ": " + e.notes());
                }
            }
            notes.forEach(n -> b.append("  ").append(n).append('\n'));
            b.append("  ").append(setting.notes()).append('\n');
            return b.toString();
        }
    }

    private static double javaGemm(List<Gemm> gemm) {
        // the best round: a round only runs slower when something else takes the cores, and the
        // lower the reference, the better the job would look
        return gemm.stream().filter(g -> g.source().equals("java-tile")).flatMapToDouble(g -> Arrays.stream(g.rounds()))
                .max().orElse(Double.NaN);
    }

    /**
     * Runs the bench: the GEMM rate, then per metric a warm-up batch and the timed job, the rate
     * again, and the baselines when asked. Progress goes to {@code log} (may be null).
     *
     * @throws InvalidArgumentException for options the job refuses (sites, blocks, k, samples)
     * @throws FileAccessException when the peers script or python cannot be run
     * @throws BlocksimException when a baseline fails
     */
    public static Report run(Options o, PrintStream log) {
        List<Gemm> gemm = new ArrayList<>();
        List<EntryResult> results = new ArrayList<>();
        Map<String, int[][]> jobRows = new HashMap<>();  // metric/entry -> the first peer samples' rows
        Setting setting;
        int[] sample;
        List<SimilarStrings.Entry> entries;
        Map<String, StoreEntry> stored = new HashMap<>();
        int dimOf0;
        try (BlocksimStore store = BlocksimStore.open(o.store()); CpuSearchBackend cpu = new CpuSearchBackend(o.threads())) {
            for (StoreEntry e : store.entries()) {
                stored.put(e.site() + "/" + e.block() + "/" + e.position(), e);
            }
            try (SimilarStrings probe = job(store, o, o.metrics().get(0), cpu, o.samples())) {
                sample = probe.sample();
                entries = probe.entries();
            }
            long bytes = 0;
            for (SimilarStrings.Entry e : entries) {
                bytes += (long) candidates(store, stored, e) * dim(store, stored, e) * Float.BYTES;
            }
            dimOf0 = dim(store, stored, entries.get(0));
            setting = new Setting("setting", o.store().toAbsolutePath().toString(), store.stringCount(), entries.size(),
                    sample.length, o.seed(), o.k(), o.queryBatch(), o.threads(), Runtime.getRuntime().availableProcessors(),
                    cpuModel(), memoryBytes(), bytes, "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
                    "FLOP = 2 x queries x candidates x dim per entry; x GEMM = the job's rate / the best java-tile round"
                            + " (the CPU kernels' 6-row x " + GemmRate.groupQueries() + "-query tile, rows in cache,"
                            + " all threads, nothing else; each round's rate is in the JSON); disk GB = bytes the process read from storage (/proc/self/io)"
                            + " while the entry ran; cores = the job's CPU time / wall time; others = other processes' CPU time / wall"
                            + " time (/proc/stat; above 0 when the machine was shared)");
            say(log, "blocksim: " + entries.size() + " entries, " + sample.length + " sampled strings; measuring the GEMM rate");
            gemm.add(gemm(o, dimOf0, "before the job"));
            for (Metric m : o.metrics()) {
                if (o.warmups() > 0) {
                    // untimed: one query batch of the first entry (the JIT compiles the kernels, its pages come in)
                    try (SimilarStrings w = warmJob(store, o, m, cpu, entries.get(0), sample)) {
                        for (int i = 0; i < o.warmups(); i++) {
                            w.run(b -> { });
                        }
                    }
                }
                results.addAll(timeJob(store, o, m, cpu, entries, stored, jobRows, log));
            }
            gemm.add(gemm(o, dimOf0, "after the job"));
        }
        double rate = javaGemm(gemm);
        List<EntryResult> withFraction = new ArrayList<>();
        for (EntryResult e : results) {
            boolean isGemm = e.position() != null;
            withFraction.add(new EntryResult(e.record(), e.engine(), e.metric(), e.site(), e.block(), e.position(),
                    e.samples(), e.candidates(), e.dim(), e.k(), e.repeats(), e.medianS(), e.minS(), e.maxS(),
                    e.msPerQuery(), e.gflopPerS(), isGemm ? e.gflopPerS() / rate : null, e.batchMedianS(), e.coresBusy(),
                    e.othersBusy(), e.diskReadBytes(), e.notes()));
        }
        Map<String, Double> overlaps = new HashMap<>();
        if (o.peers()) {
            List<SimilarStrings.Entry> peerEntries = entries.stream().filter(e -> e.position() != null).toList();
            if (peerEntries.size() < entries.size()) {
                say(log, "blocksim: the baselines skip the embedding entry (it is computed from the model's tables, not stored)");
            }
            if (!peerEntries.isEmpty()) {
                withFraction.addAll(runPeers(o, sample, peerEntries, gemm, jobRows, overlaps, log));
            }
        }
        List<Total> totals = totals(withFraction, rate);
        List<Comparison> comparisons = compare(withFraction, rate, overlaps);
        return new Report(setting, gemm, withFraction, totals, comparisons);
    }

    private static Gemm gemm(Options o, int dim, String when) {
        int rounds = 3;
        GemmRate.Rate r = GemmRate.measure(o.threads(), dim, rounds, o.gemmMillis());
        return new Gemm("gemm", "java-tile", String.format(Locale.ROOT, "%d rows x %d queries x %d dims, rows in cache",
                GemmRate.ROWS, r.queries(), r.dim()), r.threads(), r.gflopPerS(), r.rounds(),
                String.format(Locale.ROOT, "median of %d rounds of %.1f s, %s", rounds, o.gemmMillis() / 1e3, when));
    }

    private static SimilarStrings job(BlocksimStore store, Options o, Metric m, CpuSearchBackend cpu, int n) {
        SimilarStrings.Builder b = SimilarStrings.builder(store).sample(n, o.seed()).sites(o.sites()).positions(-1)
                .k(o.k()).metric(m).queryBatch(o.queryBatch()).backend(cpu);
        if (o.blocks() != null) {
            b.blocks(o.blocks());
        }
        return b.build();
    }

    private static SimilarStrings warmJob(BlocksimStore store, Options o, Metric m, CpuSearchBackend cpu,
            SimilarStrings.Entry first, int[] sample) {
        int n = Math.min(o.queryBatch(), sample.length);
        SimilarStrings.Builder b = SimilarStrings.builder(store).sample(Arrays.copyOf(sample, n)).sites(first.site())
                .k(o.k()).metric(m).queryBatch(o.queryBatch()).backend(cpu);
        if (first.position() != null) {
            b.blocks(first.block()).positions(first.position());
        }
        return b.build();
    }

    /** The job, {@code repeats} times; each entry timed from the job's own batches (their sink). */
    private static List<EntryResult> timeJob(BlocksimStore store, Options o, Metric m, CpuSearchBackend cpu,
            List<SimilarStrings.Entry> entries, Map<String, StoreEntry> stored, Map<String, int[][]> jobRows,
            PrintStream log) {
        int ne = entries.size();
        double[][] seconds = new double[ne][o.repeats()];
        double[] cpuSeconds = new double[ne];
        double[] systemSeconds = new double[ne];
        Long[] disk = new Long[ne];
        List<List<Double>> batchSeconds = new ArrayList<>();
        for (int i = 0; i < ne; i++) {
            batchSeconds.add(new ArrayList<>());
        }
        int keep = Math.min(o.peerSamples(), o.samples());
        for (int rep = 0; rep < o.repeats(); rep++) {
            boolean first = rep == 0;
            try (SimilarStrings job = job(store, o, m, cpu, o.samples())) {
                int n = job.sample().length;
                Map<SimilarStrings.Entry, Integer> index = new HashMap<>();
                for (int i = 0; i < ne; i++) {
                    index.put(job.entries().get(i), i);
                }
                long[] mark = {System.nanoTime(), cpuNanos(), first ? readBytes() : -1, systemBusyNanos()};
                long[] batchStart = {mark[0]};
                int[] r = {rep};
                say(log, String.format(Locale.ROOT, "blocksim: %s, run %d of %d: %d entries x %,d strings", m.cliName(),
                        rep + 1, o.repeats(), ne, n));
                job.run(batch -> {
                    long now = System.nanoTime();
                    int i = index.get(batch.entry());
                    batchSeconds.get(i).add((now - batchStart[0]) / 1e9);
                    if (first && batch.first() < keep) {
                        int[][] rows = jobRows.computeIfAbsent(m.cliName() + "/" + batch.entry(), x -> new int[keep][]);
                        for (int j = 0; j < batch.rows().length && batch.first() + j < keep; j++) {
                            rows[batch.first() + j] = batch.rows()[j].clone();
                        }
                    }
                    if (batch.first() + batch.strings().length == n) {  // the entry's last batch
                        long c = cpuNanos();
                        seconds[i][r[0]] = (now - mark[0]) / 1e9;
                        cpuSeconds[i] += (c - mark[1]) / 1e9;
                        long sys = systemBusyNanos();
                        systemSeconds[i] += sys < 0 || mark[3] < 0 ? Double.NaN : (sys - mark[3]) / 1e9;
                        if (first) {
                            long d = readBytes();
                            disk[i] = d < 0 || mark[2] < 0 ? null : d - mark[2];
                            mark[2] = d;
                        }
                        say(log, String.format(Locale.ROOT, "blocksim: %s %s: %,d strings in %.2f s (%.1f GFLOP/s)",
                                m.cliName(), batch.entry(), n, seconds[i][r[0]],
                                2.0 * n * candidates(store, stored, batch.entry()) * dim(store, stored, batch.entry())
                                        / seconds[i][r[0]] / 1e9));
                        mark[0] = System.nanoTime();
                        mark[1] = cpuNanos();
                        mark[3] = systemBusyNanos();
                    }
                    batchStart[0] = System.nanoTime();
                });
            }
        }
        List<EntryResult> out = new ArrayList<>();
        for (int i = 0; i < ne; i++) {
            SimilarStrings.Entry e = entries.get(i);
            double[] s = seconds[i].clone();
            Arrays.sort(s);
            double med = median(s);
            long cand = candidates(store, stored, e);
            int dim = dim(store, stored, e);
            double[] bs = batchSeconds.get(i).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double wall = Arrays.stream(seconds[i]).sum();
            out.add(new EntryResult("entry", "blocksim", m.cliName(), e.site(), e.block(), e.position(), o.samples(), cand,
                    dim, o.k(), o.repeats(), med, s[0], s[s.length - 1], med * 1e3 / o.samples(),
                    2.0 * o.samples() * cand * dim / med / 1e9, null, bs.length == 0 ? null : median(bs),
                    wall > 0 ? cpuSeconds[i] / wall : null,
                    wall > 0 && !Double.isNaN(systemSeconds[i]) ? Math.max(0, systemSeconds[i] - cpuSeconds[i]) / wall : null,
                    disk[i],
                    e.position() == null ? "the embedding: per-position tables, no GEMM; GFLOP/s is the equivalent"
                            : "SimilarStrings.run, cpu backend"));
        }
        return out;
    }

    private static List<Total> totals(List<EntryResult> results, double rate) {
        Map<String, List<EntryResult>> by = new LinkedHashMap<>();
        for (EntryResult e : results) {
            by.computeIfAbsent(e.engine() + "/" + e.metric() + "/" + (e.position() == null ? "emb" : "gemm"),
                    x -> new ArrayList<>()).add(e);
        }
        List<Total> out = new ArrayList<>();
        for (List<EntryResult> es : by.values()) {
            EntryResult f = es.get(0);
            double sec = es.stream().mapToDouble(EntryResult::medianS).sum();
            double flop = es.stream().mapToDouble(EntryResult::flop).sum();
            double perQuery = es.stream().mapToDouble(e -> e.medianS() / e.samples()).sum() * 1e3 / es.size();
            boolean gemm = f.position() != null;
            Long disk = es.stream().allMatch(e -> e.diskReadBytes() != null)
                    ? es.stream().mapToLong(EntryResult::diskReadBytes).sum() : null;
            int samples = es.stream().mapToInt(EntryResult::samples).min().orElse(0);
            out.add(new Total("total", f.engine() + (gemm ? "" : " (embedding)"), f.metric(), es.size(), samples, sec,
                    perQuery, flop / sec / 1e9, gemm && f.engine().equals("blocksim") ? flop / sec / 1e9 / rate : null, disk));
        }
        return out;
    }

    /** Per metric: the job's GEMM fraction, and its speed-up per query and entry over each baseline on their common entries. */
    private static List<Comparison> compare(List<EntryResult> results, double rate, Map<String, Double> overlaps) {
        List<Comparison> out = new ArrayList<>();
        List<String> metrics = results.stream().map(EntryResult::metric).distinct().toList();
        for (String m : metrics) {
            List<EntryResult> job = results.stream().filter(e -> e.engine().equals("blocksim") && e.metric().equals(m)
                    && e.position() != null).toList();
            if (job.isEmpty()) {
                continue;
            }
            double sec = job.stream().mapToDouble(EntryResult::medianS).sum();
            double flop = job.stream().mapToDouble(EntryResult::flop).sum();
            double fraction = flop / sec / 1e9 / rate;
            out.add(new Comparison("comparison", m, "gemm", job.get(0).samples(), null, job.size(), null, null, fraction,
                    TARGET_GEMM_FRACTION, fraction >= TARGET_GEMM_FRACTION, null));
            for (String base : List.of("torch-tile", "torch-seed")) {
                List<EntryResult> peer = results.stream().filter(e -> e.engine().equals(base) && e.metric().equals(m)).toList();
                if (peer.isEmpty()) {
                    continue;
                }
                Set<String> common = peer.stream().map(EntryResult::label).collect(Collectors.toCollection(HashSet::new));
                List<EntryResult> mine = job.stream().filter(e -> common.contains(e.label())).toList();
                double jobMs = mine.stream().mapToDouble(e -> e.medianS() / e.samples()).sum() * 1e3 / mine.size();
                double peerMs = peer.stream().mapToDouble(e -> e.medianS() / e.samples()).sum() * 1e3 / peer.size();
                double target = base.equals("torch-tile") ? TARGET_VS_TILE : TARGET_VS_SEED;
                out.add(new Comparison("comparison", m, base, job.get(0).samples(), peer.get(0).samples(), mine.size(),
                        jobMs, peerMs, peerMs / jobMs, target, peerMs / jobMs >= target, overlaps.get(base + "/" + m)));
            }
        }
        return out;
    }

    /**
     * Runs {@code tools/bench/similars_peers.py} on the same store and the first strings of the same
     * sample, then compares each baseline's ids with the job's for those strings.
     */
    private static List<EntryResult> runPeers(Options o, int[] sample, List<SimilarStrings.Entry> entries, List<Gemm> gemm,
            Map<String, int[][]> jobRows, Map<String, Double> overlaps, PrintStream log) {
        Path script = o.peersScript() != null ? o.peersScript() : projectPath("tools/bench/similars_peers.py");
        if (!Files.isRegularFile(script)) {
            throw new FileAccessException("similars peers script not found: " + script);
        }
        Path tmp;
        try {
            tmp = Files.createTempDirectory("blocksim-bench-similars");
        } catch (IOException e) {
            throw new FileAccessException("cannot make a temporary folder: " + e.getMessage(), e);
        }
        try {
            Path sampleFile = tmp.resolve("sample.npy");
            Npy.writeInts(sampleFile, sample);
            Path ids = tmp.resolve("ids");
            int peerSamples = Math.min(o.peerSamples(), sample.length);
            int seedCosine = Math.min(o.seedCosineSamples(), peerSamples);
            List<String> cmd = new ArrayList<>(List.of(o.python(), script.toString(), "--store", o.store().toString(),
                    "--entries", entries.stream().map(e -> e.site() + ":" + e.block() + ":" + e.position())
                            .collect(Collectors.joining(",")),
                    "--sample", sampleFile.toString(), "--samples", String.valueOf(peerSamples),
                    "--seed-cosine-samples", String.valueOf(seedCosine),
                    "--metrics", o.metrics().stream().map(Metric::cliName).collect(Collectors.joining(",")),
                    "--k", String.valueOf(o.k()), "--threads", String.valueOf(o.threads()),
                    "--query-batch", String.valueOf(o.queryBatch()), "--gemm", "--ids-out", ids.toString()));
            say(log, "blocksim: running the torch baselines: " + String.join(" ", cmd));
            ObjectMapper json = new ObjectMapper();
            List<EntryResult> out = new ArrayList<>();
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            p.getOutputStream().close();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    String t = line.strip();
                    if (!t.startsWith("{")) {
                        continue;
                    }
                    JsonNode n = json.readTree(t);
                    if (n.path("record").asText().equals("gemm")) {
                        List<Double> rs = new ArrayList<>();
                        n.path("samples").forEach(x -> rs.add(x.asDouble()));
                        gemm.add(new Gemm("gemm", n.path("source").asText(), String.format(Locale.ROOT, "%d x %d x %d",
                                n.path("m").asInt(), n.path("k").asInt(), n.path("n").asInt()), n.path("threads").asInt(),
                                n.path("gflop_per_s").asDouble(), rs.stream().mapToDouble(Double::doubleValue).toArray(),
                                n.path("notes").asText()));
                    } else if (n.path("record").asText().equals("peer")) {
                        int s = n.path("samples").asInt();
                        double med = n.path("median_s").asDouble();
                        long cand = n.path("candidates").asLong();
                        int dim = n.path("dim").asInt();
                        out.add(new EntryResult("entry", n.path("engine").asText(), n.path("metric").asText(),
                                n.path("site").asText(), n.path("block").asInt(), n.path("position").asInt(), s, cand, dim,
                                n.path("k").asInt(), n.path("repeats").asInt(), med, n.path("min_s").asDouble(),
                                n.path("max_s").asDouble(), med * 1e3 / s, 2.0 * s * cand * dim / med / 1e9, null, null,
                                null, null, n.path("disk_read_bytes").isNumber() ? n.path("disk_read_bytes").asLong() : null,
                                n.path("notes").asText()));
                    }
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                throw new BlocksimException("the torch baselines failed with exit code " + rc + " (their message is above): "
                        + script.getFileName() + " needs " + o.python() + " with numpy and torch (Debian: python3-numpy"
                        + " python3-torch)");
            }
            overlaps.putAll(overlaps(out, jobRows, ids));
            return out;
        } catch (IOException e) {
            throw new FileAccessException("cannot run the torch baselines (" + o.python() + " " + script + "): "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlocksimException("interrupted while the torch baselines ran", e);
        } finally {
            deleteTree(tmp);
        }
    }

    /** Per baseline and metric: the mean share of its k ids per string that the job also returned. */
    private static Map<String, Double> overlaps(List<EntryResult> peers, Map<String, int[][]> jobRows, Path ids) {
        Map<String, double[]> sums = new HashMap<>();
        for (EntryResult e : peers) {
            String engine = e.engine().replace("torch-", "");
            Path f = ids.resolve(engine + "-" + e.metric() + "-" + e.site() + "-b" + e.block() + "-t" + e.position() + ".npy");
            int[][] mine = jobRows.get(e.metric() + "/" + new SimilarStrings.Entry(e.site(), e.block(), e.position()));
            if (!Files.isRegularFile(f) || mine == null) {
                continue;
            }
            int[] theirs = Npy.map(f, Arena.ofAuto()).toIntArray();
            int k = e.k();
            double[] acc = sums.computeIfAbsent(e.engine() + "/" + e.metric(), x -> new double[2]);
            for (int q = 0; q < e.samples() && q < mine.length && mine[q] != null; q++) {
                Set<Integer> a = new HashSet<>();
                for (int r : mine[q]) {
                    a.add(r);
                }
                int same = 0;
                for (int j = 0; j < k; j++) {
                    same += a.contains(theirs[q * k + j]) ? 1 : 0;
                }
                acc[0] += (double) same / k;
                acc[1]++;
            }
        }
        Map<String, Double> out = new HashMap<>();
        sums.forEach((key, v) -> out.put(key, v[1] == 0 ? null : v[0] / v[1]));
        return out;
    }

    private static long candidates(BlocksimStore store, Map<String, StoreEntry> stored, SimilarStrings.Entry e) {
        if (e.position() == null) {
            return store.stringCount();
        }
        return stored.get(e.site() + "/" + e.block() + "/" + e.position()).rows();
    }

    private static int dim(BlocksimStore store, Map<String, StoreEntry> stored, SimilarStrings.Entry e) {
        if (e.position() == null) {
            // the concatenated embedding: L positions of the model's width (any stored entry has that width)
            int width = stored.values().stream().findFirst().map(StoreEntry::dim).orElse(0);
            return store.stringLength() * width;
        }
        return stored.get(e.site() + "/" + e.block() + "/" + e.position()).dim();
    }

    /** Bytes this process caused to be read from storage so far ({@code /proc/self/io}), or -1 where unknown. */
    static long readBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith("read_bytes:")) {
                    return Long.parseLong(line.substring("read_bytes:".length()).strip());
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** CPU time all processes spent busy so far ({@code /proc/stat}, at 100 ticks a second), or -1 where unknown. */
    static long systemBusyNanos() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                if (i != 4 && i != 5) {  // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy * 10_000_000L;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long memoryBytes() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture will do
        }
        return System.getProperty("os.arch");
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static Path projectPath(String rel) {
        String root = System.getenv("BLOCKSIM_PROJECT_DIR");
        return Path.of(root != null ? root : ".").resolve(rel).toAbsolutePath().normalize();
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // a temporary folder left behind is harmless
        }
    }

    private static void say(PrintStream log, String line) {
        if (log != null) {
            log.println(line);
            log.flush();
        }
    }
}
