package io.blocksim.spark;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code blocksim spark}: the commands that run as Apache Spark jobs. */
@Command(name = "spark", mixinStandardHelpOptions = true,
        subcommands = {SparkExtractCommand.class, SparkSimilarsCommand.class},
        description = {"extract and similars as Apache Spark jobs: the same options and the same output as the plain"
                + " commands, the work spread over a cluster's executors.",
            "",
            "The store folder (and the results folder) must be a path every executor sees (a shared file system),"
                + " and so must the model. Spark settings: --master URL and --conf key=value (any spark.* setting)."})
final class SparkCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
