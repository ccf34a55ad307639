package io.blocksim.spark;

import io.blocksim.StoreIncompatibleException;
import io.blocksim.model.ExtractionPlan;
import io.blocksim.model.Extractor;
import io.blocksim.model.ModelDevice;
import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.TransformerModel;
import io.blocksim.store.StoreWriter;
import io.blocksim.text.StringTable;
import java.nio.file.Path;
import java.util.ArrayDeque;

/**
 * The executor's side of an extraction: computes one shard into part files of the store folder
 * and returns it sealed, for the driver to commit. Each executor JVM keeps, for the job it last
 * served, the plan (rebuilt once from the broadcast strings) and one model with its extractor per
 * task running at once (an extractor runs one unit at a time); a new job closes the old job's.
 *
 * <p>Thread safety: any number of tasks may run at once; each takes its own extractor.
 */
final class ExtractTasks {
    private static String jobId;
    private static ExtractionPlan plan;
    private static final ArrayDeque<Engine> idle = new ArrayDeque<>();

    private record Engine(String job, ExtractionPlan plan, TransformerModel model, Extractor extractor) implements AutoCloseable {
        @Override
        public void close() {
            try {
                extractor.close();
            } finally {
                model.close();
            }
        }
    }

    private ExtractTasks() {
    }

    /**
     * Shard {@code layout} of {@code job}, written under part names tagged {@code tag} and sealed.
     *
     * @throws StoreIncompatibleException when this machine's model file is not the driver's
     * @throws io.blocksim.ModelException, io.blocksim.FileAccessException, io.blocksim.InvalidDataException
     *     as the plain extraction
     */
    static StoreWriter.SealedShard run(ExtractJob job, StoreWriter.ShardLayout layout, String tag) {
        Engine e = take(job);
        boolean ok = false;
        try (StoreWriter.ShardFiles files = StoreWriter.createShardFiles(Path.of(job.store()), layout, tag)) {
            StoreExtraction.fill(e.extractor(), e.plan(), layout.index(), files::vectors, layout::firstRow);
            StoreWriter.SealedShard sealed = files.seal();
            ok = true;
            return sealed;
        } finally {
            if (ok) {
                give(e);
            } else {
                e.close();  // an engine that failed is not trusted with another shard
            }
        }
    }

    private static Engine take(ExtractJob job) {
        ExtractionPlan p;
        synchronized (ExtractTasks.class) {
            if (!job.id().equals(jobId)) {
                idle.forEach(Engine::close);
                idle.clear();
                plan = ExtractionPlan.of(new StringTable(job.tokens(), job.stringLength()), job.targets(),
                        job.shardStrings(), ExtractionPlan.Order.FIRST_OCCURRENCE);
                jobId = job.id();
            }
            Engine e = idle.poll();
            if (e != null) {
                return e;
            }
            p = plan;
        }
        TransformerModel tm = TransformerModel.open(Path.of(job.model()), job.threads(), ModelDevice.parse(job.device()));
        try {
            if (!tm.spec().modelSha256().equals(job.modelSha256())) {
                throw new StoreIncompatibleException("the model " + job.model() + " on this executor (sha256 "
                        + tm.spec().modelSha256() + ") is not the driver's (sha256 " + job.modelSha256()
                        + "): give every machine the same model file at the same path");
            }
            PrefixExtractor.Options o = new PrefixExtractor.Options(job.threads(), job.workers(), job.batchRows(),
                    job.cacheBytes());
            return new Engine(job.id(), p, tm, Extractor.open(tm, o));
        } catch (RuntimeException x) {
            tm.close();
            throw x;
        }
    }

    /**
     * Closes this JVM's engines of job {@code id} and forgets its plan: the driver calls it after
     * the job (on a local master the tasks ran in the driver's JVM; an executor's state goes with
     * its JVM). An engine still in a task's hands is closed when the task returns it.
     */
    static void forget(String id) {
        synchronized (ExtractTasks.class) {
            if (!id.equals(jobId)) {
                return;
            }
            idle.forEach(Engine::close);
            idle.clear();
            plan = null;
            jobId = null;
        }
    }

    private static void give(Engine e) {
        synchronized (ExtractTasks.class) {
            if (e.job().equals(jobId)) {
                idle.push(e);
                return;
            }
        }
        e.close();
    }
}
