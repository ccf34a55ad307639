package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's ahead-of-time cache, with a stand-in JDK whose {@code java} logs its arguments
 * (and writes the cache file a training run names): one training run per build, the cache used by
 * every run after, a new one when the jar changes, none with BLOCKSIM_AOT=0, and a failed training
 * run costs nothing but a line.
 */
class LauncherAotTest {
    @TempDir
    Path tmp;
    Path project;
    Path log;

    @BeforeEach
    void setUp() throws Exception {
        project = tmp.resolve("project");
        Path jar = project.resolve("java/cli/target/blocksim.jar");
        Files.createDirectories(jar.getParent().resolve("lib"));
        Files.writeString(jar, "jar v1");
        Files.writeString(jar.getParent().resolve("lib/dep.jar"), "dep");
        Path launcher = Path.of("../../blocksim").toAbsolutePath().normalize();
        Files.copy(launcher, project.resolve("blocksim"));
        Path jdk = tmp.resolve("jdk");
        Files.createDirectories(jdk.resolve("bin"));
        Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"25.0.1\"\n");
        log = tmp.resolve("calls.log");
        Path java = jdk.resolve("bin/java");
        Files.writeString(java, """
                #!/usr/bin/env bash
                echo "$*" >> "%s"
                prev=""
                for a in "$@"; do
                  case "$a" in
                    -XX:AOTCacheOutput=*) [ -n "${FAIL_TRAINING:-}" ] && exit 1; echo cache > "${a#-XX:AOTCacheOutput=}" ;;
                  esac
                  [ "$prev" = --native-dir ] && mkdir -p "$a" && echo lib > "$a/libonnxruntime.so"
                  prev="$a"
                done
                exit 0
                """.formatted(log));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private List<String> run(String... env) throws Exception {
        Files.deleteIfExists(log);
        ProcessBuilder pb = new ProcessBuilder("bash", project.resolve("blocksim").toString(), "info", "x");
        pb.environment().put("BLOCKSIM_JAVA_HOME", tmp.resolve("jdk").toString());
        pb.environment().remove("JAVA_HOME");
        for (int i = 0; i < env.length; i += 2) {
            pb.environment().put(env[i], env[i + 1]);
        }
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    private static String cacheOf(String call) {
        for (String a : call.split(" ")) {
            if (a.startsWith("-XX:AOTCache=")) {
                return a.substring("-XX:AOTCache=".length());
            }
        }
        return null;
    }

    @Test
    void trainsOncePerBuildAndUsesTheCacheAfter() throws Exception {
        List<String> first = run();
        assertEquals(2, first.size(), first.toString());
        assertTrue(first.get(0).contains("-XX:AOTCacheOutput=") && first.get(0).contains("io.blocksim.cli.Main aot-train"),
                first.get(0));
        String cache = cacheOf(first.get(1));
        assertTrue(cache != null && Files.isRegularFile(Path.of(cache)), first.get(1));
        assertTrue(first.get(1).endsWith("io.blocksim.cli.Main info x"), first.get(1));
        // ONNX Runtime's libraries, copied out of its jar by the same run, are loaded from there
        assertTrue(first.get(0).contains("aot-train --native-dir "), first.get(0));
        assertTrue(first.get(1).contains("-Donnxruntime.native.path=" + project.resolve("java/cli/target/aot/ort-native-")),
                first.get(1));

        List<String> second = run();
        assertEquals(1, second.size(), "no training once the cache exists: " + second);
        assertEquals(cache, cacheOf(second.get(0)));

        // a rebuilt jar makes a new cache and removes the old one
        Files.writeString(project.resolve("java/cli/target/blocksim.jar"), "jar v2, longer");
        List<String> third = run();
        assertEquals(2, third.size(), third.toString());
        String newCache = cacheOf(third.get(1));
        assertNotEquals(cache, newCache);
        assertFalse(Files.exists(Path.of(cache)), "the old build's cache is removed");
    }

    @Test
    void offAndFailedTrainingRunWithoutIt() throws Exception {
        List<String> off = run("BLOCKSIM_AOT", "0");
        assertEquals(1, off.size(), off.toString());
        assertEquals(null, cacheOf(off.get(0)));
        assertFalse(off.get(0).contains("onnxruntime.native.path"), off.get(0));

        List<String> failed = run("FAIL_TRAINING", "1");
        assertEquals(2, failed.size(), failed.toString());
        assertEquals(null, cacheOf(failed.get(1)), "a failed training run leaves the command to run without a cache");
        try (var files = Files.list(project.resolve("java/cli/target/aot"))) {
            assertEquals(0, files.count(), "no half-written cache is left");
        }
    }
}
