package io.blocksim.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No test class of any module makes an assumption in {@code @BeforeAll}. An assumption that fails
 * there aborts the class before its tests start, and surefire then reports "Tests run: 0" for it
 * instead of counting its tests as skipped: without the corpus 15 tests silently did not run.
 * Look the resource up in {@code @BeforeAll} without assuming ({@code TestCorpus.find()}) and
 * assume in {@code @BeforeEach} or in the test.
 */
class TestHygieneTest {
    private static final Pattern BEFORE_ALL = Pattern.compile(
            "@BeforeAll\\s+(?:public\\s+|protected\\s+|private\\s+)?static\\s+void\\s+\\w+\\s*\\([^)]*\\)\\s*(?:throws[^{]+)?\\{");

    /** The body of the method whose opening brace ends at {@code open}, up to its matching brace. */
    static String body(String src, int open) {
        int depth = 1;
        int i = open;
        while (i < src.length() && depth > 0) {
            char c = src.charAt(i++);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
        }
        return src.substring(open, i);
    }

    static List<String> problems(Path file, String src) {
        List<String> out = new ArrayList<>();
        Matcher m = BEFORE_ALL.matcher(src);
        while (m.find()) {
            String b = body(src, m.end());
            int line = (int) src.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
            boolean assumes = b.contains("assume") || b.contains("Assumptions.");
            boolean corpus = (b.contains("TestCorpus.path(") || b.contains("TestCorpus.get(")) && !b.contains("TestCorpus.find(");
            if (assumes || corpus) {
                out.add(file + ":" + line + ": @BeforeAll " + (assumes ? "makes an assumption" : "assumes the corpus"
                        + " (TestCorpus.path/get)") + "; use TestCorpus.find() there and assume in @BeforeEach");
            }
        }
        return out;
    }

    @Test
    void noAssumptionInBeforeAll() throws Exception {
        Path root = Path.of(System.getenv().getOrDefault("BLOCKSIM_PROJECT_DIR", "../..")).toAbsolutePath().normalize();
        List<String> bad = new ArrayList<>();
        int classes = 0;
        try (var s = Files.walk(root.resolve("java"))) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/test/")
                    && !p.endsWith("TestHygieneTest.java")).toList()) {
                bad.addAll(problems(root.relativize(f), Files.readString(f)));
                classes++;
            }
        }
        assertTrue(classes > 50, "found only " + classes + " test sources under " + root);
        assertTrue(bad.isEmpty(), String.join("\n", bad));
        // the check itself: the shape that hid 15 tests is found
        assertTrue(!problems(Path.of("X.java"), "@BeforeAll\n    static void a() throws Exception { String t = Files.readString(TestCorpus.path()); }")
                .isEmpty());
        assertTrue(!problems(Path.of("X.java"), "@BeforeAll static void a() { if (x) { y(); } Assumptions.assumeTrue(q); }")
                .isEmpty());
    }
}
