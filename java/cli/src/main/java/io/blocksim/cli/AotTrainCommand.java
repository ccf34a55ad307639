package io.blocksim.cli;

import io.blocksim.api.BlocksimStore;
import io.blocksim.api.Models;
import io.blocksim.api.NormRow;
import io.blocksim.demo.DemoResults;
import io.blocksim.demo.NormChart;
import io.blocksim.spi.PromptEncoder;
import io.blocksim.store.Npy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The training run of the launcher's ahead-of-time cache (JEPs 483, 514, 515): the JVM runs this
 * under {@code -XX:AOTCacheOutput} once per build and stores the classes it loaded and linked and
 * the method profiles it gathered, so later runs skip that work. It does what users' commands do,
 * on a small imported store in a temporary folder: open, info, searches of 1 and 8 queries by
 * cosine and L2 as tables and JSON, and one prompt through the model. Hidden; prints nothing.
 */
@Command(name = "aot-train", hidden = true, description = "Training run for the launcher's startup cache.")
final class AotTrainCommand implements Callable<Integer> {
    static final int ROWS = 40_000;
    static final int DIM = 384;
    /** One of ONNX Runtime's native libraries, found to locate the folder of them in its jar. */
    static final String ORT_LIBRARY = "libonnxruntime.so";

    @Option(names = "--native-dir", paramLabel = "DIR",
            description = "Also copy ONNX Runtime's native libraries here (loaded with -Donnxruntime.native.path=DIR"
                    + " instead of being unpacked from the jar by every process).")
    Path nativeDir;

    @Override
    public Integer call() throws IOException {
        if (nativeDir != null) {
            extractOrtNatives(nativeDir);
        }
        Path tmp = Files.createTempDirectory("blocksim-aot-train");
        PrintStream out = System.out;
        PrintStream err = System.err;
        try {
            SplittableRandom rnd = new SplittableRandom(42);
            float[] v = new float[ROWS * DIM];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rnd.nextGaussian();
            }
            Path vectors = tmp.resolve("vectors.npy");
            Npy.writeFloats(vectors, v, ROWS, DIM);
            StringBuilder labels = new StringBuilder();
            for (int i = 0; i < ROWS; i++) {
                labels.append("row ").append(i).append('\n');
            }
            Files.writeString(tmp.resolve("labels.txt"), labels);
            Path store = tmp.resolve("store");
            BlocksimStore.importVectors(vectors, tmp.resolve("labels.txt"), store, "proj_output");
            Npy.writeFloats(tmp.resolve("q1.npy"), Arrays.copyOf(v, DIM), 1, DIM);
            Npy.writeFloats(tmp.resolve("q2.npy"), Arrays.copyOfRange(v, DIM, 3 * DIM), 2, DIM);
            Npy.writeFloats(tmp.resolve("q8.npy"), Arrays.copyOfRange(v, DIM, 9 * DIM), 8, DIM);
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            System.setOut(quiet);
            System.setErr(quiet);
            String s = store.toString();
            Main.execute("info", s);
            for (String q : List.of("q1.npy", "q2.npy", "q8.npy")) {  // one query, the demo's two prompts, a batch
                for (String metric : List.of("cosine", "l2")) {
                    for (int round = 0; round < 3; round++) {  // enough calls for the kernels' profiles
                        Main.execute("search", "--store", s, "--site", "proj_output", "--block", "0", "--position", "0",
                                "--query-npy", tmp.resolve(q).toString(), "--metric", metric);
                        Main.execute("search", "--store", s, "--site", "proj_output", "--block", "0", "--position", "0",
                                "--query-npy", tmp.resolve(q).toString(), "--metric", metric, "--json", "--device", "cpu");
                    }
                }
            }
            // the demo's chart: AWT and JFreeChart are most of a demo's class loading
            List<NormRow> rows = List.of(new NormRow(0, 100, 1.0, 0.1), new NormRow(1, 100, 2.0, 0.2));
            NormChart.png(List.of(new DemoResults.NormTable("proj_output", rows, "training"),
                    new DemoResults.NormTable("ffwd_output", rows, "training")), "training");
            if (Models.available()) {
                try (PromptEncoder m = Models.open(null)) {
                    m.lastPositionVectors(List.of("my most gr", "the king"), "proj_output", 5);
                } catch (RuntimeException e) {
                    // no shipped model in this build: the cache still covers the rest
                }
            }
        } finally {
            System.setOut(out);
            System.setErr(err);
            try (Stream<Path> walk = Files.walk(tmp)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }

    /**
     * Copies every file of the folder in ONNX Runtime's jar that holds this platform's
     * {@value #ORT_LIBRARY} (the JNI library and, in a CUDA build, the provider libraries beside
     * it) into {@code dir}. Nothing is copied when the jar or the library is not on the class path.
     */
    static int extractOrtNatives(Path dir) throws IOException {
        String arch = System.getProperty("os.arch").replace("amd64", "x64").replace("x86_64", "x64");
        String folder = "ai/onnxruntime/native/linux-" + arch + "/";
        URL lib = ClassLoader.getSystemResource(folder + ORT_LIBRARY);
        if (lib == null || !"jar".equals(lib.getProtocol())) {
            return 0;
        }
        String spec = lib.getPath();  // file:/.../onnxruntime-x.jar!/ai/...
        Path jar;
        try {
            jar = Path.of(new URI(spec.substring(0, spec.indexOf("!/"))));
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate ONNX Runtime's jar from " + lib, e);
        }
        Files.createDirectories(dir);
        int n = 0;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            for (ZipEntry e : Collections.list(zip.entries())) {
                String name = e.getName();
                if (!e.isDirectory() && name.startsWith(folder) && name.indexOf('/', folder.length()) < 0) {
                    try (InputStream in = zip.getInputStream(e)) {
                        Files.copy(in, dir.resolve(name.substring(folder.length())),
                                StandardCopyOption.REPLACE_EXISTING);
                    }
                    n++;
                }
            }
        }
        return n;
    }
}
