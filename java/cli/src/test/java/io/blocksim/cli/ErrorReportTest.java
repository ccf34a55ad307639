package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.StoreChangedException;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** Any failure, Errors from worker threads included, is one line unless --verbose (issue 14, kind 3). */
class ErrorReportTest {
    private record Report(int code, String text) {
    }

    private static Report report(Throwable t, boolean verbose) {
        StringWriter out = new StringWriter();
        int code = Main.report(t, new PrintWriter(out), verbose);
        return new Report(code, out.toString());
    }

    private static void assertOneLine(Report r, int code, String text) {
        assertEquals(code, r.code(), r.text());
        assertEquals(1, r.text().lines().count(), r.text());
        assertTrue(r.text().startsWith("blocksim: ") && r.text().contains(text), r.text());
        assertFalse(r.text().contains("\tat "), r.text());
    }

    @Test
    void aFaultInAMappedFileIsOneLineThatPointsToVerify() {
        Report r = report(new InternalError("a fault occurred in an unsafe memory access operation"), false);
        assertOneLine(r, CliError.DATA, "blocksim verify");
    }

    @Test
    void aStoreThatChangedIsOneLineWithExitCode1() {
        Report r = report(new StoreChangedException("store s changed after it was opened: x.npy was truncated; verify it"),
                false);
        assertOneLine(r, CliError.DATA, "x.npy was truncated");
    }

    @Test
    void outOfMemoryIsOneLineThatSaysHowToGiveMore() {
        assertOneLine(report(new OutOfMemoryError("Java heap space"), false), 3, "out of memory (Java heap space)");
    }

    @Test
    void anyOtherErrorIsOneLine() {
        assertOneLine(report(new StackOverflowError(), false), 3, "internal error: java.lang.StackOverflowError");
        assertOneLine(report(new AssertionError("two\nlines"), false), 3, "two lines");
    }

    @Test
    void verboseAddsTheTrace() {
        Report r = report(new OutOfMemoryError("Java heap space"), true);
        assertTrue(r.text().contains("\tat "), r.text());
    }
}
