package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.store.Fixtures;
import io.blocksim.store.Npy;

import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --timings} names where a command's wall time went, on stderr, after the command's own output. */
class TimingsFlagTest {
    @Test
    void searchNamesItsPhases(@TempDir Path dir) throws Exception {
        Path st = Fixtures.modelStore(dir.resolve("st"));
        float[] q = new float[8];
        q[0] = 1;
        Npy.writeFloats(dir.resolve("q.npy"), q, 1, 8);
        long launched = System.currentTimeMillis() * 1_000_000L;
        LocaleTest.Forked r = LocaleTest.fork(Map.of("BLOCKSIM_LAUNCH_NS", Long.toString(launched)), "search", "--store",
                st.toString(), "--site", "block_output", "--block", "1", "--position", "3", "--query-npy", dir.resolve("q.npy").toString(),
                "-k", "2", "--device", "cpu", "--timings");
        assertEquals(0, r.code(), "err[" + r.err() + "] out[" + new String(r.out()) + "]");
        String line = r.err().lines().filter(l -> l.startsWith("blocksim: timings:")).findFirst().orElseThrow(() -> new AssertionError(r.err()));
        for (String phase : new String[] {"jvm start", "open store", "read queries", "pick backend", "search on cpu",
                "labels", "print"}) {
            assertTrue(Pattern.compile("[:,] " + phase + " \\d+ ms").matcher(line).find(), phase + " in " + line);
        }
        Matcher all = Pattern.compile("; main (\\d+) ms in all$").matcher(line);
        assertTrue(all.find(), line);
        Matcher search = Pattern.compile("search on cpu (\\d+) ms").matcher(line);
        assertTrue(search.find() && Long.parseLong(search.group(1)) <= Long.parseLong(all.group(1)), line);
        // without the flag: no such line
        LocaleTest.Forked plain = LocaleTest.fork(Map.of(), "search", "--store", st.toString(), "--site", "block_output",
                "--block", "1", "--position", "3", "--query-npy", dir.resolve("q.npy").toString(), "-k", "2", "--device", "cpu");
        assertEquals(0, plain.code(), plain.err());
        assertTrue(plain.err().lines().noneMatch(l -> l.startsWith("blocksim: timings:")), plain.err());
    }
}
