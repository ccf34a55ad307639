package io.blocksim.spi;

import java.nio.file.Path;
import java.util.List;

/**
 * What to extract, as {@code io.blocksim.api.Extraction} collects it and a {@link ModelProvider}
 * runs it: every unique substring of length {@code stringLength} of the corpus (the first
 * {@code limit} when positive, plus {@code include}), through the model, into the store at
 * {@code out}, one (site, block, position) entry per target.
 *
 * @param corpus the corpus text file; null for the default (the environment's BLOCKSIM_DATASET, else
 *     TinyShakespeare downloaded and sha256-checked)
 * @param model the ONNX model; null for the shipped one
 * @param targets the entries to store; empty for the demo's set
 * @param shardStrings strings per shard; 0 for the default
 * @param threads intra-op threads of the model; 0 for all cores
 * @param device "auto", "cpu" or "cuda" (ONNX Runtime's execution provider)
 * @param replace start over when {@code out} holds a store of another model, corpus or length
 */
public record ExtractionRequest(Path corpus, Path model, Path out, int stringLength, int limit, List<String> include,
        List<Target> targets, int shardStrings, int threads, String device, boolean replace) {
    public ExtractionRequest {
        include = List.copyOf(include);
        targets = List.copyOf(targets);
    }

    /** One entry to store: a site ("proj_output", ...), a block, and a position 0..L-1. */
    public record Target(String site, int block, int position) {
    }

    /** What an extraction did: strings stored, shards computed now and found done before, seconds, engine. */
    public record Summary(int strings, int shards, int shardsResumed, double seconds, String engine, Path store) {
    }

    /** Told as shards finish; called from the extracting thread or its workers, never concurrently. */
    public interface Listener {
        /** {@code strings} more strings are stored (including shards found complete from an earlier run). */
        default void stored(long strings) {
        }

        /** One line of news (the engine chosen, a resume). */
        default void log(String line) {
        }
    }
}
