package io.blocksim.model;

import java.lang.foreign.MemorySegment;

/**
 * Receives an extraction's vectors, a batch at a time. Calls never overlap and all of them
 * happen-before the {@link Extractor#run} that made them returns, but they may come from the
 * extractor's worker threads rather than the thread that called {@code run}
 * ({@link PrefixExtractor} does that): a sink needs no locking, but must not rely on running on
 * the caller's thread (thread-locals, segments of a confined arena).
 *
 * <p>{@code vectors} holds {@code count} vectors of {@link ModelSpec#nEmbed()} float32 values each,
 * native byte order, back to back; vector {@code i} belongs in row {@code rows[i]} of target
 * {@code target} (an index into {@link ExtractionPlan#targets()}). At the last position the row is
 * the string row (first-occurrence order); at an earlier position t it is the row of
 * {@code strings.prefixes(t)}. Rows arrive in no particular order, each exactly once per run of
 * the whole plan. Both arguments are only valid during the call: copy what you keep (for a store,
 * {@code MemorySegment.copy(vectors, i * bytesPerVector, shard, rowOffset, bytesPerVector)}).
 */
@FunctionalInterface
public interface VectorSink {
    void accept(int target, int[] rows, int count, MemorySegment vectors);
}
