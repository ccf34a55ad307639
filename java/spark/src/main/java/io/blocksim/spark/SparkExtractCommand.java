package io.blocksim.spark;

import io.blocksim.cli.ExtractCommand;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.TransformerModel;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code blocksim spark extract}: {@code extract}'s options and store, the shards computed by
 * Spark tasks (see {@link SparkShardRunner}). {@code --threads} is each task's threads (default:
 * {@code spark.task.cpus}, 1 unless set). Executor memory defaults to what a task's plan needs
 * ({@link #executorMemoryMb}).
 */
@Command(name = "extract", mixinStandardHelpOptions = true,
        description = {"extract as a Spark job: one task per shard (the unit of resuming); executors run the model and"
                + " write the shards into STORE, which must be a folder every executor sees (a shared file system),"
                + " as must the model; the driver commits each shard when its task succeeds. The same store, file"
                + " for file, as 'blocksim extract' with the same options. Kill it and run it again: it resumes."})
final class SparkExtractCommand extends ExtractCommand {
    @Mixin
    SparkOptions spark;

    private JavaSparkContext sc;

    @Override
    public Integer call() {
        try {
            return super.call();
        } finally {
            if (sc != null) {
                sc.stop();
                sc = null;
            }
        }
    }

    @Override
    protected StoreExtraction.ShardRunner shardRunner(TransformerModel tm, PrefixExtractor.Options options) {
        return (job, w, from, progress) -> {
            Map<String, String> defaults = new LinkedHashMap<>();
            defaults.put("spark.executor.memory", executorMemoryMb(job) + "m");
            defaults.put("spark.executor.memoryOverhead", executorOverheadMb(job, options) + "m");
            sc = SparkSetup.open(SparkSetup.conf(spark, "blocksim extract", defaults));
            int taskCpus = sc.getConf().getInt("spark.task.cpus", 1);
            PrefixExtractor.Options o = threads() != null ? options : options.withThreads(taskCpus);
            return new SparkShardRunner(sc, tm, o, device()).run(job, w, from, progress);
        };
    }

    /**
     * The heap an executor needs, in MiB: 512 MiB, plus twice a task's plan (the strings' tokens,
     * an int and a short per string for the order, an int per prefix of each earlier position
     * stored). The demo store's 858,923 strings of length 10: about 550 MiB.
     */
    static long executorMemoryMb(StoreExtraction.Prepared job) {
        long n = job.strings().size();
        long bytes = n * (job.strings().length() + 6L);
        for (int t : job.targets().stream().mapToInt(x -> x.position()).distinct().toArray()) {
            bytes += 4L * job.plan().prefixes(t).rows();
        }
        return 512 + 2 * ((bytes + (1 << 20) - 1) >> 20);
    }

    /**
     * The native memory beside the heap, in MiB: 384 MiB for ONNX Runtime's sessions and buffers,
     * plus the step engine's key/value cache of one shard (about 18 KB x 2.7 per string, at most
     * the extractor's cache bound: 1 GiB). The shards' vectors go straight into mapped files (the
     * page cache), not into either.
     */
    static long executorOverheadMb(StoreExtraction.Prepared job, PrefixExtractor.Options options) {
        long perShard = (long) (Math.min(job.plan().unitStrings(), job.strings().size()) * 18_000L * 2.7);
        return 384 + (Math.min(perShard, options.cacheBytes()) >> 20);
    }
}
