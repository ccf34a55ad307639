package io.blocksim.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every {@code blocksim spark} command adds to its plain command's. */
final class SparkOptions {
    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master: local[N], spark://HOST:PORT, yarn, k8s://... (default: spark.master as"
                    + " spark-submit sets it, else local[*]).")
    String master;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "A Spark setting (repeatable); overrides blocksim's defaults, e.g."
                    + " --conf spark.executor.memory=8g.")
    Map<String, String> conf = new LinkedHashMap<>();

    @Option(names = "--partitions", paramLabel = "N",
            description = "similars: row ranges per entry (default: the cluster's cores, spark.default.parallelism)."
                    + " extract: ignored (one task per shard).")
    Integer partitions;
}
