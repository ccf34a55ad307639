package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import io.blocksim.BlocksimException;
import io.blocksim.ClosedException;
import io.blocksim.DeviceException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.Metric;
import io.blocksim.ModelException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreIncompleteException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.TargetExistsException;
import io.blocksim.model.ModelDevice;
import io.blocksim.model.Site;
import io.blocksim.model.TransformerModel;
import io.blocksim.search.Backends;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.SearchRequest;
import io.blocksim.api.Searcher;
import io.blocksim.spi.SearchBackend;
import io.blocksim.store.Fixtures;
import io.blocksim.store.Npy;
import io.blocksim.store.Store;
import io.blocksim.store.StoreImporter;
import io.blocksim.text.Corpus;
import io.blocksim.text.TestCorpus;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of library failure, provoked for real: the library throws that kind with a one-line
 * message that names no command-line flag, and the CLI prints the same failure as one line on
 * stderr with exit code 2 for a bad argument and 1 for everything else, adding the flag where one
 * is the fix.
 */
class ErrorKindsTest {
    @TempDir
    Path dir;

    /** The library call fails with {@code kind} (exactly), in one line that names no flag. */
    static <T extends BlocksimException> T library(Class<T> kind, Executable call) {
        T e = assertThrows(kind, call);
        assertEquals(kind, e.getClass(), "the kind itself, not a subclass: " + e);
        noFlagOneLine(e);
        return e;
    }

