package io.blocksim.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU backend in a host JVM started without {@code --add-modules jdk.incubator.vector} and
 * without {@code --enable-native-access}: a child JVM runs {@link ScalarSearchMain} (scalar path),
 * this JVM runs the same searches on the vector path, and the answers must agree: the same rows in
 * the same order, scores within 1e-5 and, as documented, with the same bits; norms with the same bits.
 * No blocksim class the child loads may name a {@code jdk.incubator.vector} type.
 */
class ScalarFallbackTest {
    static final String WARNING = "blocksim: jdk.incubator.vector is not enabled; the CPU search runs scalar code"
            + " (start the JVM with --add-modules jdk.incubator.vector for full speed)";

    @TempDir
    Path dir;

    @Test
    void aJvmWithoutTheVectorModuleSearchesScalarWithTheSameAnswersAndOneWarning() throws Exception {
        Path loaded = dir.resolve("classes.log");
        Child child = runChild("plain", "-Xlog:class+load=info:file=" + loaded);
        // exactly our one line: no second warning, and no JVM warning about restricted (native) methods
        assertEquals(List.of(WARNING), child.err(), "the child's stderr");
        assertNoLoadedClassNamesTheVectorApi(loaded);
        List<String> parent = ScalarSearchMain.run();
        assertPairsEqual(parent);
        assertPairsEqual(child.out());
        assertEquals("shape vector=false lanes=" + Vectorization.LANES + " normLanes=" + Vectorization.NORM_LANES,
                child.out().get(0), "the child's path and the widths it detected (this JVM: " + parent.get(0) + ")");
        assertSameAnswers(parent, child.out());
    }

    /**
     * The same at half this machine's width (8 float lanes, 4 double lanes): a child with the Vector
     * API and one without, both limited by {@code -XX:MaxVectorSize=32}, which the scalar path must
     * read from the VM's flags. Needs a machine whose vectors are 512 bits wide.
     */
    @Test
    void atHalfTheWidthTheScalarPathStillMatchesTheVectorPath() throws Exception {
        assumeTrue(Vectorization.LANES == 16 && Vectorization.NORM_LANES == 8, "needs 512-bit vectors");
        Child vector = runChild("vector", "--add-modules", "jdk.incubator.vector", "-XX:MaxVectorSize=32");
        Child scalar = runChild("scalar", "-XX:MaxVectorSize=32");
        assertEquals("shape vector=true lanes=8 normLanes=4", vector.out().get(0));
        assertEquals("shape vector=false lanes=8 normLanes=4", scalar.out().get(0));
        assertEquals(List.of(WARNING), scalar.err(), "the scalar child's stderr");
        assertSameAnswers(vector.out(), scalar.out());
    }

    @Test
    void theChildSeesTheTestClassPath() {
        // the forks above rely on java.class.path naming this module's classes, not a launcher jar
        String cp = System.getProperty("java.class.path");
        assertTrue(List.of(cp.split(File.pathSeparator)).stream().anyMatch(e -> e.endsWith("test-classes")), cp);
    }

    /** Every blocksim class the child loaded is free of references to jdk.incubator.vector. */
    private static void assertNoLoadedClassNamesTheVectorApi(Path log) throws IOException {
        // classes read from class files (not the JVM's hidden lambda classes)
        Pattern line = Pattern.compile("\\] (io\\.blocksim\\.\\S+) source: (file|jar):");
        List<String> loaded = new ArrayList<>();
        for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            Matcher m = line.matcher(l);
            if (m.find()) {
                loaded.add(m.group(1));
            }
        }
        assertTrue(loaded.contains(ScalarKernels.class.getName()), "the child ran the scalar kernels: " + loaded);
        assertTrue(!loaded.contains(CpuKernels.class.getName()), "the child loaded CpuKernels");
        byte[] marker = "jdk/incubator/vector".getBytes(StandardCharsets.US_ASCII);
        List<String> offenders = new ArrayList<>();
        for (String name : loaded) {
            try (InputStream in = ScalarFallbackTest.class.getClassLoader()
                    .getResourceAsStream(name.replace('.', '/') + ".class")) {
                assertTrue(in != null, name + ": class file not found");
                byte[] bytes = in.readAllBytes();
                if (indexOf(bytes, marker) >= 0) {
                    offenders.add(name);
                }
            }
        }
        assertEquals(List.of(), offenders, "classes loaded without the module that name Vector API types");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private record Child(List<String> out, List<String> err) {
    }

    /** Runs ScalarSearchMain in a child JVM with only {@code flags} (no native access, no Vector API unless given). */
    private Child runChild(String name, String... flags) throws IOException, InterruptedException {
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("-Xmx512m");
        cmd.addAll(List.of(flags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ScalarSearchMain.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        // the launcher would pick up flags from these (e.g. --add-modules)
        env.remove("JDK_JAVA_OPTIONS");
        env.remove("JAVA_TOOL_OPTIONS");
        env.remove("_JAVA_OPTIONS");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the " + name + " child JVM did not finish in 180 s");
        }
        List<String> errLines = Files.readAllLines(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), name + " child's exit status; its stderr:\n" + String.join("\n", errLines));
        List<String> outLines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertTrue(!outLines.isEmpty(), name + " child printed nothing");
        return new Child(outLines, errLines);
    }

    /** Line by line after the shape line: norms with the same bits, searches per {@link #compareSearch}. */
    private static void assertSameAnswers(List<String> vector, List<String> scalar) {
        assertEquals(vector.size(), scalar.size(), "lines printed");
        int searches = 0;
        for (int i = 1; i < vector.size(); i++) {
            String want = vector.get(i);
            String got = scalar.get(i);
            if (want.startsWith("norms ")) {
                assertEquals(want, got, "norms (bit-identical on both paths)");
            } else {
                compareSearch(want, got);
                searches++;
            }
        }
        assertTrue(searches > 1000, "searched lines: " + searches);
    }

    /** Each search is printed twice, float32 scan then compressed scan: the two lines are the same. */
    private static void assertPairsEqual(List<String> lines) {
        int pairs = 0;
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).startsWith("search ")) {
                assertEquals(lines.get(i), lines.get(i + 1), "float32 scan, then compressed scan");
                i++;
                pairs++;
            }
        }
        assertTrue(pairs > 500, "pairs: " + pairs);
    }

    /** Rows equal, scores within 1e-5 (relative above 1) and, as documented, with the same bits. */
    private static void compareSearch(String want, String got) {
        String[] w = want.split(" ");
        String[] g = got.split(" ");
        String head = String.join(" ", List.of(w).subList(0, 6));
        assertEquals(head, String.join(" ", List.of(g).subList(0, Math.min(6, g.length))), "line order");
        assertEquals(w.length, g.length, head + ": results");
        List<String> bitDiffs = new ArrayList<>();
        for (int i = 6; i < w.length; i++) {
            String[] wr = w[i].split(":");
            String[] gr = g[i].split(":");
            String at = head + ", place " + (i - 6);
            assertEquals(wr[0], gr[0], at + ": row (vector vs scalar)");
            float ws = Float.intBitsToFloat(Integer.parseUnsignedInt(wr[1], 16));
            float gs = Float.intBitsToFloat(Integer.parseUnsignedInt(gr[1], 16));
            assertEquals(ws, gs, 1e-5 * Math.max(1, Math.abs(ws)), at + ": score");
            if (!wr[1].equals(gr[1])) {
                bitDiffs.add(at + ": " + ws + " vs " + gs);
            }
        }
        assertEquals(List.of(), bitDiffs, "scores that are close but not bit-identical");
    }
}
