package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyDtype;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's output does not depend on the platform's charset: a JVM forked under LANG=C or with
 * no locale at all (its stdout.encoding and sun.jnu.encoding are then ASCII) prints JSON and
 * tables in UTF-8, and a file name it cannot represent is one line naming the locale.
 */
class LocaleTest {
    @TempDir
    Path dir;

    record Forked(int code, byte[] out, String err) {
    }

    /** The CLI in a fresh JVM whose environment is only PATH, HOME and {@code env}. */
    static Forked fork(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.blocksim.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("HOME", System.getProperty("user.home"));
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        var out = p.getInputStream();
        var err = p.getErrorStream();
        byte[][] o = new byte[1][];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                o[0] = out.readAllBytes();
            } catch (java.io.IOException e) {
                o[0] = new byte[0];
            }
        });
        String e = new String(err.readAllBytes(), StandardCharsets.UTF_8);
        t.join();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Forked(p.exitValue(), o[0], e);
    }

    /** Strictly UTF-8, so a '?' or a Latin-1 byte fails rather than passes unnoticed. */
    static String utf8(byte[] b) throws Exception {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    }

    /** A store whose only label is 'é' (one row [1, 2, 3]) and a query file of that row. */
    private Path store() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(3 * 4);
            for (int i = 0; i < 3; i++) {
                x.setAtIndex(Npy.FLOAT32, i, i + 1f);
            }
            Npy.write(dir.resolve("x.npy"), NpyDtype.FLOAT32, new long[] {1, 3}, x);
            Npy.write(dir.resolve("q.npy"), NpyDtype.FLOAT32, new long[] {1, 3}, x);
        }
        Files.writeString(dir.resolve("labels.txt"), "\u00e9\n", StandardCharsets.UTF_8);
        CliTest.Run r = CliTest.run("import", "--vectors", dir.resolve("x.npy").toString(), "--labels",
                dir.resolve("labels.txt").toString(), "--out", dir.resolve("st").toString());
        assertEquals(0, r.code(), r.err());
        return dir.resolve("st");
    }

    @Test
    void jsonAndTablesAreUtf8WhateverTheLocale() throws Exception {
        Path st = store();
        for (Map<String, String> env : List.of(Map.<String, String>of(), Map.of("LANG", "C"), Map.of("LC_ALL", "POSIX"))) {
            Forked json = fork(env, "search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                    dir.resolve("q.npy").toString(), "--k", "1", "--json");
            assertEquals(0, json.code(), env + ": " + json.err());
            JsonNode root = new ObjectMapper().readTree(utf8(json.out()));
            assertEquals("\u00e9", root.get("queries").get(0).get("results").get(0).get("string").asText(), env.toString());
            Forked table = fork(env, "search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                    dir.resolve("q.npy").toString(), "--k", "1");
            assertEquals(0, table.code(), env + ": " + table.err());
            String text = utf8(table.out());
            assertTrue(text.contains("'\u00e9' (1.000)"), env + ": " + text);
            assertFalse(text.contains("?"), env + ": " + text);
        }
    }

    /**
     * Under LANG=C the JVM cannot represent 'é' in a file name (its arguments arrive as U+FFFD):
     * one line that names the locale and the way out, exit 2, never a Java exception. (The
     * launcher runs the JVM under C.UTF-8 in that case, where the name simply works.)
     */
    @Test
    void aFileNameTheLocaleCannotRepresentIsOneLineNamingIt() throws Exception {
        Path st = store();
        Path named = Files.move(st, dir.resolve("st\u00e9"));
        Forked c = fork(Map.of("LANG", "C"), "info", named.toString());
        assertEquals(2, c.code(), c.err());
        assertEquals(1, c.err().strip().lines().count(), c.err());
        assertTrue(c.err().contains("LANG=C, charset ANSI_X3.4-1968") && c.err().contains("LC_ALL=C.UTF-8"), c.err());
        assertFalse(c.err().contains("Exception"), c.err());
        Forked none = fork(Map.of(), "info", named.toString());
        assertEquals(2, none.code(), none.err());
        assertTrue(none.err().contains("no LANG or LC_* set"), none.err());
        Forked utf8 = fork(Map.of("LANG", "C.UTF-8"), "info", named.toString());
        assertEquals(0, utf8.code(), utf8.err());
    }
}
