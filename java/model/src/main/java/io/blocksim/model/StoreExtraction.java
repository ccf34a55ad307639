package io.blocksim.model;

import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.ModelException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.TargetExistsException;
import io.blocksim.store.EntryKey;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.ModelInfo;
import io.blocksim.store.StoreSpec;
import io.blocksim.store.StoreWriter;
import io.blocksim.text.Corpus;
import io.blocksim.text.StringTable;
import io.blocksim.text.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Runs a model over every unique substring of a corpus and writes the requested intermediates
 * into a store, one shard at a time. A shard is one extraction unit in first-occurrence order, so
 * a killed run resumes at the first shard the manifest does not list, and the finished store is
 * the same bytes as an uninterrupted run's.
 */
public final class StoreExtraction {
    /**
     * The demo's set: block_output (the residual stream, the notebook's first norm table),
     * proj_output and ffwd_output of every block at the last position, and ffwd_output of the last
     * block at t = L-2: 3 x nLayer + 1 entries (19 for the shipped model).
     */
    public static List<Target> demoTargets(int nLayer, int stringLength) {
        List<Target> out = new ArrayList<>();
        for (Site s : List.of(Site.BLOCK_OUTPUT, Site.PROJ_OUTPUT, Site.FFWD_OUTPUT)) {
            for (int b = 0; b < nLayer; b++) {
                out.add(new Target(s, b, stringLength - 1));
            }
        }
        if (stringLength > 1) {
            out.add(new Target(Site.FFWD_OUTPUT, nLayer - 1, stringLength - 2));
        }
        return out;
    }

    /** What happened: strings, shards computed now and before, and the time it took. */
    public record Summary(int strings, int shards, int shardsResumed, double seconds, String engine, Path store) {
    }

    private StoreExtraction() {
    }

    /**
     * Extracts into {@code out}. {@code progress} is told how many strings each finished shard
     * held (including shards found complete from an earlier run). With {@code force} a store of
     * another spec at {@code out} is deleted and made again; without, it is refused.
     *
     * @throws InvalidArgumentException for a string length outside 1..the model's context, a
     *     target position outside the strings, a block the model does not have, or an included
     *     string that is not a substring of that length of the corpus
     * @throws InvalidDataException for a corpus with characters outside the model's vocabulary or no
     *     substring of the length
     * @throws TargetExistsException when {@code out} is a file, or a non-empty folder that holds no
     *     store
     * @throws StoreIncompatibleException (without {@code force}) when {@code out} holds a store made
     *     for another model, corpus, length, shard size or set of targets
     * @throws StoreDamagedException (without {@code force}) when {@code out} holds a store whose
     *     manifest or prefix indexes are damaged
     * @throws StoreException (this class itself) when another process is writing {@code out}
     * @throws FileAccessException when the store cannot be written (the disk is full, the folder is
     *     read-only)
     * @throws ModelException when ONNX Runtime fails to load or run the model
     */
    public static Summary run(TransformerModel model, Corpus corpus, int stringLength, int limit, List<Target> targets,
            int shardStrings, PrefixExtractor.Options options, Path out, boolean force, LongConsumer progress,
            java.util.function.Consumer<String> log) {
        return run(model, corpus, stringLength, limit, List.of(), targets, shardStrings, options, out, force, progress, log);
    }

