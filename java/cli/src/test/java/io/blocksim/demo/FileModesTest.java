package io.blocksim.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.model.PrefixExtractor;
import io.blocksim.model.Site;
import io.blocksim.model.StoreExtraction;
import io.blocksim.model.Target;
import io.blocksim.model.TransformerModel;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyDtype;
import io.blocksim.store.StoreImporter;
import io.blocksim.text.Corpus;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every folder and file the tool creates gets the mode a plain mkdir or create gets under the
 * caller's umask, also where it is built under a temporary name and renamed into place (a
 * temp folder from Files.createTempDirectory is 0700 and would stay so). POSIX only.
 */
class FileModesTest {
    @TempDir
    Path dir;

    private Set<PosixFilePermission> plainDir;
    private Set<PosixFilePermission> plainFile;

    @BeforeEach
    void reference() throws Exception {
        Assumptions.assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"),
                "modes are POSIX");
        plainDir = Files.getPosixFilePermissions(Files.createDirectory(dir.resolve("plain-dir")));
        plainFile = Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain-file")));
    }

    /** Every folder under {@code root} (itself included) has the plain folder's mode, every file the plain file's. */
    private void assertPlainModes(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                Set<PosixFilePermission> want = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? plainDir : plainFile;
                assertEquals(PosixFilePermissions.toString(want),
                        PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)),
                        dir.relativize(p).toString());
            }
        }
    }

    @Test
    void anImportedStoreHasPlainModes() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(2 * 3 * 4);
            for (int i = 0; i < 6; i++) {
                x.setAtIndex(Npy.FLOAT32, i, i + 1f);
            }
            Npy.write(dir.resolve("x.npy"), NpyDtype.FLOAT32, new long[] {2, 3}, x);
        }
        Files.writeString(dir.resolve("labels.txt"), "a\nb\n");
        StoreImporter.importVectors(dir.resolve("x.npy"), dir.resolve("labels.txt"), dir.resolve("imported"), "vectors", 0);
        assertPlainModes(dir.resolve("imported"));
        // and in a parent folder the import made
        StoreImporter.importVectors(dir.resolve("x.npy"), dir.resolve("labels.txt"), dir.resolve("new/parent/st"), "vectors", 0);
        assertPlainModes(dir.resolve("new"));
    }

    @Test
    void anExtractedStoreHasPlainModes() throws Exception {
        Path text = Files.writeString(dir.resolve("input.txt"),
                "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n");
        try (TransformerModel model = TransformerModel.openDefault()) {
            StoreExtraction.run(model, Corpus.read(text), 10, 20, List.of(new Target(Site.PROJ_OUTPUT, 0, 9)), 8,
                    PrefixExtractor.Options.defaults(), dir.resolve("extracted"), false, n -> { }, line -> { });
        }
        assertPlainModes(dir.resolve("extracted"));
    }

    @Test
    void aReportHasPlainModes() throws Exception {
        Path out = ReportWriter.write(ReportWriterTest.results(false), dir.resolve("report"));
        assertPlainModes(out);
        ReportWriter.write(ReportWriterTest.results(true), out); // replacing an earlier report
        assertPlainModes(out);
        assertTrue(Files.isRegularFile(out.resolve(ReportWriter.MARKDOWN)));
    }
}
