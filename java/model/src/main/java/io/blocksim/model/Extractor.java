package io.blocksim.model;

/**
 * Computes an {@link ExtractionPlan}'s vectors, one unit at a time, into a {@link VectorSink}.
 * A unit delivers, for each target, every row it owns exactly once: at the last position the rows
 * of its strings, at an earlier position the prefixes whose first string is among them. A unit that
 * throws has delivered an unknown part of its rows: run it again. One unit runs at a time per
 * extractor, on all its threads.
 *
 * <p>Thread safety: an extractor is not thread-safe; call it from one thread at a time. It may
 * use threads of its own: {@link PrefixExtractor} calls the sink from its worker threads (the
 * caller's among them), {@link FullModelExtractor} from the calling thread. Either way the calls
 * never overlap, and every call happens-before {@link #run} returns, so a sink needs no locking of
 * its own but must not depend on the thread it is called on (no thread-locals, no segments of a
 * confined arena).
 */
public interface Extractor extends AutoCloseable {

    /**
     * The fastest extractor for {@code model}: on the CPU the step engine when the model's step
     * graphs lie beside it and the JVM has the Vector API ({@code --add-modules
     * jdk.incubator.vector}), else (and on CUDA, where the step engine's Java attention would move
     * every step's keys and values between host and device) the full model; see
     * {@link #describe()} to tell the user which.
     *
     * @throws io.blocksim.ModelException when the step graphs beside the model cannot be loaded
     */
    static Extractor open(TransformerModel model, PrefixExtractor.Options options) {
        // the step engine's attention runs on the Vector API: a JVM without the module gets the full model
        boolean vectorApi = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (vectorApi && !model.deviceChoice().cuda() && PrefixExtractor.available(model.path(), model.spec().nLayer())) {
            return PrefixExtractor.open(model, options);
        }
        return new FullModelExtractor(model);
    }

    ModelSpec spec();

    /** One line for logs: which engine, with which settings. */
    String describe();

    /**
     * Computes unit {@code unit} of {@code plan}, delivering to {@code sink} one call at a time,
     * possibly from the extractor's own threads; all of the unit is delivered when this returns.
     */
    void run(ExtractionPlan plan, int unit, VectorSink sink);

    /** Every unit in order. */
    default void runAll(ExtractionPlan plan, VectorSink sink) {
        for (int u = 0; u < plan.units(); u++) {
            run(plan, u, sink);
        }
    }

    @Override
    void close();
}
