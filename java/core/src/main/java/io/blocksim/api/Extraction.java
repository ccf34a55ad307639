package io.blocksim.api;

import io.blocksim.InvalidArgumentException;
import io.blocksim.spi.ExtractionRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the model over every unique substring of a corpus and stores the chosen intermediates:
 * the store a {@link BlocksimStore} opens. Needs {@code blocksim-model} on the class path.
 *
 * <p>Crash-safe and resumable: shards are written beside their final names and the manifest
 * last, so running the same extraction again after a kill resumes at the first missing shard and
 * ends with the same bytes as an uninterrupted run.
 *
 * <pre>{@code
 * Extraction.into(Path.of("store")).limit(100_000).target("proj_output", 5, -1).run();
 * }</pre>
 *
 * <p>Not thread-safe while being configured; {@link #run} blocks until the store is complete and
 * uses all cores.
 */
public final class Extraction {
    private final Path out;
    private Path corpus;
    private Path model;
    private int stringLength = 10;
    private int limit;
    private final List<String> include = new ArrayList<>();
    private final List<int[]> positions = new ArrayList<>();
    private final List<String> sites = new ArrayList<>();
    private int shardStrings;
    private int threads;
    private String device = "auto";
    private boolean replace;

    private Extraction(Path out) {
        this.out = out;
    }

    /** An extraction into the folder {@code out} (created, or resumed when it holds an incomplete store). */
    public static Extraction into(Path out) {
        if (out == null) {
            throw new InvalidArgumentException("no output folder for the store");
        }
        return new Extraction(out);
    }

    /** The corpus text file (default: BLOCKSIM_DATASET, else TinyShakespeare, downloaded and sha256-checked). */
    public Extraction corpus(Path text) {
        this.corpus = text;
        return this;
    }

    /** The ONNX model (default: the shipped one). */
    public Extraction model(Path onnx) {
        this.model = onnx;
        return this;
    }

    /** L, the length of the strings (default 10). */
    public Extraction stringLength(int l) {
        this.stringLength = l;
        return this;
    }

    /** Only the first {@code n} unique strings (default 0: all). */
    public Extraction limit(int n) {
        this.limit = n;
        return this;
    }

    /** With a limit, also store these strings (each of length L, each in the corpus). */
    public Extraction include(List<String> strings) {
        include.addAll(strings);
        return this;
    }

    /**
     * Store {@code site} of {@code block} at {@code position} (0..L-1, negative from the end). With
     * no targets, the demo's set: block_output, proj_output and ffwd_output of every block at the last position
     * and ffwd_output of the last block one position earlier.
     */
    public Extraction target(String site, int block, int position) {
        sites.add(site);
        positions.add(new int[] {block, position});
        return this;
    }

    /** Strings per shard (default 131,072). */
    public Extraction shardStrings(int n) {
        this.shardStrings = n;
        return this;
    }

    /** The model's intra-op threads (default: all cores). */
    public Extraction threads(int n) {
        this.threads = n;
        return this;
    }

    /** "auto" (default), "cpu" or "cuda": where ONNX Runtime runs the model. */
    public Extraction device(String device) {
        this.device = device;
        return this;
    }

    /** Start over when the folder holds a store of another model, corpus or length (default: refuse). */
    public Extraction replaceOtherStores(boolean replace) {
        this.replace = replace;
        return this;
    }

    /** Runs to the end with no progress reports. */
    public ExtractionRequest.Summary run() {
        return run(new ExtractionRequest.Listener() { });
    }

    /**
     * Runs to the end, telling {@code listener} as shards finish.
     *
     * @throws InvalidArgumentException for a length, site, block or position the model does not have
     * @throws io.blocksim.StoreIncompatibleException the folder holds another store and replacing
     *     was not allowed
     * @throws io.blocksim.InvalidDataException the corpus does not fit the model's vocabulary
     * @throws io.blocksim.ModelException without blocksim-model, or when the model cannot be loaded or run
     * @throws io.blocksim.DeviceException when the requested device fails
     * @throws io.blocksim.FileAccessException when a file cannot be read or written
     */
    public ExtractionRequest.Summary run(ExtractionRequest.Listener listener) {
        if (stringLength < 1) {
            throw new InvalidArgumentException("string length " + stringLength + " must be at least 1");
        }
        if (limit < 0) {
            throw new InvalidArgumentException("limit " + limit + " is negative");
        }
        List<ExtractionRequest.Target> targets = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            int p = positions.get(i)[1];
            int t = p < 0 ? stringLength + p : p;
            if (t < 0 || t >= stringLength) {
                throw new InvalidArgumentException("position " + p + " is outside strings of length " + stringLength);
            }
            targets.add(new ExtractionRequest.Target(sites.get(i), positions.get(i)[0], t));
        }
        ExtractionRequest r = new ExtractionRequest(corpus, model, out, stringLength, limit, include, targets,
                shardStrings, threads, device, replace);
        return Models.provider().extract(r, listener);
    }
}
