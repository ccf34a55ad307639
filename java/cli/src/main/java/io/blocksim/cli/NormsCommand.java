package io.blocksim.cli;

import io.blocksim.api.NormRow;
import io.blocksim.demo.NotebookFormat;
import io.blocksim.api.BlocksimStore;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "norms", mixinStandardHelpOptions = true,
        description = {"The notebook's norm table: per block, mean and std of a site's last-position norms.",
            "", "For each block, the mean and sample standard deviation of the L2 norms of the site's"
                + " last-position vectors over the first --rows strings (the seed's batch 0)."})
final class NormsCommand implements Callable<Integer> {
    @Option(names = "--store", required = true, paramLabel = "STORE", description = "The store folder.")
    Path store;

    @Option(names = "--site", required = true, paramLabel = "SITE", description = "e.g. proj_output, ffwd_output.")
    String site;

    @Option(names = "--rows", defaultValue = "10000", description = "How many strings, from the first (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (rows < 2) {
            throw CliError.usage("--rows must be at least 2 for a standard deviation, got " + rows);
        }
        try (BlocksimStore s = BlocksimStore.open(store)) {
            List<NormRow> table = s.norms(site, rows);
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("site", site);
                m.put("rows", table.isEmpty() ? 0 : table.get(0).rows());
                m.put("blocks", table.stream().map(r -> Map.of("block", r.block(), "mean", r.mean(), "std", r.std())).toList());
                System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
            } else {
                System.out.print(format(table));
            }
        }
        return 0;
    }

    /** The notebook's lines ({@link NotebookFormat#normLines}): {@code Layer 0: mean 27.912762, std 1.1137562}. */
    static String format(List<NormRow> table) {
        return NotebookFormat.normLines(table);
    }
}
