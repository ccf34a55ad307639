package io.blocksim.cli;

import io.blocksim.store.StoreImporter;
import io.blocksim.store.StoreInfo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Make a store from vectors you already have, to search them with blocksim.",
            "The vectors are a float32 .npy of shape [rows, dim]; the labels file has one label per line, one per row.",
            "Nothing is written unless the whole import succeeds."})
final class ImportCommand implements Callable<Integer> {
    @Option(names = "--vectors", required = true, paramLabel = "X.npy", description = "float32 [rows, dim] vectors.")
    Path vectors;

    @Option(names = "--labels", required = true, paramLabel = "labels.txt", description = "One label per line, one per row.")
    Path labels;

    @Option(names = "--out", required = true, paramLabel = "STORE", description = "The store folder to create (must not exist).")
    Path out;

    @Option(names = "--site", defaultValue = "vectors", paramLabel = "NAME",
            description = "The site name to store them under (default: ${DEFAULT-VALUE}).")
    String site;

    @Override
    public Integer call() {
        StoreInfo info = StoreImporter.importVectors(vectors, labels, out, site);
        info.lines().forEach(System.out::println);
        return 0;
    }
}
