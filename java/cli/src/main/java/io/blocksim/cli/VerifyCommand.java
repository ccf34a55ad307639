package io.blocksim.cli;

import io.blocksim.store.StoreVerifier;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check every file of a store against the checksums in its manifest.",
            "Each damaged, truncated or missing file is named; the exit code is 1 if any is found."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "STORE", description = "The store folder.")
    Path store;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        StoreVerifier.Result r;
        long total;
        try (var files = java.nio.file.Files.walk(store)) {
            total = files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            total = -1; // the verifier reports the missing store
        }
        try (ProgressBar bar = Progress.bytes("verify", total)) {
            r = StoreVerifier.verify(store, (name, bytes) -> {
                bar.setExtraMessage(name);
                bar.stepBy(bytes);
            });
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("store", r.dir().toString());
            m.put("ok", r.ok());
            m.put("files_checked", r.filesChecked());
            m.put("bytes_checked", r.bytesChecked());
            m.put("problems", r.problems().stream().map(p -> Map.of("file", p.file(), "message", p.message())).toList());
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
        } else if (r.ok()) {
            System.out.printf("%s: ok (%d files, %.1f MB checked)%n", r.dir(), r.filesChecked(), r.bytesChecked() / 1e6);
        } else {
            List<StoreVerifier.Problem> ps = r.problems();
            System.out.printf("%s: %d problem%s%n", r.dir(), ps.size(), ps.size() == 1 ? "" : "s");
            ps.forEach(p -> System.out.println("  " + p));
        }
        return r.ok() ? 0 : 1;
    }
}
