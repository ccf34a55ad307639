package io.blocksim.spark;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskStart;

/**
 * A Spark listener (spark.extraListeners) that kills the executor JVM (SIGKILL) running the
 * {@link #arm armed} task start, and records that the driver then lost that executor. One job
 * under test at a time: the state is static because Spark makes the listener itself.
 */
public final class ExecutorKiller extends SparkListener {
    private static volatile LoopbackCluster cluster;
    private static volatile int killAt;
    private static final AtomicInteger started = new AtomicInteger();
    static volatile String killed;
    static volatile boolean lost;

    /** Kills the executor that starts the {@code n}-th task (1-based) of the next application. */
    static void arm(LoopbackCluster c, int n) {
        cluster = c;
        killAt = n;
        started.set(0);
        killed = null;
        lost = false;
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart e) {
        if (started.incrementAndGet() == killAt && cluster != null) {
            String id = e.taskInfo().executorId();
            ProcessHandle h = cluster.executor(id);
            if (h != null && h.destroyForcibly()) {
                killed = id;
            }
        }
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        if (e.executorId().equals(killed)) {
            lost = true;
        }
    }
}