    /**
     * As above; with a {@code limit}, the strings of {@code include} (each of length L, each a
     * substring of the corpus) are stored too, after the first {@code limit} strings, when they are
     * not among them: the demo's quick store holds its prompts.
     *
     * @throws InvalidArgumentException for a string length outside 1..the model's context, a
     *     target position outside the strings, a block the model does not have, or an included
     *     string that is not a substring of that length of the corpus
     * @throws InvalidDataException for a corpus with characters outside the model's vocabulary or no
     *     substring of the length
     * @throws TargetExistsException when {@code out} is a file, or a non-empty folder that holds no
     *     store
     * @throws StoreIncompatibleException (without {@code force}) when {@code out} holds a store made
     *     for another model, corpus, length, shard size or set of targets
     * @throws StoreDamagedException (without {@code force}) when {@code out} holds a store whose
     *     manifest or prefix indexes are damaged
     * @throws StoreException (this class itself) when another process is writing {@code out}
     * @throws FileAccessException when the store cannot be written (the disk is full, the folder is
     *     read-only)
     * @throws ModelException when ONNX Runtime fails to load or run the model
     */
    public static Summary run(TransformerModel model, Corpus corpus, int stringLength, int limit, List<String> include,
            List<Target> targets, int shardStrings, PrefixExtractor.Options options, Path out, boolean force,
            LongConsumer progress, java.util.function.Consumer<String> log) {
        return run(model, corpus, stringLength, limit, include, targets, shardStrings, out, force, progress, log,
                local(model, options));
    }

    /**
     * As above, with the shards computed by {@code runner} (for instance by tasks on other
     * machines), the store prepared, resumed and committed here: the same store, file for file,
     * as {@link #local local} computation makes when the runner's vectors are the same.
     *
     * @throws InvalidArgumentException, InvalidDataException, TargetExistsException,
     *     StoreIncompatibleException, StoreDamagedException, StoreException, FileAccessException,
     *     ModelException as above; and what {@code runner} throws
     */
    public static Summary run(TransformerModel model, Corpus corpus, int stringLength, int limit, List<String> include,
            List<Target> targets, int shardStrings, Path out, boolean force, LongConsumer progress,
            java.util.function.Consumer<String> log, ShardRunner runner) {
        long t0 = System.nanoTime();
        Prepared job = prepare(model.spec(), corpus, stringLength, limit, include, targets, shardStrings);
        int resumed;
        int shards;
        String engine;
        try (StoreWriter w = StoreWriter.open(out, job.storeSpec(), force)) {
            if (!w.hasStrings()) {
                w.putStrings(job.strings().tokens());
            }
            for (Target t : targets) {
                if (t.position() < stringLength - 1 && !w.hasPrefixIndex(t.position())) {
                    w.putPrefixIndex(t.position(), job.strings().prefixes(t.position()).firstStrings());
                }
            }
            resumed = w.nextShard();
            shards = w.shardCount();
            if (resumed > 0) {
                log.accept("resuming at shard " + resumed + " of " + shards + " (" + (long) resumed * shardStrings
                        + " strings already stored)");
                progress.accept(Math.min((long) resumed * shardStrings, job.strings().size()));
            }
            engine = runner.run(job, w, resumed, progress);
        }
        return new Summary(job.strings().size(), shards, resumed, (System.nanoTime() - t0) / 1e9, engine, out);
    }

    /**
     * What an extraction computes, checked: the strings, the store's spec and the plan whose unit
     * k is store shard k. A pure function of its inputs: every process that prepares the same
     * inputs gets the same job.
     */
    public record Prepared(ModelSpec model, StringTable strings, List<Target> targets, StoreSpec storeSpec,
            ExtractionPlan plan) {
    }

