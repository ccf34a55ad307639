package io.blocksim.bench;

import io.blocksim.model.ExtractionPlan;
import io.blocksim.model.Extractor;
import io.blocksim.model.FullModelExtractor;
import io.blocksim.model.ModelSpec;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.Site;
import io.blocksim.model.Target;
import io.blocksim.model.TransformerModel;
import io.blocksim.model.VectorSink;
import io.blocksim.text.Corpus;
import io.blocksim.text.StringTable;
import io.blocksim.text.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Extraction throughput: the step engine ({@link PrefixExtractor}) against the full model over
 * whole strings ({@link FullModelExtractor}) on the first strings of the corpus, with the demo's
 * targets (proj_output and ffwd_output of every block at the last position, ffwd_output of the
 * last block one position earlier), and the time the whole string set would take at that rate.
 *
 * <pre>
 * java ... io.blocksim.bench.ExtractBench [--strings 100000] [--full-strings 20000] [--engines step,full]
 *     [--threads N] [--workers N] [--batch 1024] [--cache-mb 1024] [--unit 65536] [--order lex|first] [--dataset input.txt]
 * </pre>
 *
 * {@code --strings 0} runs every string. The sink reads one float of every vector (the vectors stay
 * in the extractor's buffers); a store writer's copy costs about as much as a memcpy of the output.
 */
public final class ExtractBench {
    private ExtractBench() {
    }

    /** CPU time of this process (all threads, ONNX Runtime's included): a yardstick that a busy machine disturbs less than wall time. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    public static void main(String[] args) {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int nStrings = Integer.parseInt(opt.getOrDefault("strings", "100000"));
        int nFull = Integer.parseInt(opt.getOrDefault("full-strings", "20000"));
        List<String> engines = List.of(opt.getOrDefault("engines", "step,full").split(","));
        PrefixExtractor.Options o = PrefixExtractor.Options.defaults();
        o = o.withThreads(Integer.parseInt(opt.getOrDefault("threads", String.valueOf(o.threads()))))
                .withWorkers(Integer.parseInt(opt.getOrDefault("workers", String.valueOf(o.threads()))))
                .withBatchRows(Integer.parseInt(opt.getOrDefault("batch", String.valueOf(o.batchRows()))))
                .withCacheBytes(Long.parseLong(opt.getOrDefault("cache-mb", String.valueOf(o.cacheBytes() >> 20))) << 20);
        int unit = Integer.parseInt(opt.getOrDefault("unit", String.valueOf(ExtractionPlan.DEFAULT_UNIT_STRINGS)));
        ExtractionPlan.Order order = opt.getOrDefault("order", "lex").startsWith("f")
                ? ExtractionPlan.Order.FIRST_OCCURRENCE : ExtractionPlan.Order.LEXICOGRAPHIC;

        Corpus corpus = Corpus.resolve(opt.containsKey("dataset") ? Path.of(opt.get("dataset")) : null);
        try (TransformerModel model = opt.containsKey("model") ? TransformerModel.open(Path.of(opt.get("model")), o.threads())
                : TransformerModel.open(TransformerModel.defaultModelPath(), o.threads())) {
            ModelSpec spec = model.spec();
            Tokenizer tok = new Tokenizer(spec.vocab());
            StringTable all = StringTable.uniqueSubstrings(tok.encode(corpus.text()), 10);
            int len = all.length();
            List<Target> targets = new ArrayList<>();
            for (int b = 0; b < spec.nLayer(); b++) {
                targets.add(new Target(Site.PROJ_OUTPUT, b, len - 1));
                targets.add(new Target(Site.FFWD_OUTPUT, b, len - 1));
            }
            targets.add(new Target(Site.FFWD_OUTPUT, spec.nLayer() - 1, len - 2));
            long allPrefixes = 0;
            for (int t = 0; t < len; t++) {
                allPrefixes += all.prefixes(t).rows();
            }
            double flopPerToken = 2.0 * spec.nLayer() * 12.0 * spec.nEmbed() * spec.nEmbed();
            System.out.printf(Locale.ROOT, "machine: %d cores; model %s; strings: %,d of length %d, %,d distinct prefixes;"
                            + " %.2f MFLOP per token; targets %s%n", Runtime.getRuntime().availableProcessors(),
                    spec.version(), all.size(), len, allPrefixes, flopPerToken / 1e6, targets);
            System.out.printf(Locale.ROOT, "%-6s %9s %11s %8s %10s %10s %8s %12s  %s%n", "engine", "strings", "tokens",
                    "seconds", "strings/s", "tokens/s", "GFLOP/s", "all strings", "notes");
            for (String engine : engines) {
                boolean step = engine.equals("step");
                int n = step ? (nStrings == 0 ? all.size() : nStrings) : (nFull == 0 ? all.size() : nFull);
                StringTable strings = all.head(n);
                long p0 = System.nanoTime();
                ExtractionPlan plan = ExtractionPlan.of(strings, targets, unit, order);
                double planSec = (System.nanoTime() - p0) / 1e9;
                long[] delivered = new long[1];
                float[] touch = new float[1];
                VectorSink sink = (target, rows, count, vectors) -> {
                    delivered[0] += count;
                    long stride = (long) spec.nEmbed() * Float.BYTES;
                    for (int i = 0; i < count; i++) {
                        touch[0] += vectors.get(ValueLayout.JAVA_FLOAT, i * stride);
                    }
                };
                try (Extractor ex = step ? PrefixExtractor.open(model, o) : new FullModelExtractor(model)) {
                    // warm-up: the first unit's first strings, not timed
                    ExtractionPlan warm = ExtractionPlan.of(all.head(Math.min(2000, all.size())), targets, 1 << 20);
                    ex.run(warm, 0, (t, r, c, v) -> { });
                    PrefixExtractor.Stats s0 = step ? ((PrefixExtractor) ex).stats() : null;
                    long t0 = System.nanoTime();
                    long cpu0 = cpuNanos();
                    for (int u = 0; u < plan.units(); u++) {
                        ex.run(plan, u, sink);
                    }
                    double sec = (System.nanoTime() - t0) / 1e9;
                    double cpuSec = (cpuNanos() - cpu0) / 1e9;
                    long tokens;
                    String notes;
                    double allSec;
                    if (step) {
                        PrefixExtractor.Stats s = ((PrefixExtractor) ex).stats();
                        tokens = s.prefixes() - s0.prefixes();
                        allSec = sec * allPrefixes / tokens;
                        notes = String.format(Locale.ROOT, "worker time: ORT %.1f s (CPU %.1f s), attention %.1f s (CPU %.1f s),"
                                        + " sink %.1f s; plan %.1f s; %s",
                                (s.ortNanos() - s0.ortNanos()) / 1e9, (s.ortCpuNanos() - s0.ortCpuNanos()) / 1e9,
                                (s.attentionNanos() - s0.attentionNanos()) / 1e9,
                                (s.attentionCpuNanos() - s0.attentionCpuNanos()) / 1e9,
                                (s.sinkNanos() - s0.sinkNanos()) / 1e9, planSec, ((PrefixExtractor) ex).describe());
                    } else {
                        tokens = (long) n * (plan.maxPosition() + 1);
                        allSec = sec * all.size() / n;
                        notes = "TransformerModel.runInto, " + (plan.maxPosition() + 1) + " positions per string";
                    }
                    System.out.printf(Locale.ROOT, "%-6s %,9d %,11d %8.1f %,10.0f %,10.0f %8.1f %10.1f m  %s%n", engine, n, tokens,
                            sec, n / sec, tokens / sec, tokens * flopPerToken / sec / 1e9, allSec / 60, notes);
                    System.out.printf(Locale.ROOT, "       vectors delivered: %,d (checksum %.3f); process CPU %.1f s = %.2f cores busy:"
                                    + " %,.0f tokens per CPU-second, %.1f GFLOP per CPU-second%n", delivered[0], touch[0], cpuSec,
                            cpuSec / sec, tokens / cpuSec, tokens * flopPerToken / cpuSec / 1e9);
                }
            }
        }
    }
}
