package io.blocksim.cli;

import io.blocksim.BlocksimException;
import io.blocksim.text.Corpus;
import java.nio.file.Path;

/** The CLI's {@code --dataset}: the library's corpus, its refusals told how to give a local copy. */
final class Datasets {
    private Datasets() {
    }

    /**
     * {@link Corpus#resolve}: {@code dataset} when given; else $BLOCKSIM_DATASET or the downloaded
     * TinyShakespeare, and then a failure (no network, a bad download) names {@code --dataset}.
     */
    static Corpus corpus(Path dataset) {
        try {
            return Corpus.resolve(dataset);
        } catch (BlocksimException e) {
            if (dataset != null) {
                throw e; // the user's own file: the message names it
            }
            throw CliError.withHint(e, "--dataset PATH reads a local copy");
        }
    }
}
