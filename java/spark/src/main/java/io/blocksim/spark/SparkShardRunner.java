package io.blocksim.spark;

import io.blocksim.StoreException;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.TransformerModel;
import io.blocksim.store.StoreWriter;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;
import org.apache.spark.SimpleFutureAction;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction0;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

/**
 * The driver's side of {@code blocksim spark extract}: one Spark task per store shard left to do.
 * A task runs the step engine on an executor and writes the shard's files into the store folder
 * under part names of its own attempt ({@link StoreWriter#createShardFiles}); as tasks succeed,
 * the driver commits their shards in order ({@link StoreWriter#commitShard}: rename, manifest), so
 * the manifest only ever names whole shards of one attempt. A failed, retried or speculative
 * attempt leaves only part or temp files, which no reader accepts and which the commit of the
 * shard, the end of the job, or the next run deletes; a killed driver resumes as {@code extract}
 * does, at the first shard the manifest does not list.
 *
 * <p>Not thread-safe; one run at a time.
 */
final class SparkShardRunner implements StoreExtraction.ShardRunner {
    private final JavaSparkContext sc;
    private final TransformerModel model;
    private final PrefixExtractor.Options options;
    private final String device;
    private final String log;

    SparkShardRunner(JavaSparkContext sc, TransformerModel model, PrefixExtractor.Options options, String device) {
        this.sc = sc;
        this.model = model;
        this.options = options;
        this.device = device;
        this.log = "spark " + sc.master() + " (" + sc.sc().applicationId() + ")";
    }

    @Override
    public String run(StoreExtraction.Prepared job, StoreWriter w, int from, LongConsumer progress) {
        int shards = w.shardCount();
        if (from >= shards) {
            return log + ": nothing left to extract";
        }
        List<StoreWriter.ShardLayout> layouts = new ArrayList<>();
        for (int i = from; i < shards; i++) {
            layouts.add(w.layout(i));
        }
        ExtractJob spec = ExtractJob.of(sc.sc().applicationId() + "-" + System.nanoTime(),
                w.dir().toAbsolutePath().toString(), model.path().toAbsolutePath().toString(), model.spec().modelSha256(),
                device, options.threads(), options.workers(), options.batchRows(), options.cacheBytes(),
                job.strings().tokens(), job.strings().length(), job.targets(), job.plan().unitStrings());
        Broadcast<ExtractJob> b = sc.broadcast(spec);
        BlockingQueue<StoreWriter.SealedShard> done = new LinkedBlockingQueue<>();
        try {
            JavaRDD<StoreWriter.ShardLayout> rdd = sc.parallelize(layouts, layouts.size());
            List<Object> parts = new ArrayList<>(IntStream.range(0, layouts.size()).boxed().toList());
            sc.setJobDescription("blocksim extract: shards " + from + ".." + (shards - 1) + " of " + w.dir());
            SimpleFutureAction<BoxedUnit> f = sc.sc().submitJob(rdd.rdd(), new ShardTask(b),
                    scala.jdk.javaapi.CollectionConverters.asScala(parts).toList(), new Collect(done), new Unit());
            commitInOrder(f, done, w, from, shards, progress);
        } finally {
            b.destroy();
            ExtractTasks.forget(spec.id());
        }
        w.deleteLeftovers();
        return String.format(Locale.ROOT, "%s: %d tasks, %d thread%s each", log, shards - from, options.threads(),
                options.threads() == 1 ? "" : "s");
    }

    /** Commits shards from..shards-1 as their tasks succeed, in shard order; fails as the job does. */
    private static void commitInOrder(SimpleFutureAction<BoxedUnit> f, BlockingQueue<StoreWriter.SealedShard> done,
            StoreWriter w, int from, int shards, LongConsumer progress) {
        TreeMap<Integer, StoreWriter.SealedShard> waiting = new TreeMap<>();
        int next = from;
        try {
            while (next < shards) {
                boolean finished = f.isCompleted();  // read before draining: nothing arrives after completion
                StoreWriter.SealedShard s = done.poll(finished ? 0 : 200, TimeUnit.MILLISECONDS);
                for (; s != null; s = done.poll()) {
                    waiting.put(s.layout().index(), s);
                }
                while (!waiting.isEmpty() && waiting.firstKey() == next) {
                    StoreWriter.SealedShard c = waiting.pollFirstEntry().getValue();
                    w.commitShard(c);
                    progress.accept(c.layout().endString() - c.layout().firstString());
                    next++;
                }
                if (finished && next < shards) {
                    f.get();  // throws the job's failure
                    throw new StoreException("the Spark job ended with shards " + next + ".." + (shards - 1)
                            + " not delivered: run the same command again to resume");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel();
            throw new StoreException("interrupted while extracting: run the same command again to resume", e);
        } catch (RuntimeException e) {
            f.cancel();
            throw e;
        } catch (Exception e) {
            f.cancel();
            throw SparkFailures.translate(e);
        }
    }

    /** The executor's work: the partition's one shard, sealed under this attempt's tag. */
    static final class ShardTask extends AbstractFunction1<Iterator<StoreWriter.ShardLayout>, StoreWriter.SealedShard>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Broadcast<ExtractJob> job;

        ShardTask(Broadcast<ExtractJob> job) {
            this.job = job;
        }

        @Override
        public StoreWriter.SealedShard apply(Iterator<StoreWriter.ShardLayout> it) {
            StoreWriter.ShardLayout layout = it.next();
            TaskContext tc = TaskContext.get();
            ExtractJob j = job.value();
            // unique to this attempt of this task of this run: retried and speculative copies never share files
            String tag = (j.id() + "-" + (tc == null ? System.nanoTime() : tc.taskAttemptId())).replaceAll("[^A-Za-z0-9_-]", "_");
            return ExtractTasks.run(j, layout, tag.length() <= 100 ? tag : tag.substring(tag.length() - 100));
        }
    }

    /** The driver's handler: each partition's result, as its task succeeds (on Spark's scheduler thread). */
    private static final class Collect extends AbstractFunction2<Object, StoreWriter.SealedShard, BoxedUnit> {
        private final BlockingQueue<StoreWriter.SealedShard> done;

        Collect(BlockingQueue<StoreWriter.SealedShard> done) {
            this.done = done;
        }

        @Override
        public BoxedUnit apply(Object partition, StoreWriter.SealedShard s) {
            done.add(s);
            return BoxedUnit.UNIT;
        }
    }

    private static final class Unit extends AbstractFunction0<BoxedUnit> {
        @Override
        public BoxedUnit apply() {
            return BoxedUnit.UNIT;
        }
    }
}
