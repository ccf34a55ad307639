package io.blocksim.spark;

import io.blocksim.BlocksimException;

/** A failed Spark job as the plain commands report failures. */
final class SparkFailures {
    private SparkFailures() {
    }

    /**
     * The blocksim failure inside {@code e} (a task's, when Spark kept it as the cause) so that the
     * CLI reports it as the plain command would; else a {@link BlocksimException} whose message is
     * Spark's first line (why the job failed, after its task retries).
     */
    static RuntimeException translate(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BlocksimException b) {
                return b;
            }
        }
        String m = e.getMessage() == null ? e.getClass().getName() : e.getMessage().lines().findFirst().orElse("");
        return new BlocksimException("the Spark job failed: " + m + " (run with --verbose for Spark's trace; run the same"
                + " command again to resume)", e);
    }
}
