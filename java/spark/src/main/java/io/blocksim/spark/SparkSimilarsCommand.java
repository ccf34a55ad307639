package io.blocksim.spark;

import io.blocksim.api.BlocksimStore;
import io.blocksim.cli.SimilarsCommand;
import io.blocksim.search.Backends;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code blocksim spark similars}: {@code similars}'s options, results folder and resuming, each
 * query batch's search of each entry run as a Spark job over row ranges
 * ({@link ShardedSearchBackend}). The queries and the embedding entry (a scan of the N x L token
 * table) are computed on the driver, as the plain command computes them.
 */
@Command(name = "similars", mixinStandardHelpOptions = true,
        description = {"similars as Spark jobs: each entry's candidate rows cut into --partitions ranges searched by the"
                + " executors (each maps the store on its own machine; STORE must be a path every executor sees), the"
                + " query batch broadcast, the per-range top-k merged exactly (ties to the lower row). The same results"
                + " folder, byte for byte, as 'blocksim similars' with the same options; it resumes the same way.",
            "",
            "Example: blocksim spark similars --master spark://HOST:7077 --store S --out R --samples 1000 --k 10"})
final class SparkSimilarsCommand extends SimilarsCommand {
    @Mixin
    SparkOptions spark;

    @Override
    protected Backends.Choice searchBackend(BlocksimStore s) {
        JavaSparkContext sc = SparkSetup.open(SparkSetup.conf(spark, "blocksim similars", Map.of()));
        try {
            int parts = spark.partitions != null ? spark.partitions : sc.defaultParallelism();
            ShardedSearchBackend b = new ShardedSearchBackend(sc, s, device(), parts);
            return new Backends.Choice(b, "spark " + sc.master() + " (" + parts + " row ranges per entry; executors' backend "
                    + device() + ")");
        } catch (RuntimeException e) {
            sc.stop();
            throw e;
        }
    }
}
