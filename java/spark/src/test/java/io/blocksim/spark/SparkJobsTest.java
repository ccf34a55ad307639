package io.blocksim.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.cli.Main;
import io.blocksim.store.StoreVerifier;
import io.blocksim.text.TestCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code blocksim spark extract} and {@code spark similars} against the plain commands, through
 * the command line in this JVM (the driver): the first 20,000 strings of TinyShakespeare in shards
 * of 4,096 strings, and 300 sampled strings' neighbours at every default entry; on {@code local[2]}
 * and on a standalone cluster on 127.0.0.1 (a master, two one-core workers), where one executor
 * JVM is killed mid-job. Every store and results folder must be the plain command's, file for file.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkJobsTest {
    static final String STRINGS = "20000";
    static final String SHARD = "4096";
    static final String SAMPLES = "300";
    private static Path work;
    private static Path plainStore;
    private static Path plainResults;

    @BeforeAll
    static void workFolder() throws IOException {
        work = Files.createTempDirectory("blocksim-spark-test");
    }

    @AfterAll
    static void deleteWork() throws IOException {
        if (work != null) {
            io.blocksim.store.FileOps.deleteRecursively(work);
        }
    }

    static int plain(String... args) {
        return Main.execute(args);
    }

    static int spark(String... args) {
        return Main.executeWith(new Object[] {new SparkCommand()}, args);
    }

    /** The plain commands' store and results, made once for both tests. */
    static synchronized void references(Path corpus) {
        if (plainStore != null) {
            return;
        }
        Path store = work.resolve("plain-store");
        Path results = work.resolve("plain-results");
        assertEquals(0, plain("extract", "--dataset", corpus.toString(), "--out", store.toString(), "--limit", STRINGS,
                "--shard-rows", SHARD));
        assertEquals(0, plain("similars", "--store", store.toString(), "--out", results.toString(), "--samples", SAMPLES,
                "--seed", "11"));
        plainStore = store;
        plainResults = results;
    }

    static String[] driverConf(String master) {
        return new String[] {"--verbose", "--master", master, "--conf", "spark.driver.host=127.0.0.1", "--conf",
            "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false"};
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static String[] extract(Path corpus, Path out, String... conf) {
        return concat(concat(new String[] {"spark", "extract", "--dataset", corpus.toString(), "--out", out.toString(),
            "--limit", STRINGS, "--shard-rows", SHARD}, conf));
    }

    static String[] similars(Path out, String... conf) {
        return concat(concat(new String[] {"spark", "similars", "--store", plainStore.toString(), "--out", out.toString(),
            "--samples", SAMPLES, "--seed", "11"}, conf));
    }

    /** Every file of {@code a} (but the writer's lock) is in {@code b} with the same bytes, and no other. */
    static void assertSameFiles(Path a, Path b) throws IOException {
        List<String> na = names(a);
        assertEquals(na, names(b), "the files of " + b);
        assertTrue(na.size() > 10, "files of " + a + ": " + na);
        for (String f : na) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
    }

    static List<String> names(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (var s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).filter(n -> !n.equals(".lock")).sorted()
                    .forEach(out::add);
        }
        return out;
    }

    /**
     * Runs the Spark driver ({@link SparkMain}) with {@code args} in a JVM of its own, kills it
     * (SIGKILL) as soon as the store's manifest lists a committed shard, and returns how many
     * shards it lists then.
     */
    static int killedDriver(String[] args, Path store) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(SparkSetup.EXECUTOR_FLAGS.split(" ")));
        cmd.addAll(List.of("-Xmx2g", "-cp", System.getProperty("java.class.path"), SparkMain.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve("driver.log").toFile()).start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (System.nanoTime() < end && p.isAlive()) {
                if (Files.exists(store.resolve(io.blocksim.store.Manifest.FILE))) {
                    int done = io.blocksim.store.Manifest.read(store).shardsDone();
                    if (done > 0) {
                        p.destroyForcibly();
                        p.waitFor(30, TimeUnit.SECONDS);
                        return done;
                    }
                }
                Thread.sleep(100);
            }
            throw new AssertionError("the driver committed no shard (alive: " + p.isAlive() + "); see "
                    + Files.readString(work.resolve("driver.log")));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    @Test
    @Order(1)
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void localMasterMakesThePlainCommandsBytesAndResumesAfterAKilledDriver() throws Exception {
        Path corpus = TestCorpus.path();
        references(corpus);
        Path store = work.resolve("local-store");
        // a driver killed (SIGKILL) once its first shards are committed, then the same command again
        int done = killedDriver(extract(corpus, store, driverConf("local[2]")), store);
        assertTrue(done >= 1 && done < 5, "the driver was killed after " + done + " of 5 shards");
        assertEquals(0, spark(extract(corpus, store, driverConf("local[2]"))));
        assertSameFiles(plainStore, store);
        assertTrue(StoreVerifier.verify(store).ok());
        // resuming a complete store does nothing and changes nothing
        assertEquals(0, spark(extract(corpus, store, driverConf("local[2]"))));
        assertSameFiles(plainStore, store);

        Path results = work.resolve("local-results");
        assertEquals(0, spark(similars(results, concat(driverConf("local[2]"), "--partitions", "3"))));
        assertSameFiles(plainResults, results);
    }

    @Test
    @Order(2)
    @Timeout(value = 400, unit = TimeUnit.SECONDS)
    void standaloneClusterSurvivesAKilledExecutor() throws Exception {
        Path corpus = TestCorpus.path();
        references(corpus);
        try (LoopbackCluster cluster = new LoopbackCluster(Files.createDirectories(work.resolve("cluster")), 2, "1536m")) {
            String[] conf = concat(driverConf(cluster.master()), "--conf", "spark.extraListeners=" + ExecutorKiller.class.getName(),
                    "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0", "--conf", "spark.executor.memory=640m",
                    "--conf", "spark.executor.memoryOverhead=384m");

            // extraction: the executor that starts the third shard dies with it; the shard runs again elsewhere
            ExecutorKiller.arm(cluster, 3);
            Path store = work.resolve("cluster-store");
            assertEquals(0, spark(extract(corpus, store, conf)));
            assertNotNull(ExecutorKiller.killed, "an executor was killed during the extraction");
            assertTrue(ExecutorKiller.lost, "the driver lost executor " + ExecutorKiller.killed);
            assertSameFiles(plainStore, store);

            // similars: 8 row ranges per entry; the executor that starts the tenth task (the second entry's) dies
            ExecutorKiller.arm(cluster, 10);
            Path results = work.resolve("cluster-results");
            assertEquals(0, spark(similars(results, concat(conf, "--partitions", "8"))));
            assertNotNull(ExecutorKiller.killed, "an executor was killed during similars");
            assertTrue(ExecutorKiller.lost, "the driver lost executor " + ExecutorKiller.killed);
            assertSameFiles(plainResults, results);
        } finally {
            ExecutorKiller.arm(null, 0);
        }
    }
}
