package io.blocksim.cli;

import io.blocksim.InvalidArgumentException;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.Searcher;
import io.blocksim.search.Backends;
import io.blocksim.spi.PromptEncoder;

/** The CLI's {@code --device} for search: the library's choice, its refusals named by the flag. */
final class Devices {
    private Devices() {
    }

    /** A searcher on {@code store} with the backend {@code device} and the model {@code model}. */
    static Searcher searcher(BlocksimStore store, String device, PromptEncoder model) {
        try {
            return Searcher.builder(store).backend(device).model(model).build();
        } catch (InvalidArgumentException e) {
            throw CliError.forOption("--device " + device, e);
        }
    }

    static Backends.Choice searchBackend(String device) {
        try {
            return Backends.open(device);
        } catch (InvalidArgumentException e) {
            throw CliError.forOption("--device " + device, e);
        }
    }
}
