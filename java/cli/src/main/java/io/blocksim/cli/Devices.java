package io.blocksim.cli;

import io.blocksim.InvalidArgumentException;
import io.blocksim.search.Backends;

/** The CLI's {@code --device} for search: the library's choice, its refusals named by the flag. */
final class Devices {
    private Devices() {
    }

    static Backends.Choice searchBackend(String device) {
        try {
            return Backends.open(device);
        } catch (InvalidArgumentException e) {
            throw CliError.forOption("--device " + device, e);
        }
    }
}
