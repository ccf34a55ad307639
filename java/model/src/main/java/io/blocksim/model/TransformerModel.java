package io.blocksim.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.ModelException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The character transformer, run by ONNX Runtime on the CPU. Every run takes token ids
 * [batch, seq] and returns the requested outputs ({@link ModelSpec#outputNames()}) as float32
 * [batch, seq, width], written by ONNX Runtime straight into direct buffers. Thread-safe: runs may
 * overlap (ONNX Runtime sessions allow concurrent runs).
 */
public final class TransformerModel implements AutoCloseable {
    /** Where the shipped model lies, relative to the project folder. */
    public static final String DEFAULT_MODEL = "artifacts/model/blocksim-shakespeare.onnx";
    /** The model's only input: int64 token ids [batch, seq]. */
    public static final String INPUT = "tokens";
    /** Tokens per run that {@link #lastPositionVectors} aims for: big enough to keep all cores busy. */
    private static final int TOKENS_PER_RUN = 1 << 15;

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelSpec spec;
    private final Set<String> outputNames;
    private final Path path;
    private final ModelDevice.Choice deviceChoice;

    private TransformerModel(OrtEnvironment env, OrtSession session, ModelSpec spec, Path path,
            ModelDevice.Choice deviceChoice) {
        this.deviceChoice = deviceChoice;
        this.env = env;
        this.session = session;
        this.spec = spec;
        this.outputNames = Set.copyOf(spec.outputNames());
        this.path = path;
    }

    /**
     * Opens the shipped model ({@link #defaultModelPath()}) with all cores.
     *
     * @throws ModelException when the model file cannot be found, read or loaded
     */
    public static TransformerModel openDefault() {
        return open(defaultModelPath());
    }

    /**
     * Opens a model file with all cores.
     *
     * @throws ModelException when the file cannot be read or is not a blocksim model
     */
    public static TransformerModel open(Path file) {
        return open(file, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Opens a model file on ONNX Runtime's CPU execution provider with {@code threads} intra-op
     * threads and every graph optimization (which also folds the float16-to-float32 weight casts).
     *
     * @throws InvalidArgumentException for fewer than 1 thread
     * @throws ModelException when the file cannot be read or is not a blocksim model
     */
    public static TransformerModel open(Path file, int threads) {
        return open(file, threads, ModelDevice.CPU);
    }

    /**
     * Opens a model file on {@code device}: the CPU provider as above, or ONNX Runtime's CUDA
     * provider (device 0) when asked for or, with {@code auto}, when a session can be created on
     * it; {@link #deviceChoice()} says which and why.
     *
     * @throws InvalidArgumentException for fewer than 1 thread, or {@code cuda} on an ONNX Runtime
     *     build without the CUDA provider
     * @throws DeviceException for {@code cuda} when the CUDA provider could not start
     * @throws ModelException when the file cannot be read or is not a blocksim model
     */
    public static TransformerModel open(Path file, int threads, ModelDevice device) {
        if (threads < 1) {
            throw new InvalidArgumentException("threads must be >= 1, got " + threads);
        }
        byte[] bytes;
        String stamp;
        try {
            String before = FileHashes.stamp(file);
            bytes = Files.readAllBytes(file);
            stamp = before.equals(FileHashes.stamp(file)) ? before : null;  // changed while read: hash these bytes
        } catch (IOException e) {
            throw new ModelException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
        // One read serves both the hash (for stores) and the session; the hash is remembered for the file's stamp.
        String sha = FileHashes.sha256(file, stamp, bytes);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        boolean inBuild = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        OrtSession session = null;
        String cudaFailure = null;
        if (device.triesCuda(inBuild)) {
            try (OrtSession.SessionOptions opts = options(threads)) {
                opts.addCUDA(0);
                session = env.createSession(bytes, opts);
            } catch (OrtException | RuntimeException | LinkageError e) {
                // no driver, no device, missing CUDA or cuDNN libraries: say so, never crash
                cudaFailure = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.getClass().getSimpleName());
                session = null;
            }
        }
        ModelDevice.Choice choice = device.decide(inBuild, cudaFailure);
        try (OrtSession.SessionOptions opts = options(threads)) {
            if (session == null) {
                opts.addCPU(true);
                session = env.createSession(bytes, opts);
            }
            ModelSpec spec = ModelSpec.fromMetadata(session.getMetadata().getCustomMetadata(), sha, file.toString());
            if (!session.getInputNames().equals(Set.of(INPUT))
                    || !session.getOutputNames().containsAll(spec.outputNames())) {
                throw new ModelException(file + " has inputs " + session.getInputNames() + " and outputs "
                        + session.getOutputNames() + ", not the blocksim model's " + INPUT + " -> " + spec.outputNames());
            }
            return new TransformerModel(env, session, spec, file, choice);
        } catch (OrtException e) {
            closeQuietly(session);
            throw new ModelException("cannot load model " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        opts.setIntraOpNumThreads(threads);
        opts.setInterOpNumThreads(1);
        return opts;
    }

    /** Where this model runs (CPU or CUDA) and why. */
    public ModelDevice.Choice deviceChoice() {
        return deviceChoice;
    }

    /**
     * The shipped model file: {@value #DEFAULT_MODEL} under the project folder, which is
     * {@code $BLOCKSIM_PROJECT_DIR}, else a parent folder of the jar (or classes folder) this class
     * was loaded from, else the working directory.
     *
     * @throws ModelException when the file is in none of these places
     */
    public static Path defaultModelPath() {
        List<String> tried = new ArrayList<>();
        String projectDir = System.getenv("BLOCKSIM_PROJECT_DIR");
        if (projectDir != null && !projectDir.isBlank()) {
            Path p = Path.of(projectDir).resolve(DEFAULT_MODEL);
            if (Files.isRegularFile(p)) {
                return p;
            }
            tried.add(p.toString());
        }
        try {
            Path code = Path.of(TransformerModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path d = code.toAbsolutePath().getParent(); d != null; d = d.getParent()) {
                Path p = d.resolve(DEFAULT_MODEL);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
            tried.add("the parent folders of " + code);
        } catch (Exception e) {
            // no code source (custom class loaders, jlink images): fall through to the working directory
        }
        Path p = Path.of("").toAbsolutePath().resolve(DEFAULT_MODEL);
        if (Files.isRegularFile(p)) {
            return p;
        }
        tried.add(p.toString());
        throw new ModelException("model file not found (looked in " + String.join(", ", tried)
                + "): set BLOCKSIM_PROJECT_DIR to the project folder or give the model's path");
    }

    public ModelSpec spec() {
        return spec;
    }

    public Path path() {
        return path;
    }

    /**
     * Runs equal-length token sequences {@code tokens[batch][seq]}; returns the named outputs.
     *
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public Outputs run(long[][] tokens, Set<String> outputNames) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        int seq = tokens[0].length;
        LongBuffer buf = allocateTokens(tokens.length * seq);
        for (long[] row : tokens) {
            if (row.length != seq) {
                throw new IllegalArgumentException("sequences of one run must have equal length: " + seq + " and " + row.length);
            }
            buf.put(row);
        }
        return run(buf.flip(), tokens.length, seq, outputNames);
    }

    /**
     * Runs {@code batch} sequences of {@code seq} token ids read from {@code tokens} at its position
     * (row-major); returns the named outputs in newly allocated direct buffers.
     *
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public Outputs run(LongBuffer tokens, int batch, int seq, Set<String> outputNames) {
        checkShape(batch, seq);
        Map<String, FloatBuffer> into = new LinkedHashMap<>();
        for (String name : outputNames) {
            checkOutput(name);
            into.put(name, allocateFloats(Math.multiplyExact(batch * seq, spec.outputWidth(name))));
        }
        runInto(tokens, batch, seq, into);
        return new Outputs(batch, seq, into);
    }

    /**
     * Runs {@code batch} sequences of {@code seq} token ids read from {@code tokens} at its position,
     * and has ONNX Runtime write each named output into the caller's buffer at its position:
     * {@code batch * seq * width} floats in [batch, seq, width] order. The buffers must be direct and
     * in native byte order (see {@link #allocateFloats}); they can be reused from run to run, so an
     * extraction loop allocates nothing. Buffer positions are left unchanged.
     *
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public void runInto(LongBuffer tokens, int batch, int seq, Map<String, FloatBuffer> into) {
        checkShape(batch, seq);
        if (into.isEmpty()) {
            throw new IllegalArgumentException("no outputs requested");
        }
        int n = Math.multiplyExact(batch, seq);
        if (tokens.remaining() < n) {
            throw new IllegalArgumentException("need " + n + " token ids, buffer has " + tokens.remaining());
        }
        LongBuffer ids = tokens.slice(tokens.position(), n);
        if (ids.isDirect() && ids.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("token buffer must be in native byte order");
        }
        int vocab = spec.vocabSize();
        for (int i = 0; i < n; i++) {
            long id = ids.get(i);
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " at " + i + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        long[] inShape = {batch, seq};
        Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
        try (OnnxTensor input = OnnxTensor.createTensor(env, ids, inShape)) {
            for (Map.Entry<String, FloatBuffer> e : into.entrySet()) {
                String name = e.getKey();
                checkOutput(name);
                int width = spec.outputWidth(name);
                FloatBuffer out = e.getValue();
                int count = Math.multiplyExact(n, width);
                if (!out.isDirect() || out.order() != ByteOrder.nativeOrder()) {
                    throw new IllegalArgumentException("output buffer '" + name + "' must be direct and in native byte order");
                }
                if (out.remaining() < count) {
                    throw new IllegalArgumentException("output buffer '" + name + "' has room for " + out.remaining()
                            + " floats, needs " + count);
                }
                // A tensor over the caller's memory: ONNX Runtime writes the output there, no copy.
                pinned.put(name, OnnxTensor.createTensor(env, out.slice(out.position(), count),
                        new long[] {batch, seq, width}));
            }
            session.run(Map.of(INPUT, input), pinned).close();
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime run failed (batch " + batch + " x " + seq + "): " + e.getMessage(), e);
        } finally {
            pinned.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * For each prompt, the vector of {@code site} in block {@code block} at the prompt's last
     * position: the usual way to make search queries. Prompts of equal length run batched together;
     * the result is in the prompts' order, {@code nEmbed} floats each.
     *
     * @throws InvalidArgumentException for an empty prompt or one longer than the model's context,
     *     a character outside its vocabulary, or a block it does not have
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public float[][] lastPositionVectors(List<String> prompts, Site site, int block) {
        String name = spec.outputName(site, block);
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int i = 0; i < prompts.size(); i++) {
            String p = prompts.get(i);
            int len = p.codePointCount(0, p.length());  // characters, not UTF-16 units (an emoji is one)
            if (len < 1 || len > spec.blockSize()) {
                throw new InvalidArgumentException("prompt " + (i + 1) + " has " + len + " characters; need 1.." + spec.blockSize());
            }
            byLength.computeIfAbsent(len, k -> new ArrayList<>()).add(i);
        }
        float[][] result = new float[prompts.size()][];
        for (Map.Entry<Integer, List<Integer>> group : byLength.entrySet()) {
            int seq = group.getKey();
            List<Integer> rows = group.getValue();
            int maxBatch = Math.max(1, TOKENS_PER_RUN / seq);
            for (int from = 0; from < rows.size(); from += maxBatch) {
                List<Integer> chunk = rows.subList(from, Math.min(rows.size(), from + maxBatch));
                LongBuffer ids = allocateTokens(chunk.size() * seq);
                for (int row : chunk) {
                    ids.put(spec.encode(prompts.get(row)));
                }
                Outputs out = run(ids.flip(), chunk.size(), seq, Set.of(name));
                for (int r = 0; r < chunk.size(); r++) {
                    result[chunk.get(r)] = out.vector(name, r, seq - 1);
                }
            }
        }
        return result;
    }

    /**
     * The embedding table {@code table[t][token]} = tok_emb[token] + pos_emb[t] for positions
     * {@code 0..length-1}: the model's embedding output for the strings of one repeated character
     * gives exactly these vectors, so no weights are read outside the graph.
     *
     * @throws InvalidArgumentException for a length outside 1..blockSize
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public float[][][] embeddingTable(int length) {
        if (length < 1 || length > spec.blockSize()) {
            throw new InvalidArgumentException("string length " + length + " is outside 1.." + spec.blockSize());
        }
        int vocab = spec.vocab().length();
        long[][] tokens = new long[vocab][length];
        for (int a = 0; a < vocab; a++) {
            java.util.Arrays.fill(tokens[a], a);
        }
        String name = Site.EMBEDDING.outputName(0);
        Outputs out = run(tokens, Set.of(name));
        float[][][] table = new float[length][vocab][];
        for (int t = 0; t < length; t++) {
            for (int a = 0; a < vocab; a++) {
                table[t][a] = out.vector(name, a, t);
            }
        }
        return table;
    }

    /** A direct, native-order buffer for {@code count} token ids. */
    public static LongBuffer allocateTokens(int count) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(count, Long.BYTES)).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    /** A direct, native-order buffer for {@code count} floats, as {@link #runInto} needs. */
    public static FloatBuffer allocateFloats(int count) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(count, Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private void checkShape(int batch, int seq) {
        if (batch < 1 || seq < 1 || seq > spec.blockSize() || (long) batch * seq > Integer.MAX_VALUE / spec.nEmbed()) {
            throw new IllegalArgumentException("batch " + batch + " x seq " + seq + ": need batch >= 1, 1 <= seq <= "
                    + spec.blockSize() + " and outputs under 2^31 floats");
        }
    }

    private void checkOutput(String name) {
        if (!outputNames.contains(name)) {
            throw new IllegalArgumentException("no output '" + name + "'; the model has " + spec.outputNames());
        }
    }

    @Override
    public void close() {
        closeQuietly(session);
    }

    private static void closeQuietly(OrtSession s) {
        if (s != null) {
            try {
                s.close();
            } catch (OrtException e) {
                // nothing left to do with a session that fails to close
            }
        }
    }

}
