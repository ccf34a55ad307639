package io.blocksim.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.model.ExtractionPlan;
import io.blocksim.model.Extractor;
import io.blocksim.model.FullModelExtractor;
import io.blocksim.model.ModelDevice;
import io.blocksim.model.ModelSpec;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.Target;
import io.blocksim.model.TransformerModel;
import io.blocksim.model.VectorSink;
import io.blocksim.text.Corpus;
import io.blocksim.text.StringTable;
import io.blocksim.text.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Extraction throughput with the demo's targets (block_output, proj_output and ffwd_output of every block at the
 * last position, ffwd_output of the last block one position earlier) on the corpus's first strings:
 * the step engine ({@link PrefixExtractor}: each distinct prefix once, key/value cache) and the full
 * model over whole strings ({@link FullModelExtractor}), medians over repeats, and optionally
 * PyTorch eager on the same strings ({@code tools/bench/torch_extract.py}) in the same sitting.
 *
 * <p>"tokens" are the positions actually computed (the step engine computes fewer per string). The
 * sink reads one float of every vector: the vectors stay in the extractor's buffers, and a store
 * writer's copy costs about a memcpy of the output.
 */
public final class ExtractBench {
    private ExtractBench() {
    }

    /** What to run. {@code strings} / {@code fullStrings} of 0 mean every string. */
    public record Options(int strings, int fullStrings, List<String> engines, ModelDevice device,
            PrefixExtractor.Options extractor, int unit, ExtractionPlan.Order order, int repeats, Path dataset,
            Path model, boolean peers, String python, Path checkpoint) {
        public static Options defaults() {
            return new Options(50_000, 10_000, List.of("step", "full"), ModelDevice.CPU, PrefixExtractor.Options.defaults(),
                    ExtractionPlan.DEFAULT_UNIT_STRINGS, ExtractionPlan.Order.LEXICOGRAPHIC, 3, null, null, false,
                    "/usr/bin/python3", null);
        }
    }

    /** One engine's measurement: the median run, with min and max. */
    public record Result(String engine, String device, int strings, long tokens,
            @JsonProperty("median_s") double medianS, @JsonProperty("min_s") double minS,
            @JsonProperty("max_s") double maxS, int repeats,
            @JsonProperty("strings_per_s") double stringsPerS, @JsonProperty("tokens_per_s") double tokensPerS,
            @JsonProperty("gflop_per_s") double gflopPerS, @JsonProperty("cpu_s") double cpuS, String notes) {
    }

    /** The results and the setting they were measured in. */
    public record Report(String setting, int totalStrings, List<Result> results) {
        public String table() {
            StringBuilder sb = new StringBuilder(setting).append('\n');
            sb.append(String.format(Locale.ROOT, "%-8s %-5s %9s %11s %9s %10s %10s %8s %10s %8s%n", "engine", "dev",
                    "strings", "tokens", "median s", "strings/s", "tokens/s", "GFLOP/s", "all (min)", "vs torch"));
            double torch = results.stream().filter(r -> r.engine().equals("pytorch")).mapToDouble(Result::stringsPerS)
                    .findFirst().orElse(Double.NaN);
            for (Result r : results) {
                sb.append(String.format(Locale.ROOT, "%-8s %-5s %,9d %,11d %9.2f %,10.0f %,10.0f %8.1f %10.1f %8s%n",
                        r.engine(), r.device(), r.strings(), r.tokens(), r.medianS(), r.stringsPerS(), r.tokensPerS(),
                        r.gflopPerS(), totalStrings / r.stringsPerS() / 60,
                        Double.isNaN(torch) ? "" : String.format(Locale.ROOT, "%.1fx", r.stringsPerS() / torch)));
            }
            for (Result r : results) {
                sb.append("  ").append(r.engine()).append(": ").append(r.notes()).append('\n');
            }
            return sb.toString();
        }

        public String jsonLines() throws IOException {
            ObjectMapper m = new ObjectMapper();
            StringBuilder sb = new StringBuilder();
            for (Result r : results) {
                sb.append(m.writeValueAsString(r)).append('\n');
            }
            return sb.toString();
        }
    }

    /** CPU time of this process (all threads, ONNX Runtime's included). */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * Times each engine of {@code o} (and PyTorch when asked) on the same strings; progress goes to
     * {@code log}.
     *
     * @throws InvalidArgumentException for repeats below 1 or an unknown engine
     * @throws FileAccessException when the corpus or the PyTorch script cannot be read, or python
     *     cannot be started
     * @throws io.blocksim.ModelException when the model cannot be loaded or run
     * @throws BlocksimException (this class itself) when the PyTorch baseline fails
     */
    public static Report run(Options o, PrintStream log) {
        if (o.repeats() < 1) {
            throw new InvalidArgumentException("repeats must be at least 1");
        }
        for (String e : o.engines()) {
            if (!e.equals("step") && !e.equals("full")) {
                throw new InvalidArgumentException("unknown engine '" + e + "': use step, full or both (step,full)");
            }
        }
        Corpus corpus = Corpus.resolve(o.dataset());
        Path file = o.model() != null ? o.model() : TransformerModel.defaultModelPath();
        List<Result> results = new ArrayList<>();
        String setting;
        int total;
        try (TransformerModel model = TransformerModel.open(file, o.extractor().threads(), o.device())) {
            ModelSpec spec = model.spec();
            boolean cuda = model.deviceChoice().cuda();
            String dev = cuda ? "cuda" : "cpu";
            StringTable all = StringTable.uniqueSubstrings(new Tokenizer(spec.vocab()).encode(corpus.text()), 10);
            total = all.size();
            int len = all.length();
            List<Target> targets = StoreExtraction.demoTargets(spec.nLayer(), len);
            double flopPerToken = 2.0 * spec.nLayer() * 12.0 * spec.nEmbed() * spec.nEmbed();
            setting = String.format(Locale.ROOT, "extraction, %d cores, model %s on %s; demo targets (%d sites); %.2f MFLOP"
                            + " per token; %,d strings of length %d in the corpus", Runtime.getRuntime().availableProcessors(),
                    spec.version(), model.deviceChoice().reason(), targets.size(), flopPerToken / 1e6, all.size(), len);
            log.println("blocksim: " + setting);
            for (String engine : o.engines()) {
                boolean step = engine.equals("step");
                if (step && cuda) {
                    log.println("blocksim: skipping the step engine on CUDA (its attention runs in Java on the CPU)");
                    continue;
                }
                int n = Math.min(all.size(), step ? (o.strings() == 0 ? all.size() : o.strings())
                        : (o.fullStrings() == 0 ? all.size() : o.fullStrings()));
                results.add(measure(model, engine, dev, all, n, targets, o, flopPerToken, log));
            }
        }
        if (o.peers()) {
            int n = Math.min(total, o.fullStrings() == 0 ? total : o.fullStrings());
            results.add(torch(o, corpus, n, log));
        }
        return new Report(setting, total, results);
    }

