package io.blocksim.cli;

import io.blocksim.store.StoreInfo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Describe a store: model, dataset, string length, and every stored site with its rows, shards and size.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(paramLabel = "STORE", description = "The store folder.")
    Path store;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        StoreInfo info = StoreInfo.of(store);
        if (json) {
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(info.toMap()));
        } else {
            info.lines().forEach(System.out::println);
        }
        return 0;
    }
}
