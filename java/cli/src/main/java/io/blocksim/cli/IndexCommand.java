package io.blocksim.cli;

import io.blocksim.store.Manifest;
import io.blocksim.store.StoreIndexer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "index", mixinStandardHelpOptions = true,
        description = {"Add the compressed-scan codes (int8 per row, a scale and an error bound) to every shard of a store"
                + " that lacks them.",
            "Stores extracted or imported by this version have them already; this is for older stores. Atomic and"
                + " idempotent: the manifest names an entry's codes only once they are written, and shards that have codes"
                + " are left alone. 'verify' checks the codes with the rest."})
final class IndexCommand implements Callable<Integer> {
    @Parameters(paramLabel = "STORE", description = "The store folder.")
    Path store;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Manifest m = Manifest.read(store);
        long total = 0;
        for (Manifest.Entry e : m.entries()) {
            for (Manifest.Shard s : e.shards()) {
                if (s.codes() == null) {
                    total += (long) s.rows() * e.dim() * Float.BYTES;
                }
            }
        }
        long t0 = System.nanoTime();
        StoreIndexer.Result r;
        try (ProgressBar bar = Progress.bytes("index", total)) {
            r = StoreIndexer.index(store, (key, shards, bytes) -> {
                bar.setExtraMessage(key.folder());
                bar.stepBy(bytes);
            });
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("store", r.dir().toString());
            out.put("shards_indexed", r.shardsIndexed());
            out.put("shards_already_indexed", r.shardsAlready());
            out.put("code_bytes", r.codeBytes());
            out.put("vector_bytes", r.vectorBytes());
            out.put("seconds", Math.round(seconds * 1000) / 1000.0);
            System.out.println(ResultFormat.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        } else {
            String what = r.shardsIndexed() == 0 ? "every shard already has its codes" : "added codes to " + r.shardsIndexed()
                    + " shard" + (r.shardsIndexed() == 1 ? "" : "s") + (r.shardsAlready() == 0 ? "" : " (" + r.shardsAlready()
                    + " had them)") + String.format(" in %.1f s", seconds);
            System.out.printf("%s: %s; codes take %.1f MB, %.1f%% of the float32 shards%n", r.dir(), what, r.codeBytes() / 1e6,
                    100.0 * r.codeBytes() / Math.max(1, r.vectorBytes()));
        }
        return 0;
    }
}
