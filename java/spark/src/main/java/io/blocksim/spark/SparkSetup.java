package io.blocksim.spark;

import io.blocksim.InvalidArgumentException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The Spark settings blocksim's jobs need, as defaults that {@code --conf} (and spark-submit's
 * {@code --conf}, {@code spark-defaults.conf}) override:
 * <ul>
 * <li>{@code spark.executor.extraJavaOptions}: blocksim's JVM flags (the Vector API module, native
 *     access) and the {@code --add-opens} Spark needs on JDK 25 ({@link #EXECUTOR_FLAGS}); flags the
 *     user gives there are kept after these;
 * <li>{@code spark.jars}: when the driver runs from {@code blocksim-spark.jar}, that jar, the cli's
 *     jar and the cli's libraries beside them (not Spark's own, which every executor has), added to
 *     those spark-submit names; when it
 *     runs from class folders (a build tree), {@code spark.executor.extraClassPath} is the driver's
 *     class path instead, which executors on the same machine (or the same paths) can read;
 * <li>the command's own (executor memory from the shard sizes);
 * <li>{@code spark.ui.showConsoleProgress=false} (the command draws its own progress bar).
 * </ul>
 * Not thread-safe; used once per command.
 */
final class SparkSetup {
    /** blocksim's JVM flags and those Spark needs on JDK 25 (DESIGN.md section 8). */
    static final String EXECUTOR_FLAGS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
            + " --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED"
            + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED"
            + " --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow";

    private SparkSetup() {
    }

    /**
     * The configuration for a job: {@code defaults}, then blocksim's, then spark.* system
     * properties (spark-submit's), then {@code o.conf}; each later one wins.
     *
     * @throws InvalidArgumentException for a {@code --conf} key that is not a Spark setting
     */
    static SparkConf conf(SparkOptions o, String appName, Map<String, String> defaults) {
        Map<String, String> c = new LinkedHashMap<>(defaults);
        c.put("spark.app.name", appName);
        c.put("spark.ui.showConsoleProgress", "false");
        shipClasses(c);
        String ours = c.get("spark.jars");
        for (String k : System.getProperties().stringPropertyNames()) {
            if (k.startsWith("spark.")) {
                c.put(k, System.getProperty(k));
            }
        }
        // spark-submit names the application jar in spark.jars: the cli's jar and libraries go beside it
        if (ours != null && !ours.equals(c.get("spark.jars"))) {
            java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>();
            for (String j : (c.get("spark.jars") + "," + ours).split(",")) {
                if (!j.isBlank()) {
                    all.add(j.trim());
                }
            }
            c.put("spark.jars", String.join(",", all));
        }
        for (Map.Entry<String, String> e : o.conf.entrySet()) {
            if (!e.getKey().startsWith("spark.")) {
                throw new InvalidArgumentException("--conf " + e.getKey() + "=" + e.getValue()
                        + ": Spark settings start with 'spark.'");
            }
            c.put(e.getKey(), e.getValue());
        }
        if (o.master != null) {
            c.put("spark.master", o.master);
        }
        c.putIfAbsent("spark.master", "local[*]");
        String user = c.getOrDefault("spark.executor.extraJavaOptions", "");
        c.put("spark.executor.extraJavaOptions", user.contains(EXECUTOR_FLAGS) ? user : (EXECUTOR_FLAGS + " " + user).trim());
        SparkConf conf = new SparkConf(false);
        c.forEach(conf::set);
        return conf;
    }

    static JavaSparkContext open(SparkConf conf) {
        return new JavaSparkContext(conf);
    }

    /** spark.jars or spark.executor.extraClassPath: see the class comment. */
    private static void shipClasses(Map<String, String> c) {
        Path self = codeSource(SparkSetup.class);
        if (self != null && Files.isRegularFile(self)) {
            Path cli = codeSource(io.blocksim.cli.Main.class);
            List<String> jars = new ArrayList<>();
            jars.add(self.toUri().toString());
            if (cli != null && Files.isRegularFile(cli)) {
                jars.add(cli.toUri().toString());
                for (Path lib : manifestClassPath(cli)) {
                    jars.add(lib.toUri().toString());
                }
            }
            c.put("spark.jars", String.join(",", jars));
        } else {
            c.put("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
    }

    /** The jar or folder a class was loaded from; null when unknown. */
    static Path codeSource(Class<?> type) {
        try {
            var src = type.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI());
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The cli jar's libraries: the names its manifest's Class-Path lists ({@code lib/x.jar}) found
     * beside it (in this module's lib folder the cli jar and its libraries lie side by side; a
     * library Spark brings in another version is left to Spark's).
     */
    private static List<Path> manifestClassPath(Path jar) {
        List<Path> out = new ArrayList<>();
        try (JarFile f = new JarFile(jar.toFile())) {
            Manifest m = f.getManifest();
            String cp = m == null ? null : m.getMainAttributes().getValue("Class-Path");
            if (cp == null) {
                return out;
            }
            for (String name : cp.trim().split("\\s+")) {
                String file = name.substring(name.lastIndexOf('/') + 1);
                for (Path p : new Path[] {jar.resolveSibling(file), jar.resolveSibling(name)}) {
                    if (Files.isRegularFile(p)) {
                        out.add(p);
                        break;
                    }
                }
            }
        } catch (IOException e) {
            // no manifest to read: the executors must have the libraries already (spark.jars)
        }
        return out;
    }
}
