package io.blocksim.spark;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.StoreEntry;
import io.blocksim.spi.SearchBackend;
import io.blocksim.spi.SearchResult;
import io.blocksim.spi.VectorSet;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * A search backend that runs each search as a Spark job: the entry's rows cut into
 * {@code partitions} ranges, one task each; the queries broadcast; each executor searches its range
 * of the store mapped on its own machine ({@link RowRangeSearch}) and the per-range top-k lists are
 * merged exactly on the way back ({@link TopKMerge}), so the answer is the single-machine answer:
 * the same rows, the same canonical scores, ties to the lower row.
 *
 * <p>It searches the entries of one store only (named by {@link BlocksimStore#entryOf}); the
 * store must lie at a path every executor sees. Closing it stops the Spark context.
 *
 * <p>Thread safety: searches may come from several threads (each is its own Spark job); close
 * from any thread.
 */
final class ShardedSearchBackend implements SearchBackend {
    private final JavaSparkContext sc;
    private final BlocksimStore store;
    private final String manifestCrc32c;
    private final String device;
    private final int partitions;
    private volatile boolean closed;

    /**
     * @param device the executors' backend: auto, cpu or cuda
     * @param partitions row ranges per entry (at least 1)
     */
    ShardedSearchBackend(JavaSparkContext sc, BlocksimStore store, String device, int partitions) {
        if (partitions < 1) {
            throw new InvalidArgumentException("--partitions " + partitions + " must be at least 1");
        }
        this.sc = sc;
        this.store = store;
        this.manifestCrc32c = RowRangeSearch.manifestCrc32c(store.dir());
        this.device = device;
        this.partitions = partitions;
    }

    @Override
    public String name() {
        return "spark";
    }

    /** Row ranges [a, b) of {@code rows} rows in {@code parts} nearly equal parts (fewer when rows < parts). */
    static List<int[]> ranges(int rows, int parts) {
        int p = Math.max(1, Math.min(parts, rows));
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < p; i++) {
            out.add(new int[] {(int) ((long) rows * i / p), (int) ((long) rows * (i + 1) / p)});
        }
        return out;
    }

    @Override
    public SearchResult search(VectorSet data, float[][] queries, int k, Metric metric) {
        if (closed) {
            throw new ClosedException("the spark search backend is closed");
        }
        StoreEntry e = store.entryOf(data);
        if (e == null) {
            throw new InvalidArgumentException("the spark backend searches the entries of store " + store.dir() + " only");
        }
        if (queries.length == 0) {
            throw new InvalidArgumentException("no queries");
        }
        if (k < 1 || k > data.rows()) {
            throw new InvalidArgumentException("k = " + k + " is outside 1.." + data.rows());
        }
        List<RowRangeSearch.Range> ranges = new ArrayList<>();
        String dir = store.dir().toAbsolutePath().toString();
        for (int[] r : ranges(data.rows(), partitions)) {
            ranges.add(new RowRangeSearch.Range(dir, manifestCrc32c, e.site(), e.block(), e.position(), r[0], r[1]));
        }
        Broadcast<float[][]> q = sc.broadcast(queries);
        String dev = device;
        try {
            sc.setJobDescription("blocksim similars: " + e.site() + " block " + e.block() + " position " + e.position()
                    + ", " + queries.length + " queries");
            TopKMerge m = sc.parallelize(ranges, ranges.size())
                    .map(r -> RowRangeSearch.search(r, q.value(), k, metric, dev))
                    .reduce((a, b) -> TopKMerge.merge(a, b, k, metric));
            return new SearchResult(metric, k, m.rows(), m.scores(), name(), null);
        } catch (RuntimeException x) {
            throw SparkFailures.translate(x);
        } finally {
            q.destroy();
        }
    }

    /** Stops the Spark context. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            sc.stop();
        }
    }
}
