package io.blocksim.spark;

import io.blocksim.cli.Main;

/**
 * The Spark driver's entry point: the {@code blocksim} command line with the {@code spark}
 * command added ({@code blocksim spark extract|similars ...}). The launcher runs it with this
 * module's class path (Spark's jars included) when the first argument is {@code spark};
 * {@code spark-submit --class io.blocksim.spark.SparkMain blocksim-spark.jar spark ...} runs it too.
 * Every other command behaves as in the plain launcher.
 */
public final class SparkMain {
    private SparkMain() {
    }

    public static void main(String[] args) {
        Main.mainWith(args, new SparkCommand());
    }
}
