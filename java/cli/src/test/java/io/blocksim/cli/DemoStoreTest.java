package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.Site;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.Target;
import io.blocksim.model.TransformerModel;
import io.blocksim.store.Store;
import io.blocksim.text.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo finds what an earlier version's store lacks (block_output) and rebuilds its own store with it. */
class DemoStoreTest {
    @Test
    void aStoreWithoutBlockOutputIsMadeAgainWithIt(@TempDir Path dir) throws Exception {
        Path text = Files.writeString(dir.resolve("input.txt"),
                "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n");
        Corpus corpus = Corpus.read(text);
        Path st = dir.resolve("store");
        try (TransformerModel model = TransformerModel.openDefault()) {
            List<Target> demo = StoreExtraction.demoTargets(model.spec().nLayer(), 10);
            assertEquals(19, demo.size());
            // an earlier version's demo store: proj_output and ffwd_output only
            List<Target> old = demo.stream().filter(t -> t.site() != Site.BLOCK_OUTPUT).toList();
            StoreExtraction.run(model, corpus, 10, 20, old, 8, PrefixExtractor.Options.defaults(), st, false, n -> { },
                    line -> { });
            try (Store s = Store.open(st)) {
                assertEquals(List.of("block_output blocks 0,1,2,3,4,5 at position 9"), DemoCommand.missing(s, demo));
            }
            // what the demo does with its own store then: extract again over it, starting over
            StoreExtraction.run(model, corpus, 10, 20, demo, 8, PrefixExtractor.Options.defaults(), st, true, n -> { },
                    line -> { });
            try (Store s = Store.open(st)) {
                assertEquals(List.of(), DemoCommand.missing(s, demo));
                assertEquals(19, s.entries().size());
            }
        }
    }
}
