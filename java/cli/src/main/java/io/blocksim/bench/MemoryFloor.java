package io.blocksim.bench;

import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory floor of a search: one parallel pass that reads every byte of the vectors (summing
 * them with the Vector API, four independent accumulators so the adds never limit the loads). No
 * search over the same data can finish faster than this.
 */
public final class MemoryFloor implements AutoCloseable {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final long CHUNK_BYTES = 1 << 20;

    private final ForkJoinPool pool;
    private final int threads;

    public MemoryFloor(int threads) {
        this.threads = threads;
        this.pool = new ForkJoinPool(threads);
    }

    /** Reads all of {@code data} once; returns the sum so the work cannot be optimized away. */
    public double pass(VectorSet data) {
        List<long[]> chunks = new ArrayList<>();  // {shard, offset, bytes}
        List<VectorShard> shards = data.shards();
        for (int s = 0; s < shards.size(); s++) {
            long bytes = (long) shards.get(s).rows() * data.dim() * Float.BYTES;
            for (long o = 0; o < bytes; o += CHUNK_BYTES) {
                chunks.add(new long[] {s, o, Math.min(CHUNK_BYTES, bytes - o)});
            }
        }
        AtomicInteger next = new AtomicInteger();
        List<Callable<Double>> tasks = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            tasks.add(() -> {
                double total = 0;
                for (int c = next.getAndIncrement(); c < chunks.size(); c = next.getAndIncrement()) {
                    long[] ch = chunks.get(c);
                    total += sum(shards.get((int) ch[0]).vectors(), ch[1], ch[2]);
                }
                return total;
            });
        }
        double sum = 0;
        try {
            for (Future<Double> f : pool.invokeAll(tasks)) {
                sum += f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        return sum;
    }

    private static double sum(MemorySegment seg, long from, long bytes) {
        long vb = S.vectorByteSize();
        long end = from + bytes;
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long o = from;
        for (; o + 4 * vb <= end; o += 4 * vb) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, seg, o + vb, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, seg, o + 2 * vb, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, seg, o + 3 * vb, ByteOrder.LITTLE_ENDIAN));
        }
        double tail = 0;
        for (; o + Float.BYTES <= end; o += Float.BYTES) {
            tail += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD) + tail;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