    /**
     * Checks and prepares an extraction (see {@link #run} for the arguments).
     *
     * @throws InvalidArgumentException for a string length outside 1..the model's context, a
     *     target position outside the strings, a block the model does not have, or an included
     *     string that is not a substring of that length of the corpus
     * @throws InvalidDataException for a corpus with characters outside the model's vocabulary or no
     *     substring of the length
     */
    public static Prepared prepare(ModelSpec spec, Corpus corpus, int stringLength, int limit, List<String> include,
            List<Target> targets, int shardStrings) {
        Tokenizer tok = new Tokenizer(spec.vocab());
        byte[] tokens;
        try {
            tokens = tok.encode(corpus.text());
        } catch (InvalidArgumentException e) {
            throw new InvalidDataException("the corpus " + corpus.source() + " does not fit the model's vocabulary: "
                    + e.getMessage(), e);
        }
        if (stringLength < 1 || stringLength > spec.blockSize()) {
            throw new InvalidArgumentException("string length " + stringLength + " is outside 1.." + spec.blockSize()
                    + " (the model's context)");
        }
        StringTable strings = StringTable.uniqueSubstrings(tokens, stringLength);
        if (limit > 0) {
            List<byte[]> extra = new ArrayList<>();
            for (String text : include) {
                if (text.length() != stringLength || !corpus.text().contains(text)) {
                    throw new InvalidArgumentException("'" + text + "' is not a substring of length " + stringLength + " of the corpus");
                }
                extra.add(tok.encode(text));
            }
            strings = strings.head(limit).withStrings(extra);
        }
        if (strings.size() == 0) {
            throw new InvalidDataException("the corpus has no substring of length " + stringLength);
        }
        List<EntrySpec> entries = new ArrayList<>();
        for (Target t : targets) {
            if (t.position() >= stringLength) {
                throw new InvalidArgumentException("position " + t.position() + " is outside strings of length " + stringLength);
            }
            entries.add(new EntrySpec(new EntryKey(t.site().cliName(), t.block(), t.position()), spec.nEmbed()));
        }
        StoreSpec storeSpec = new StoreSpec(new ModelInfo(spec.modelSha256(), spec.nLayer(), spec.nEmbed(), spec.nHead(),
                spec.vocab()), corpus.sha256(), stringLength, strings.size(), shardStrings, entries);
        ExtractionPlan plan = ExtractionPlan.of(strings, targets, shardStrings, ExtractionPlan.Order.FIRST_OCCURRENCE);
        plan.check(spec);
        return new Prepared(spec, strings, List.copyOf(targets), storeSpec, plan);
    }

    /**
     * Computes and commits shards {@code from}..{@code w.shardCount()-1} of a prepared job into its
     * open writer, telling {@code progress} each committed shard's strings; returns one line naming
     * the engine for logs.
     */
    @FunctionalInterface
    public interface ShardRunner {
        String run(Prepared job, StoreWriter w, int from, LongConsumer progress);
    }

    /** Every shard in this process, in order, with {@code model}'s fastest {@link Extractor}. */
    public static ShardRunner local(TransformerModel model, PrefixExtractor.Options options) {
        return (job, w, from, progress) -> {
            try (Extractor ex = Extractor.open(model, options)) {
                for (int i = from; i < w.shardCount(); i++) {
                    try (StoreWriter.Shard s = w.beginShard(i)) {
                        fill(ex, job.plan(), i, s::vectors, s::firstRow);
                        // the files go to disk while the next shard computes
                        s.commitInBackground();
                        progress.accept(s.endString() - s.firstString());
                    }
                }
                w.awaitCommitted();
                return ex.describe();
            }
        };
    }

    /**
     * Computes store shard {@code shard} of {@code plan} (unit {@code shard} of a
     * {@link ExtractionPlan.Order#FIRST_OCCURRENCE} plan of shard-sized units) with {@code ex} into
     * the shard's regions: {@code vectors.apply(e)} is target e's float32 region whose first row is
     * {@code firstRow.applyAsInt(e)}. Whoever writes the shard's files ({@link StoreWriter.Shard} or
     * {@link StoreWriter.ShardFiles}) then seals them.
     *
     * @throws ModelException when ONNX Runtime fails to run the model
     */
    public static void fill(Extractor ex, ExtractionPlan plan, int shard, java.util.function.IntFunction<MemorySegment> vectors,
            java.util.function.IntUnaryOperator firstRow) {
        int n = plan.targets().size();
        MemorySegment[] dest = new MemorySegment[n];
        int[] base = new int[n];
        for (int e = 0; e < n; e++) {
            dest[e] = vectors.apply(e);
            base[e] = firstRow.applyAsInt(e);
        }
        long bytes = (long) ex.spec().nEmbed() * Float.BYTES;
        ex.run(plan, shard, (target, rows, count, v) -> {
            MemorySegment d = dest[target];
            int b = base[target];
            for (int r = 0; r < count; r++) {
                MemorySegment.copy(v, r * bytes, d, (rows[r] - b) * bytes, bytes);
            }
        });
    }
}
