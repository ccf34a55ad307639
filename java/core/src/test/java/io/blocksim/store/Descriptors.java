package io.blocksim.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/** Open file descriptors of this JVM, from /proc/self/fd (Linux): to prove a file was closed, not just forgotten. */
final class Descriptors {
    private static final Path FDS = Path.of("/proc/self/fd");

    private Descriptors() {
    }

    /** Skips the calling test where the platform has no /proc/self/fd. */
    static void assumeAvailable() {
        Assumptions.assumeTrue(Files.isDirectory(FDS), "needs /proc/self/fd");
    }

    /** How many descriptors refer to {@code file} (also after it was deleted or renamed away from there). */
    static long to(Path file) throws IOException {
        String want = file.toAbsolutePath().normalize().toString();
        long n = 0;
        try (Stream<Path> fds = Files.list(FDS)) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.equals(want) || target.equals(want + " (deleted)")) {
                        n++;
                    }
                } catch (IOException e) {
                    // closed while listing (the listing's own descriptor): not ours
                }
            }
        }
        return n;
    }
}
