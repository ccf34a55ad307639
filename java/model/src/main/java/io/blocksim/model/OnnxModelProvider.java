package io.blocksim.model;

import io.blocksim.spi.ExtractionRequest;
import io.blocksim.spi.ModelProvider;
import io.blocksim.spi.PromptEncoder;
import io.blocksim.text.Corpus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The model plug-in over ONNX Runtime: prompts through {@link TransformerModel}, extraction through {@link StoreExtraction}. */
public final class OnnxModelProvider implements ModelProvider {
    /** Strings per shard when the request leaves it open (the CLI's --shard-rows default). */
    static final int DEFAULT_SHARD_STRINGS = 131_072;

    /** An open model as a {@link PromptEncoder}; closing the encoder closes the model. */
    public static PromptEncoder encoder(TransformerModel model) {
        return new Encoder(model);
    }

    @Override
    public PromptEncoder open(Path model) {
        return new Encoder(model == null ? TransformerModel.openDefault() : TransformerModel.open(model));
    }

    @Override
    public ExtractionRequest.Summary extract(ExtractionRequest r, ExtractionRequest.Listener listener) {
        ModelDevice dev = ModelDevice.parse(r.device() == null ? "auto" : r.device());
        Corpus corpus = Corpus.resolve(r.corpus());
        PrefixExtractor.Options options = PrefixExtractor.Options.defaults();
        if (r.threads() > 0) {
            options = options.withThreads(r.threads());
        }
        Path file = r.model() != null ? r.model() : TransformerModel.defaultModelPath();
        try (TransformerModel tm = TransformerModel.open(file, options.threads(), dev)) {
            listener.log("extraction runs on " + tm.deviceChoice().reason());
            List<Target> targets = new ArrayList<>();
            for (ExtractionRequest.Target t : r.targets()) {
                targets.add(new Target(Site.parse(t.site()), t.block(), t.position()));
            }
            if (targets.isEmpty()) {
                targets = StoreExtraction.demoTargets(tm.spec().nLayer(), r.stringLength());
            }
            int shard = r.shardStrings() > 0 ? r.shardStrings() : DEFAULT_SHARD_STRINGS;
            StoreExtraction.Summary s = StoreExtraction.run(tm, corpus, r.stringLength(), r.limit(), r.include(), targets,
                    shard, options, r.out(), r.replace(), listener::stored, listener::log);
            return new ExtractionRequest.Summary(s.strings(), s.shards(), s.shardsResumed(), s.seconds(), s.engine(),
                    s.store());
        }
    }

    /** A {@link TransformerModel} as a {@link PromptEncoder}. */
    static final class Encoder implements PromptEncoder {
        private final TransformerModel model;

        Encoder(TransformerModel model) {
            this.model = model;
        }

        @Override
        public String modelSha256() {
            return model.spec().modelSha256();
        }

        @Override
        public int maxPromptLength() {
            return model.spec().blockSize();
        }

        @Override
        public String vocabulary() {
            return model.spec().vocab();
        }

        @Override
        public float[][] lastPositionVectors(List<String> prompts, String site, int block) {
            return model.lastPositionVectors(prompts, Site.parse(site), block);
        }

        @Override
        public float[][][] embeddingTable(int length) {
            return model.embeddingTable(length);
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