    static void noFlagOneLine(BlocksimException e) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertFalse(e.getMessage().matches("(?s).*(^|\\W)--[a-z].*"), "a library message names no flag: " + e.getMessage());
    }

    /** The CLI exits with {@code code} after one line on stderr that mentions {@code fragment}; nothing on stdout. */
    static String cli(int code, String fragment, String... args) {
        CliTest.Run r = CliTest.run(args);
        String err = r.err().strip();
        assertEquals(code, r.code(), "exit code; stderr: " + err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("blocksim: "), err);
        assertTrue(err.contains(fragment), "stderr should mention '" + fragment + "': " + err);
        assertTrue(r.out().isEmpty(), "nothing on stdout: " + r.out());
        return err;
    }

    @Test
    void aMissingStoreIsNotFound() {
        Path missing = dir.resolve("missing");
        StoreNotFoundException e = library(StoreNotFoundException.class, () -> Store.open(missing));
        assertTrue(e.getMessage().startsWith("no store at " + missing), e.getMessage());
        Path empty = dir.resolve("empty");
        assertTrue(empty.toFile().mkdir());
        library(StoreNotFoundException.class, () -> Store.open(empty));

        cli(1, "no store at", "search", "--store", missing.toString(), "--site", "proj_output", "--prompt", "my most gr");
        cli(1, "no store at", "info", empty.toString());
    }

    @Test
    void aStoreWhoseExtractionStoppedIsIncomplete() {
        Path st = Fixtures.incompleteModelStore(dir.resolve("st"), 1);
        StoreIncompleteException e = library(StoreIncompleteException.class, () -> Store.open(st));
        assertTrue(e.getMessage().contains("incomplete: 1 of 3 shards") && e.getMessage().contains("resume"),
                e.getMessage());

        cli(1, "incomplete", "norms", "--store", st.toString(), "--site", "block_output");
    }

    @Test
    void aTruncatedShardIsDamage() throws Exception {
        Path st = Fixtures.modelStore(dir.resolve("st"));
        Path shard = st.resolve("block_output-b0-t3/vectors-00001.npy");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() - 10);
        }
        StoreDamagedException e = library(StoreDamagedException.class, () -> Store.open(st));
        assertTrue(e.getMessage().contains("vectors-00001.npy") && e.getMessage().contains("truncated"), e.getMessage());

        cli(1, "truncated", "norms", "--store", st.toString(), "--site", "block_output");
    }

    @Test
    void anotherFormatVersionIsIncompatible() throws Exception {
        Path st = Fixtures.modelStore(dir.resolve("st"));
        Path manifest = st.resolve("manifest.json");
        Files.writeString(manifest, Files.readString(manifest).replaceFirst("\"format_version\"\\s*:\\s*1",
                "\"format_version\" : 99"));
        StoreIncompatibleException e = library(StoreIncompatibleException.class, () -> Store.open(st));
        assertTrue(e.getMessage().contains("format version 99"), e.getMessage());

        cli(1, "format version 99", "info", st.toString());
        cli(1, "format version 99", "search", "--store", st.toString(), "--site", "block_output", "--prompt", "ab c");
    }

    @Test
    void badArgumentsAreUsageErrors() throws Exception {
        Path st = CliTest.imported(dir);
        String q = dir.resolve("q.npy").toString();
        float[][] queries = SearchCommand.readQueries(dir.resolve("q.npy"));
        try (Store s = Store.open(st); BlocksimStore bs = BlocksimStore.open(st);
                Searcher cpu = Searcher.builder(bs).backend("cpu").build()) {
            InvalidArgumentException k = library(InvalidArgumentException.class,
                    () -> cpu.search(SearchRequest.builder("vectors", 0).vectors(queries).k(0).build()));
            assertTrue(k.getMessage().contains("k = 0"), k.getMessage());
            library(InvalidArgumentException.class, () -> s.entry("nosuch", 0, -1));
            library(InvalidArgumentException.class, () -> s.resolvePosition(1));
        }
        library(InvalidArgumentException.class, () -> Site.parse("nosuch"));
        library(InvalidArgumentException.class, () -> Metric.parse("dot"));

        cli(2, "k = 0", "search", "--store", st.toString(), "--site", "vectors", "--query-npy", q, "-k", "0");
        cli(2, "has no nosuch", "search", "--store", st.toString(), "--site", "nosuch", "--query-npy", q);
        Path model = Fixtures.modelStore(dir.resolve("model-store"));
        cli(2, "unknown site 'nosuch'", "search", "--store", model.toString(), "--site", "nosuch", "--query-npy", q);
        cli(2, "unknown metric", "search", "--store", st.toString(), "--site", "vectors", "--query-npy", q,
                "--metric", "dot");
    }

    @Test
    void aBadQueryFileIsInvalidData() throws Exception {
        Path st = CliTest.imported(dir);
        Path text = Files.writeString(dir.resolve("q.txt"), "1,2,3\n4,5,6\n");
        InvalidDataException notNpy = assertThrows(InvalidDataException.class, () -> SearchCommand.readQueries(text));
        noFlagOneLine(notNpy);
        assertTrue(notNpy.getMessage().contains("not a .npy file"), notNpy.getMessage());
        Path ints = dir.resolve("ints.npy");
        Npy.writeInts(ints, new int[] {1, 2, 3});
        InvalidDataException notFloat = library(InvalidDataException.class, () -> SearchCommand.readQueries(ints));
        // numpy's names for the dtype and its shape, never the Java enum's (INT32) or Arrays.toString
        assertTrue(notFloat.getMessage().contains("holds int32 ('<i4') values of shape (3,): queries are float32 ('<f4');"
                + " convert it with numpy.save(f, a.astype('<f4'))"), notFloat.getMessage());
        assertFalse(notFloat.getMessage().contains("INT32"), notFloat.getMessage());
        CliTest.writeQueries(dir.resolve("wide.npy"), new float[][] {new float[9]});
        float[][] wide = SearchCommand.readQueries(dir.resolve("wide.npy"));
        try (BlocksimStore s = BlocksimStore.open(st); Searcher cpu = Searcher.builder(s).backend("cpu").build()) {
            InvalidDataException dim = library(InvalidDataException.class,
                    () -> cpu.search(SearchRequest.builder("vectors", 0).vectors(wide).k(1).build()));
            assertTrue(dim.getMessage().contains("9 values"), dim.getMessage());
        }

        cli(1, "not a .npy file", "search", "--store", st.toString(), "--site", "vectors", "--query-npy", text.toString());
        cli(1, "float32", "search", "--store", st.toString(), "--site", "vectors", "--query-npy", ints.toString());
        cli(1, "9 values", "search", "--store", st.toString(), "--site", "vectors", "--query-npy",
                dir.resolve("wide.npy").toString());
    }

    @Test
    void anOutputFolderThatIsTakenIsRefused() throws Exception {
        Path st = CliTest.imported(dir);
        TargetExistsException e = library(TargetExistsException.class, () -> StoreImporter.importVectors(
                dir.resolve("x.npy"), dir.resolve("labels.txt"), st, "vectors"));
        assertTrue(e instanceof InvalidArgumentException, "a taken output folder is a bad argument");

        cli(2, "already exists", "import", "--vectors", dir.resolve("x.npy").toString(), "--labels",
                dir.resolve("labels.txt").toString(), "--out", st.toString());
    }

    @Test
    void aClosedStoreSaysSo() {
        Store s = Store.open(Fixtures.modelStore(dir.resolve("st")));
        s.close();
        ClosedException e = library(ClosedException.class, () -> s.entry("block_output", 0, -1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void aMissingFileIsAFileAccessFailure() throws Exception {
        Path none = dir.resolve("none.txt");
        library(FileAccessException.class, () -> Corpus.read(none));

        cli(1, "none.txt", "extract", "--out", dir.resolve("st").toString(), "--dataset", none.toString(),
                "--device", "cpu");
        assertFalse(Files.exists(dir.resolve("st")), "nothing written");
    }

    @Test
    void aFileThatIsNoModelIsAModelFailure() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.onnx"), "not a model");
        ModelException e = library(ModelException.class, () -> TransformerModel.open(bad, 1));
        assertTrue(e.getMessage().contains("bad.onnx"), e.getMessage());

        Path st = Fixtures.modelStore(dir.resolve("st"));
        cli(1, "bad.onnx", "search", "--store", st.toString(), "--site", "block_output", "--prompt", "ab c",
                "--model", bad.toString());
    }

    @Test
    void aCudaProviderThatDoesNotStartIsADeviceFailure() {
        DeviceException e = library(DeviceException.class,
                () -> ModelDevice.CUDA.decide(true, "no CUDA-capable device is detected"));
        assertTrue(e.getMessage().contains("no CUDA-capable device"), e.getMessage());
        // asked for on a build without the provider: a usage error, not a device failure
        library(InvalidArgumentException.class, () -> ModelDevice.CUDA.decide(false, null));
    }

    /** Where a flag is the fix, the CLI names it; the library's message does not. */
    @Test
    void theCliAddsTheFlagThatFixesIt() throws Exception {
        cli(2, "--rows must be at least 2", "norms", "--store", Fixtures.modelStore(dir.resolve("n")).toString(),
                "--site", "block_output", "--rows", "1");

        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, Files.readString(TestCorpus.path()).substring(0, 2000));
        // a store of another model at --out: refused, and --force starts it over
        Path other = Fixtures.modelStore(dir.resolve("other"));
        String manifest = Files.readString(other.resolve("manifest.json"));
        String err = cli(1, "(--force)", "extract", "--out", other.toString(), "--dataset", corpus.toString(),
                "--sites", "proj_output", "--blocks", "0", "--device", "cpu");
        assertTrue(err.contains("was made by model"), err);
        assertEquals(manifest, Files.readString(other.resolve("manifest.json")), "the refused store is untouched");
        cli(2, "--slen 300 is outside 1..256", "extract", "--out", dir.resolve("x").toString(), "--dataset",
                corpus.toString(), "--slen", "300", "--device", "cpu");

        Assumptions.assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
                "this build has the CUDA provider");
        err = cli(2, "(--device cpu)", "extract", "--out", dir.resolve("y").toString(), "--dataset", corpus.toString(),
                "--device", "cuda");
        assertTrue(err.contains("no CUDA provider"), err);
        assertFalse(Files.exists(dir.resolve("y")), "nothing written");
    }
}