    private static Result measure(TransformerModel model, String engine, String dev, StringTable all, int n,
            List<Target> targets, Options o, double flopPerToken, PrintStream log) {
        boolean step = engine.equals("step");
        ExtractionPlan plan = ExtractionPlan.of(all.head(n), targets, o.unit(), o.order());
        long stride = (long) model.spec().nEmbed() * Float.BYTES;
        float[] touch = new float[1];
        VectorSink sink = (target, rows, count, vectors) -> {
            for (int i = 0; i < count; i++) {
                touch[0] += vectors.get(ValueLayout.JAVA_FLOAT, i * stride);
            }
        };
        try (Extractor ex = step ? PrefixExtractor.open(model, o.extractor()) : new FullModelExtractor(model)) {
            // warm-up, not timed: the first strings
            ex.runAll(ExtractionPlan.of(all.head(Math.min(2000, all.size())), targets, 1 << 20), (t, r, c, v) -> { });
            double[] sec = new double[o.repeats()];
            double cpu = 0;
            long tokens = 0;
            String notes = ex.describe();
            for (int rep = 0; rep < o.repeats(); rep++) {
                PrefixExtractor.Stats s0 = step ? ((PrefixExtractor) ex).stats() : null;
                long t0 = System.nanoTime();
                long c0 = cpuNanos();
                ex.runAll(plan, sink);
                sec[rep] = (System.nanoTime() - t0) / 1e9;
                cpu += (cpuNanos() - c0) / 1e9;
                tokens = step ? ((PrefixExtractor) ex).stats().prefixes() - s0.prefixes()
                        : (long) n * (plan.maxPosition() + 1);
                log.printf(Locale.ROOT, "blocksim: %s run %d of %d: %,d strings in %.2f s%n", engine, rep + 1,
                        o.repeats(), n, sec[rep]);
            }
            double[] sorted = sec.clone();
            Arrays.sort(sorted);
            double med = sorted[sorted.length / 2];
            return new Result(engine, dev, n, tokens, med, sorted[0], sorted[sorted.length - 1], o.repeats(), n / med,
                    tokens / med, tokens * flopPerToken / med / 1e9, cpu / o.repeats(),
                    notes + String.format(Locale.ROOT, "; %.2f cores busy; checksum %.3f", cpu / o.repeats() / med, touch[0]));
        }
    }

    /** PyTorch eager on the same strings: tools/bench/torch_extract.py, one JSON line back. */
    private static Result torch(Options o, Corpus corpus, int n, PrintStream log) {
        Path script = projectPath("tools/bench/torch_extract.py");
        if (!Files.isRegularFile(script)) {
            throw new FileAccessException("PyTorch baseline script not found: " + script);
        }
        Path checkpoint = o.checkpoint() != null ? o.checkpoint() : projectPath("build/train/final.pt");
        List<String> cmd = new ArrayList<>(List.of(o.python(), script.toString(), "--data", corpus.source().toString(),
                "--strings", String.valueOf(n), "--repeats", String.valueOf(o.repeats()), "--threads",
                String.valueOf(o.extractor().threads()), "--json"));
        if (Files.isRegularFile(checkpoint)) {
            cmd.addAll(List.of("--checkpoint", checkpoint.toString()));
        }
        log.println("blocksim: running PyTorch eager on the same " + String.format(Locale.ROOT, "%,d", n) + " strings: "
                + String.join(" ", cmd));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            p.getOutputStream().close();
            Result r = null;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.strip().startsWith("{")) {
                        r = new ObjectMapper().readValue(line.strip(), Result.class);
                    }
                }
            }
            int code = p.waitFor();
            if (code != 0 || r == null) {
                throw new BlocksimException("the PyTorch baseline failed (exit " + code + "; its own message is above): "
                        + script.getFileName() + " needs " + o.python() + " with numpy and torch, nothing else (Debian:"
                        + " python3-numpy python3-torch)");
            }
            return r;
        } catch (IOException e) {
            throw new FileAccessException("cannot run " + o.python() + " for the PyTorch baseline: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlocksimException("interrupted while the PyTorch baseline ran", e);
        }
    }

    private static Path projectPath(String rel) {
        String root = System.getenv("BLOCKSIM_PROJECT_DIR");
        return Path.of(root != null ? root : ".").resolve(rel).toAbsolutePath().normalize();
    }
}
