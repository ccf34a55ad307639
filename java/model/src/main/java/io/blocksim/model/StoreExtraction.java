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
        long t0 = System.nanoTime();
        ModelSpec spec = model.spec();
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
        int resumed;
        int shards;
        String engine;
        try (StoreWriter w = StoreWriter.open(out, storeSpec, force);
             Extractor ex = Extractor.open(model, options)) {
            engine = ex.describe();
            if (!w.hasStrings()) {
                w.putStrings(strings.tokens());
            }
            for (Target t : targets) {
                if (t.position() < stringLength - 1 && !w.hasPrefixIndex(t.position())) {
                    w.putPrefixIndex(t.position(), strings.prefixes(t.position()).firstStrings());
                }
            }
            resumed = w.nextShard();
            shards = w.shardCount();
            if (resumed > 0) {
                log.accept("resuming at shard " + resumed + " of " + shards + " (" + (long) resumed * shardStrings
                        + " strings already stored)");
                progress.accept(Math.min((long) resumed * shardStrings, strings.size()));
            }
            for (int i = resumed; i < shards; i++) {
                try (StoreWriter.Shard s = w.beginShard(i)) {
                    MemorySegment[] dest = new MemorySegment[targets.size()];
                    int[] firstRow = new int[targets.size()];
                    for (int e = 0; e < targets.size(); e++) {
                        dest[e] = s.vectors(e);
                        firstRow[e] = s.firstRow(e);
                    }
                    long bytes = (long) spec.nEmbed() * Float.BYTES;
                    ex.run(plan, i, (target, rows, count, vectors) -> {
                        MemorySegment d = dest[target];
                        int base = firstRow[target];
                        for (int r = 0; r < count; r++) {
                            MemorySegment.copy(vectors, r * bytes, d, (rows[r] - base) * bytes, bytes);
                        }
                    });
                    // the files go to disk while the next shard computes
                    s.commitInBackground();
                    progress.accept(s.endString() - s.firstString());
                }
            }
            w.awaitCommitted();
        }
        return new Summary(strings.size(), shards, resumed, (System.nanoTime() - t0) / 1e9, engine, out);
    }
}
