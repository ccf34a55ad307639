package io.blocksim.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The reference extractor: the full model over whole strings ({@link TransformerModel#runInto}),
 * every position recomputed for every string. About 2.7x more model work than
 * {@link PrefixExtractor} on TinyShakespeare, but it needs only the main model file; the fallback
 * where the step graphs are missing, and the yardstick the step engine is tested against.
 */
public final class FullModelExtractor implements Extractor {
    /** Token positions per run: enough rows for efficient matrix products, outputs of a few tens of MB. */
    private static final int TOKENS_PER_RUN = 1 << 13;

    private final TransformerModel model;
    private final ModelSpec spec;
    private ExtractionPlan checkedPlan;

    /** Runs {@code model}; closing this extractor leaves the model open. */
    public FullModelExtractor(TransformerModel model) {
        this.model = model;
        this.spec = model.spec();
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    @Override
    public String describe() {
        if (model.deviceChoice().cuda()) {
            return "full model over whole strings (ONNX Runtime, CUDA provider)";
        }
        return "full model over whole strings (ONNX Runtime, CPU provider"
                + (PrefixExtractor.available(model.path(), model.spec().nLayer()) ? ")"
                        : "; step graphs not found beside " + model.path().getFileName() + ")");
    }

    @Override
    public void run(ExtractionPlan plan, int unit, VectorSink sink) {
        if (plan != checkedPlan) {
            plan.check(spec);
            checkedPlan = plan;
        }
        int c = spec.nEmbed();
        int len = plan.strings().length();
        byte[] tok = plan.strings().tokens();
        // causal: positions after the deepest target do not change anything before it
        int seq = plan.maxPosition() + 1;
        int batch = Math.max(1, TOKENS_PER_RUN / seq);
        Set<String> names = new LinkedHashSet<>();
        for (Target t : plan.targets()) {
            names.add(t.outputName(spec));
        }
        try (Arena scratch = Arena.ofConfined()) {
            LongBuffer ids = scratch.allocate((long) batch * seq * Long.BYTES, 64).asByteBuffer()
                    .order(ByteOrder.nativeOrder()).asLongBuffer();
            Map<String, FloatBuffer> outs = new LinkedHashMap<>();
            for (String name : names) {
                outs.put(name, scratch.allocate((long) batch * seq * c * Float.BYTES, 64).asByteBuffer()
                        .order(ByteOrder.nativeOrder()).asFloatBuffer());
            }
            MemorySegment picked = scratch.allocate((long) batch * c * Float.BYTES, 64);
            int[] rows = new int[batch];
            int[] src = new int[batch];
            int start = plan.unitStart(unit);
            int end = plan.unitEnd(unit);
            for (int from = start; from < end; from += batch) {
                int count = Math.min(batch, end - from);
                for (int r = 0; r < count; r++) {
                    int row = plan.sortedRow(from + r);
                    for (int p = 0; p < seq; p++) {
                        ids.put(r * seq + p, tok[row * len + p] & 0xff);
                    }
                }
                model.runInto(ids, count, seq, outs);
                for (int ti = 0; ti < plan.targets().size(); ti++) {
                    Target target = plan.targets().get(ti);
                    int pos = target.position();
                    int k = 0;
                    for (int r = 0; r < count; r++) {
                        // a string delivers position t when it is the first string of its prefix
                        int dest = plan.ownedRow(pos, plan.sortedRow(from + r));
                        if (dest >= 0) {
                            rows[k] = dest;
                            src[k++] = r;
                        }
                    }
                    if (k == 0) {
                        continue;
                    }
                    MemorySegment all = MemorySegment.ofBuffer(outs.get(target.outputName(spec)));
                    long vec = (long) c * Float.BYTES;
                    for (int i = 0; i < k; i++) {
                        MemorySegment.copy(all, ((long) src[i] * seq + pos) * vec, picked, i * vec, vec);
                    }
                    sink.accept(ti, rows, k, picked.asSlice(0, k * vec));
                }
            }
        }
    }

    @Override
    public void close() {
        // the model belongs to the caller; buffers live per unit
    }
}
