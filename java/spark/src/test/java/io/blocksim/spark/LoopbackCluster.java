package io.blocksim.spark;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Spark standalone cluster on 127.0.0.1 for tests (DESIGN.md section 8): one master and
 * {@code workers} workers of one core each, started from the Maven jars on this JVM's class path
 * (linked into a SPARK_HOME with an empty RELEASE file). {@link #close} kills every process it
 * started, executors included.
 */
final class LoopbackCluster implements AutoCloseable {
    private final Path home;
    private final List<Process> processes = new ArrayList<>();
    private final int port;

    LoopbackCluster(Path dir, int workers, String workerMemory) throws Exception {
        home = dir.resolve("spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (e.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        Files.writeString(home.resolve("RELEASE"), "");
        port = freePort();
        try {
            start(dir.resolve("master.log"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                    String.valueOf(port), "--webui-port", String.valueOf(freePort()));
            waitFor(dir.resolve("master.log"), "Starting Spark master", 60);
            for (int w = 0; w < workers; w++) {
                Path log = dir.resolve("worker-" + w + ".log");
                start(log, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory",
                        workerMemory, "--webui-port", String.valueOf(freePort()), "--work-dir",
                        Files.createDirectories(dir.resolve("work-" + w)).toString(), master());
            }
            for (int w = 0; w < workers; w++) {
                waitFor(dir.resolve("worker-" + w + ".log"), "Successfully registered with master", 60);
            }
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    String master() {
        return "spark://127.0.0.1:" + port;
    }

    private void start(Path log, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String f : SparkSetup.EXECUTOR_FLAGS.split(" ")) {
            cmd.add(f);
        }
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + "/*");
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        processes.add(pb.start());
    }

    private void waitFor(Path log, String line, int seconds) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            if (Files.exists(log) && Files.readString(log).contains(line)) {
                return;
            }
            for (Process p : processes) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("a Spark process exited (" + p.exitValue() + "); see " + log.getParent());
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no '" + line + "' in " + log + " within " + seconds + " s");
    }

    /**
     * The arguments of a process from /proc (ProcessHandle.Info may leave out a command line as
     * long as an executor's, whose class path is this JVM's).
     */
    static List<String> arguments(ProcessHandle h) {
        try {
            String all = new String(Files.readAllBytes(Path.of("/proc", String.valueOf(h.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8);
            return List.of(all.split("\0"));
        } catch (IOException e) {
            return List.of();  // it exited
        }
    }

    /** The executor JVMs the workers run now. */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process p : processes) {
            p.descendants().filter(h -> arguments(h).contains("org.apache.spark.executor.CoarseGrainedExecutorBackend"))
                    .forEach(out::add);
        }
        return out;
    }

    /** The executor JVM of Spark executor {@code id}, or null. */
    ProcessHandle executor(String id) {
        for (ProcessHandle h : executors()) {
            List<String> args = arguments(h);
            for (int i = 0; i + 1 < args.size(); i++) {
                if (args.get(i).equals("--executor-id") && args.get(i + 1).equals(id)) {
                    return h;
                }
            }
        }
        return null;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** Kills the workers' executors, the workers and the master (SIGKILL), and waits for them. */
    @Override
    public void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
