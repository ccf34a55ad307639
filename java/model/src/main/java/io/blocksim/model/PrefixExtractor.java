package io.blocksim.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.blocksim.InvalidArgumentException;
import io.blocksim.ModelException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The fast extractor: computes every distinct prefix once, position by position, with a key/value
 * cache. Because the model is causal, position t of a string depends only on its prefix of length
 * t+1; TinyShakespeare's 858,923 strings of length 10 have 3.15 M distinct prefixes against 8.59 M
 * token positions, so this does 2.7x less model work than running whole strings.
 *
 * <p>A unit's strings (already in lexicographic order, see {@link ExtractionPlan}) form a prefix
 * trie; it is cut into chunks whose cached keys/values fit {@link Options#cacheBytes()}, and each
 * chunk is computed level by level: all of its prefixes of length 1, then of length 2, ... in
 * batches of {@link Options#batchRows()}. A prefix's new position runs through the step graphs
 * written by tools/train/export_step.py (ONNX Runtime: embedding, LayerNorms, every matrix
 * product), with attention in Java ({@link Attention}) over the keys/values that its ancestor
 * prefixes left in the cache. Prefixes that straddle a chunk or unit boundary are computed on both
 * sides and delivered once, by the side that holds their first string.
 *
 * <p>Memory: the cache (at most {@code cacheBytes}, off-heap, 18 KB per cached prefix for this
 * model) plus batch buffers of a few MB; the heap holds only the chunk's trie (a few ints per
 * prefix). Not thread-safe: one unit at a time.
 *
 * <p>Measured on 2 cores (AMD EPYC, AVX-512): all 858,923 TinyShakespeare strings with the demo's
 * 13 targets in 3.5 minutes, about 320 GFLOP/s; the full model over whole strings needs about 10.
 */
public final class PrefixExtractor implements Extractor {

    /**
     * @param threads    cores to use
     * @param workers    batches computed at once, each on its own thread with its own buffers; the
     *                   step graphs get threads / workers intra-op threads each. On few cores, one
     *                   single-threaded batch per core beats one batch on all cores: no fork/join
     *                   in every small operator, and one worker's attention overlaps another's
     *                   matrix products.
     * @param batchRows  prefixes per step run (at most)
     * @param cacheBytes bound on the key/value cache; a chunk holds about cacheBytes / (18 KB * 2.7)
     *                   strings for this model and TinyShakespeare
     * @throws io.blocksim.InvalidArgumentException when a value is below 1
     */
    public record Options(int threads, int workers, int batchRows, long cacheBytes) {
        public Options {
            if (threads < 1 || workers < 1 || batchRows < 1 || cacheBytes < 1) {
                throw new InvalidArgumentException("extractor options must be positive: threads " + threads + ", workers " + workers
                        + ", batch rows " + batchRows + ", cache bytes " + cacheBytes);
            }
            workers = Math.min(workers, threads);
        }

        /** All cores, one worker per core, 1024-row batches, a 1 GiB cache. */
        public static Options defaults() {
            int cores = Runtime.getRuntime().availableProcessors();
            return new Options(cores, cores, 1024, 1L << 30);
        }

        /** {@code n} threads and as many workers. */
        public Options withThreads(int n) {
            return new Options(n, n, batchRows, cacheBytes);
        }

        public Options withWorkers(int n) {
            return new Options(threads, n, batchRows, cacheBytes);
        }

        public Options withBatchRows(int n) {
            return new Options(threads, workers, n, cacheBytes);
        }

        public Options withCacheBytes(long n) {
            return new Options(threads, workers, batchRows, n);
        }
    }

    private static final String META_BASE_SHA = "base_model_sha256";
    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    private final ModelSpec spec;
    private final Options options;
    private final OrtEnvironment env;
    private final OrtSession[] stages;
    private final Attention attention;
    private final int c;
    private final long entryBytes; // one prefix's cached keys/values for one block
    private final Worker[] workers;
    private final ExecutorService pool;      // runs workers 1.. (worker 0 runs on the caller)
    private final ExecutorService helpers;   // attention threads of a worker beyond its own
    private final Object sinkLock = new Object();
    private final Arena buffers = Arena.ofShared();
    private Arena cacheArena;
    private MemorySegment cache = MemorySegment.NULL;
    private ExtractionPlan checkedPlan;
    private long statPrefixes;

    /**
     * Counters since this extractor was opened: prefixes computed (model positions: the work),
     * and nanoseconds spent in ONNX Runtime, in Java attention and in the sink, summed over workers.
     */
    public record Stats(long prefixes, long ortNanos, long attentionNanos, long sinkNanos,
                        long ortCpuNanos, long attentionCpuNanos) {
    }

    public Stats stats() {
        long ort = 0;
        long att = 0;
        long snk = 0;
        long ortCpu = 0;
        long attCpu = 0;
        for (Worker w : workers) {
            ort += w.ortNanos;
            att += w.attentionNanos;
            snk += w.sinkNanos;
            ortCpu += w.ortCpuNanos;
            attCpu += w.attentionCpuNanos;
        }
        return new Stats(statPrefixes, ort, att, snk, ortCpu, attCpu);
    }

    private PrefixExtractor(ModelSpec spec, Options options, OrtEnvironment env, OrtSession[] stages) {
        this.spec = spec;
        this.options = options;
        this.env = env;
        this.stages = stages;
        this.c = spec.nEmbed();
        this.entryBytes = 2L * c * Float.BYTES;
        this.attention = new Attention(c, spec.nHead());
        int nw = options.workers();
        this.pool = nw > 1 ? Executors.newFixedThreadPool(nw - 1, daemon("blocksim-step")) : null;
        int extra = options.threads() / nw - 1;
        this.helpers = extra > 0 ? Executors.newFixedThreadPool(extra * nw, daemon("blocksim-attention")) : null;
        this.workers = new Worker[nw];
        for (int i = 0; i < nw; i++) {
            workers[i] = new Worker(extra + 1);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread th = new Thread(r, name);
            th.setDaemon(true);
            return th;
        };
    }

    /** The step graph of stage {@code stage} beside a model file: {@code <stem>.step<stage>.onnx}. */
    public static Path stagePath(Path modelFile, int stage) {
        String name = modelFile.getFileName().toString();
        String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - 5) : name;
        return modelFile.resolveSibling(stem + ".step" + stage + ".onnx");
    }

    /** Whether the step graphs of a model with {@code nLayer} blocks lie beside it. */
    public static boolean available(Path modelFile, int nLayer) {
        for (int s = 0; s <= nLayer; s++) {
            if (!Files.isRegularFile(stagePath(modelFile, s))) {
                return false;
            }
        }
        return true;
    }

    /** Opens the step graphs beside {@code model}'s file with {@link Options#defaults()}. */
    public static PrefixExtractor open(TransformerModel model) {
        return open(model, Options.defaults());
    }

    /**
     * Opens the step graphs beside {@code model}'s file. They must have been written for that very
     * file (its sha256 is in their metadata): re-exporting the model rewrites them.
     *
     * @throws ModelException when the step graphs are missing, were written for another model file,
     *     or ONNX Runtime cannot load them
     */
    public static PrefixExtractor open(TransformerModel model, Options options) {
        ModelSpec spec = model.spec();
        Path file = model.path();
        String regen = "run: python3 tools/train/export_step.py --model " + file;
        if (!available(file, spec.nLayer())) {
            throw new ModelException("the step graphs of " + file + " are missing (" + stagePath(file, 0).getFileName()
                    + " ...); " + regen);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession[] stages = new OrtSession[spec.nLayer() + 1];
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setIntraOpNumThreads(Math.max(1, options.threads() / options.workers()));
            opts.setInterOpNumThreads(1);
            // Seven sessions take turns with the Java attention threads: a pool that spins after its
            // run only steals the cores the next step needs.
            opts.addConfigEntry("session.intra_op.allow_spinning", System.getProperty("blocksim.ortSpin", "0"));
            opts.addCPU(true);
            for (int s = 0; s < stages.length; s++) {
                Path p = stagePath(file, s);
                // from the path, not bytes: the weights are external data inside the main model file
                stages[s] = env.createSession(p.toString(), opts);
                String base = stages[s].getMetadata().getCustomMetadata().get(META_BASE_SHA);
                if (!spec.modelSha256().equals(base)) {
                    throw new ModelException(p + " was written for another model file (sha256 " + base + ", this one is "
                            + spec.modelSha256() + "); " + regen);
                }
            }
            return new PrefixExtractor(spec, options, env, stages);
        } catch (OrtException e) {
            closeAll(stages);
            throw new ModelException("cannot load the step graphs of " + file + ": " + e.getMessage()
                    + "; " + regen, e);
        } catch (RuntimeException e) {
            closeAll(stages);
            throw e;
        }
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    public Options options() {
        return options;
    }

    @Override
    public String describe() {
        return "step engine (each distinct prefix once, key/value cache): " + options.workers() + " workers x "
                + Math.max(1, options.threads() / options.workers()) + " threads, batches of " + options.batchRows()
                + ", cache " + (options.cacheBytes() >> 20) + " MiB";
    }

    /**
     * {@inheritDoc} The sink is called from the worker threads, never concurrently (calls are
     * serialized), and the whole unit is delivered when this returns.
     *
     * @throws InvalidArgumentException when the plan does not fit the model (strings longer than
     *     its context, a block it does not have)
     * @throws ModelException when ONNX Runtime fails to run a step
     */
    @Override
    public void run(ExtractionPlan plan, int unit, VectorSink sink) {
        if (plan != checkedPlan) {
            plan.check(spec);
            checkedPlan = plan;
        }
        int end = plan.unitEnd(unit);
        for (int s = plan.unitStart(unit); s < end; ) {
            int e = chunkEnd(plan, s, end);
            runChunk(plan, s, e, sink);
            s = e;
        }
    }

    /** The longest run of sorted strings from {@code start} whose cached prefixes fit the cache. */
    private int chunkEnd(ExtractionPlan plan, int start, int end) {
        int deepest = plan.maxPosition();
        long perPrefix = entryBytes * spec.nLayer();
        long cached = (long) deepest * perPrefix; // the first string brings all its cached levels
        int i = start + 1;
        for (; i < end; i++) {
            int d = Math.min(plan.commonPrefix(i), plan.strings().length() - 1);
            long add = Math.max(0, deepest - d) * perPrefix;
            if (cached + add > options.cacheBytes()) {
                break;
            }
            cached += add;
        }
        return i;
    }

    /** The prefix trie of sorted strings [start, end), level t holding the distinct prefixes of length t+1. */
    private static final class Trie {
        final int[] size;
        final int[][] parent;   // index of the prefix one shorter, at level t-1
        final long[][] token;   // the prefix's last token
        final int[][] minRow;   // smallest string row having this prefix, among the chunk's strings

        Trie(ExtractionPlan plan, int start, int end) {
            int levels = plan.maxPosition() + 1;
            int len = plan.strings().length();
            byte[] tok = plan.strings().tokens();
            size = new int[levels];
            for (int i = start; i < end; i++) {
                for (int t = newFrom(plan, i, start, len); t < levels; t++) {
                    size[t]++;
                }
            }
            parent = new int[levels][];
            token = new long[levels][];
            minRow = new int[levels][];
            for (int t = 0; t < levels; t++) {
                parent[t] = new int[size[t]];
                token[t] = new long[size[t]];
                minRow[t] = new int[size[t]];
            }
            int[] next = new int[levels];
            for (int i = start; i < end; i++) {
                int row = plan.sortedRow(i);
                int d = newFrom(plan, i, start, len);
                for (int t = 0; t < Math.min(d, levels); t++) {
                    int k = next[t] - 1;
                    minRow[t][k] = Math.min(minRow[t][k], row);
                }
                for (int t = d; t < levels; t++) {
                    int k = next[t]++;
                    parent[t][k] = t == 0 ? -1 : next[t - 1] - 1;
                    token[t][k] = tok[row * len + t] & 0xff;
                    minRow[t][k] = row;
                }
            }
        }

        /**
         * First level at which sorted string i starts a new prefix: 0 at the chunk start, else its
         * common prefix with the previous string, capped at the last position so that (in a table
         * with repeats) every string keeps a node of its own there.
         */
        private static int newFrom(ExtractionPlan plan, int i, int start, int len) {
            return i == start ? 0 : Math.min(plan.commonPrefix(i), len - 1);
        }
    }

    private void runChunk(ExtractionPlan plan, int start, int end, VectorSink sink) {
        Trie trie = new Trie(plan, start, end);
        int deepest = plan.maxPosition();
        int nLayer = spec.nLayer();
        // cache layout: level t (t < deepest), then block b, then prefix: one [keys | values] entry
        long[][] base = new long[Math.max(deepest, 1)][nLayer];
        long total = 0;
        for (int t = 0; t < deepest; t++) {
            for (int b = 0; b < nLayer; b++) {
                base[t][b] = total;
                total += trie.size[t] * entryBytes;
            }
        }
        ensureCache(total);
        int nw = workers.length;
        for (int t = 0; t <= deepest; t++) {
            statPrefixes += trie.size[t];
            Level level = new Level(plan, t, t < deepest);
            // equal batches, a multiple of the workers in number, so that none waits long at the level's end
            int n = trie.size[t];
            if (n == 0) {
                continue;
            }
            int nb = (n + options.batchRows() - 1) / options.batchRows();
            if (n >= nw * 64) {
                nb = (nb + nw - 1) / nw * nw;
            }
            int batches = nb;
            int per = (n + batches - 1) / batches;
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            java.util.function.IntConsumer work = wi -> {
                for (int k; (k = next.getAndIncrement()) < batches; ) {
                    int from = k * per;
                    if (from < n) {
                        workers[wi].step(plan, trie, base, level, from, Math.min(per, n - from), sink);
                    }
                }
            };
            int active = Math.min(nw, batches);
            List<Future<?>> pending = new ArrayList<>(active);
            for (int wi = 1; wi < active; wi++) {
                int w = wi;
                pending.add(pool.submit(() -> work.accept(w)));
            }
            RuntimeException failure = null;
            try {
                work.accept(0);
            } catch (RuntimeException e) {
                failure = e;
                next.set(batches); // the others stop after their current batch
            }
            for (Future<?> f : pending) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause() instanceof RuntimeException r ? r
                                : new IllegalStateException("step failed: " + e.getCause(), e.getCause());
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** What one level computes and delivers. */
    private final class Level {
        final int t;
        final boolean cacheKv;
        final int lastStage;           // highest stage graph to run (stage s computes block s-1's tail and block s's qkv)
        final boolean[] attend;        // blocks whose attention runs
        final Map<String, int[]> deliver = new HashMap<>(); // output name -> targets

        Level(ExtractionPlan plan, int t, boolean cacheKv) {
            this.t = t;
            this.cacheKv = cacheKv;
            int n = spec.nLayer();
            // the keys/values of every block come from stages 0..n-1
            int last = cacheKv ? n - 1 : -1;
            attend = new boolean[n];
            Map<String, List<Integer>> by = new LinkedHashMap<>();
            for (int ti : plan.targetsAt(t)) {
                Target tg = plan.targets().get(ti);
                String name = tg.outputName(spec);
                by.computeIfAbsent(name, k -> new ArrayList<>()).add(ti);
                int block = producerBlock(name);
                if (name.endsWith(".heads_output")) {
                    attend[block] = true;
                    last = Math.max(last, block);
                } else {
                    last = Math.max(last, block + 1); // embedding: block -1, stage 0
                }
            }
            lastStage = last;
            for (int b = 0; b < n; b++) {
                attend[b] |= b + 1 <= lastStage;
            }
            by.forEach((k, v) -> deliver.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
        }
    }

    /** The block whose step produces output {@code name}; -1 for the embedding. */
    private static int producerBlock(String name) {
        if (name.equals("embedding")) {
            return -1;
        }
        return Integer.parseInt(name.substring("block".length(), name.indexOf('.')));
    }

    /** One batch at a time: its buffers, and the runs of the step graphs over them. */
    private final class Worker {
        final int attentionParts;
        final LongBuffer tokenIds;
        final LongBuffer positions;
        final FloatBuffer[] x = new FloatBuffer[2]; // block inputs/outputs, ping-pong
        final FloatBuffer qkv;
        final FloatBuffer heads;
        final FloatBuffer proj;
        final FloatBuffer ffwd;
        final MemorySegment compact;
        long ortNanos;
        long attentionNanos;
        long sinkNanos;
        long ortCpuNanos;       // of the worker's own thread: all of ONNX Runtime's work when it runs single-threaded
        long attentionCpuNanos; // likewise, the worker's own share of the attention

        Worker(int attentionParts) {
            this.attentionParts = attentionParts;
            int b = options.batchRows();
            tokenIds = buffers.allocate((long) b * Long.BYTES, 64).asByteBuffer().order(ByteOrder.nativeOrder()).asLongBuffer();
            positions = buffers.allocate((long) b * Long.BYTES, 64).asByteBuffer().order(ByteOrder.nativeOrder()).asLongBuffer();
            x[0] = floats(b * c);
            x[1] = floats(b * c);
            qkv = floats(b * 3 * c);
            heads = floats(b * c);
            proj = floats(b * c);
            ffwd = floats(b * c);
            compact = buffers.allocate((long) b * c * Float.BYTES, 64);
        }

        /** Prefixes [from, from+count) of level t. */
        void step(ExtractionPlan plan, Trie trie, long[][] base, Level level, int from, int count, VectorSink sink) {
            int t = level.t;
            int n = spec.nLayer();
            for (int r = 0; r < count; r++) {
                tokenIds.put(r, trie.token[t][from + r]);
                positions.put(r, t);
            }
            int[] anc = new int[count * t];
            for (int r = 0; r < count; r++) {
                int a = t == 0 ? -1 : trie.parent[t][from + r];
                for (int j = t - 1; j >= 0; j--) {
                    anc[r * t + j] = a;
                    a = trie.parent[j][a];
                }
            }
            Delivery out = level.deliver.isEmpty() ? null : new Delivery(plan, trie, level, from, count, sink);

            Map<String, FloatBuffer> outs = new LinkedHashMap<>();
            outs.put("embedding", x[0]);
            outs.put("qkv", qkv);
            runStage(0, Map.of("token", tokenIds, "position", positions), outs, count);
            if (out != null) {
                out.offer("embedding", x[0]);
            }
            long[] pastBase = new long[t];
            for (int b = 0; b < n && b <= level.lastStage; b++) {
                MemorySegment store = level.cacheKv ? cache : null;
                long storeBase = level.cacheKv ? base[t][b] : 0;
                if (level.attend[b]) {
                    for (int j = 0; j < t; j++) {
                        pastBase[j] = base[j][b];
                    }
                    attend(count, t, anc, pastBase, store, storeBase, from);
                    if (out != null) {
                        out.offer("block" + b + ".heads_output", heads);
                    }
                } else if (store != null) {
                    attention.storeOnly(seg(qkv), 0, count, store, storeBase, from);
                }
                if (b + 1 > level.lastStage) {
                    break;
                }
                String prefix = "block" + b + ".";
                FloatBuffer in = x[b % 2];
                FloatBuffer blockOut = x[(b + 1) % 2];
                outs.clear();
                outs.put(prefix + "block_output", blockOut);
                if (out != null && out.wants(prefix + "proj_output")) {
                    outs.put(prefix + "proj_output", proj);
                }
                if (out != null && out.wants(prefix + "ffwd_output")) {
                    outs.put(prefix + "ffwd_output", ffwd);
                }
                if (b + 1 < n) {
                    outs.put("qkv", qkv);
                }
                runStage(b + 1, Map.of("x", in, "heads", heads), outs, count);
                if (out != null) {
                    for (Map.Entry<String, FloatBuffer> e : outs.entrySet()) {
                        out.offer(e.getKey(), e.getValue());
                    }
                }
            }
        }

        /** Attention of the batch's rows, split over this worker's share of the threads. */
        private void attend(int count, int t, int[] anc, long[] pastBase, MemorySegment store, long storeBase, int storeFirst) {
            long t0 = System.nanoTime();
            long c0 = THREAD_CPU.getCurrentThreadCpuTime();
            MemorySegment q = seg(qkv);
            MemorySegment h = seg(heads);
            int parts = Math.min(attentionParts, Math.max(1, count / 16));
            List<Future<?>> pending = new ArrayList<>(parts);
            for (int p = 1; p < parts; p++) {
                int lo = (int) ((long) count * p / parts);
                int hi = (int) ((long) count * (p + 1) / parts);
                pending.add(helpers.submit(() -> attention.rows(q, h, lo, hi, t, anc, cache, pastBase, store, storeBase, storeFirst)));
            }
            attention.rows(q, h, 0, count / parts, t, anc, cache, pastBase, store, storeBase, storeFirst);
            for (Future<?> f : pending) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("attention failed: " + e.getCause(), e.getCause());
                }
            }
            attentionNanos += System.nanoTime() - t0;
            attentionCpuNanos += THREAD_CPU.getCurrentThreadCpuTime() - c0;
        }

        private void runStage(int stage, Map<String, ? extends java.nio.Buffer> inputs, Map<String, FloatBuffer> outputs, int count) {
            Map<String, OnnxTensor> in = new HashMap<>();
            Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, ? extends java.nio.Buffer> e : inputs.entrySet()) {
                    if (e.getValue() instanceof LongBuffer lb) {
                        in.put(e.getKey(), OnnxTensor.createTensor(env, lb.slice(0, count), new long[] {count}));
                    } else {
                        FloatBuffer fb = (FloatBuffer) e.getValue();
                        in.put(e.getKey(), OnnxTensor.createTensor(env, fb.slice(0, count * c), new long[] {count, c}));
                    }
                }
                for (Map.Entry<String, FloatBuffer> e : outputs.entrySet()) {
                    int width = e.getKey().equals("qkv") ? 3 * c : c;
                    pinned.put(e.getKey(), OnnxTensor.createTensor(env, e.getValue().slice(0, count * width), new long[] {count, width}));
                }
                long t0 = System.nanoTime();
                long c0 = THREAD_CPU.getCurrentThreadCpuTime();
                stages[stage].run(in, pinned).close();
                ortNanos += System.nanoTime() - t0;
                ortCpuNanos += THREAD_CPU.getCurrentThreadCpuTime() - c0;
            } catch (OrtException e) {
                throw new ModelException("ONNX Runtime step " + stage + " failed (" + count + " rows): " + e.getMessage(), e);
            } finally {
                in.values().forEach(OnnxTensor::close);
                pinned.values().forEach(OnnxTensor::close);
            }
        }

        /** Hands one level's outputs of a batch to the sink: only the prefixes this chunk owns. */
        private final class Delivery {
            final Level level;
            final VectorSink sink;
            final int count;
            final int[] rows;     // destination rows of the owned prefixes
            final int[] source;   // their batch rows; null when every row is owned
            final int owned;

            Delivery(ExtractionPlan plan, Trie trie, Level level, int from, int count, VectorSink sink) {
                this.level = level;
                this.sink = sink;
                this.count = count;
                int[] dest = new int[count];
                int k = 0;
                for (int r = 0; r < count; r++) {
                    dest[r] = plan.ownedRow(level.t, trie.minRow[level.t][from + r]);
                    if (dest[r] >= 0) {
                        k++;
                    }
                }
                owned = k;
                if (k == count) {
                    rows = dest;
                    source = null;
                } else {
                    rows = new int[k];
                    source = new int[k];
                    k = 0;
                    for (int r = 0; r < count; r++) {
                        if (dest[r] >= 0) {
                            rows[k] = dest[r];
                            source[k++] = r;
                        }
                    }
                }
            }

            boolean wants(String name) {
                return level.deliver.containsKey(name);
            }

            void offer(String name, FloatBuffer data) {
                int[] targets = level.deliver.get(name);
                if (targets == null || owned == 0) {
                    return;
                }
                long vec = (long) c * Float.BYTES;
                MemorySegment all = seg(data);
                MemorySegment v;
                if (source == null) {
                    v = all.asSlice(0, count * vec);
                } else {
                    for (int i = 0; i < owned; i++) {
                        MemorySegment.copy(all, source[i] * vec, compact, i * vec, vec);
                    }
                    v = compact.asSlice(0, owned * vec);
                }
                long t0 = System.nanoTime();
                synchronized (sinkLock) {
                    for (int target : targets) {
                        sink.accept(target, rows, owned, v);
                    }
                }
                sinkNanos += System.nanoTime() - t0;
            }
        }
    }

    private void ensureCache(long bytes) {
        if (cache.byteSize() >= bytes) {
            return;
        }
        if (cacheArena != null) {
            cacheArena.close();
        }
        cacheArena = Arena.ofShared();
        // grow in steps so that chunks of slowly rising size do not reallocate each time
        long size = Math.min(Math.max(bytes, cache.byteSize() + cache.byteSize() / 2), Math.max(bytes, options.cacheBytes()));
        cache = cacheArena.allocate(Math.max(size, 64), 64);
    }

    private FloatBuffer floats(int count) {
        return buffers.allocate((long) count * Float.BYTES, 64).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static MemorySegment seg(FloatBuffer b) {
        return MemorySegment.ofBuffer(b);
    }

    @Override
    public void close() {
        closeAll(stages);
        if (pool != null) {
            pool.shutdownNow();
        }
        if (helpers != null) {
            helpers.shutdownNow();
        }
        if (cacheArena != null) {
            cacheArena.close();
            cacheArena = null;
            cache = MemorySegment.NULL;
        }
        buffers.close();
    }

    private static void closeAll(OrtSession[] sessions) {
        for (OrtSession s : sessions) {
            if (s != null) {
                try {
                    s.close();
                } catch (OrtException e) {
                    // nothing left to do with a session that fails to close
                }
            }
        }
    }
}
