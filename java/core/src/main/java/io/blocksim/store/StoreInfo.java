package io.blocksim.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A description of a store for {@code blocksim info}: read from the manifest and the files'
 * sizes only (nothing is mapped or checksummed), so it also describes an incomplete extraction.
 */
public record StoreInfo(Path path, String format, int formatVersion, String kind, ModelInfo model,
                        String datasetSha256, int stringLength, int stringCount, int shardStrings, int shardsDone,
                        int shardsTotal, List<EntryInfo> entries, long bytes, int shardsWithCodes, int shardFiles,
                        long codeBytes, long vectorBytes) {

    public StoreInfo {
        entries = List.copyOf(entries);
    }

    /**
     * One stored (site, block, position): rows, vector length, shard count and bytes on disk (codes
     * included). The store's {@code shardsWithCodes} of {@code shardFiles} (shards over all entries)
     * have codes, taking {@code codeBytes}; {@code vectorBytes} is the float32 shards' size.
     */
    public record EntryInfo(String site, int block, int position, int rows, int dim, int shards, long bytes) {
    }

    public static StoreInfo of(Path dir) {
        Manifest m = Manifest.read(dir);
        long total = size(dir.resolve(Manifest.FILE));
        if (m.strings() != null) {
            total += size(dir.resolve(m.strings().file()));
        }
        if (m.labels() != null) {
            total += size(dir.resolve(m.labels().file()));
        }
        for (Manifest.PrefixIndexFile p : m.prefixIndexes()) {
            total += size(dir.resolve(p.file()));
        }
        List<EntryInfo> entries = new ArrayList<>();
        int withCodes = 0;
        int shardFiles = 0;
        long codeBytes = 0;
        long vectorBytes = 0;
        for (Manifest.Entry e : m.entries()) {
            long b = 0;
            for (Manifest.Shard s : e.shards()) {
                long v = size(dir.resolve(s.file()));
                vectorBytes += v;
                b += v + size(dir.resolve(s.norms()));
                shardFiles++;
                if (s.codes() != null) {
                    long c = size(dir.resolve(s.codes().file())) + size(dir.resolve(s.codes().scales()));
                    codeBytes += c;
                    b += c;
                    withCodes++;
                }
            }
            total += b;
            entries.add(new EntryInfo(e.site(), e.block(), e.position(), e.rows(), e.dim(), e.shards().size(), b));
        }
        return new StoreInfo(dir, m.format(), m.formatVersion(), m.kind(), m.model(), m.datasetSha256(), m.stringLength(),
                m.stringCount(), m.shardStrings(), m.shardsDone(), m.shardsTotal(), entries, total, withCodes, shardFiles,
                codeBytes, vectorBytes);
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0; // a missing file is verify's business; info describes what is there
        }
    }

    public boolean complete() {
        return shardsDone == shardsTotal;
    }

    public boolean imported() {
        return Manifest.KIND_IMPORTED.equals(kind);
    }

    /** The description as aligned text lines. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add(row("store", path.toString()));
        out.add(row("format", format + " v" + formatVersion + (imported() ? " (imported vectors)" : " (model extraction)")));
        if (model != null) {
            out.add(row("model", "sha256 " + model.sha256()));
            out.add(row("", "n_layer " + model.nLayer() + ", n_embed " + model.nEmbed() + ", n_head " + model.nHead()
                    + ", vocab " + model.vocabSize() + " tokens"));
        }
        if (datasetSha256 != null) {
            out.add(row("dataset", "sha256 " + datasetSha256));
        }
        out.add(row(imported() ? "rows" : "strings", imported() ? String.format(Locale.ROOT, "%,d (labels from labels.txt)", stringCount)
                : String.format(Locale.ROOT, "N = %,d of length L = %d", stringCount, stringLength)));
        out.add(row("shards", shardsDone + " of " + shardsTotal + String.format(Locale.ROOT, " (%,d %s each)", shardStrings,
                imported() ? "rows" : "strings") + (complete() ? ", complete" : ", INCOMPLETE: run the same extract command to resume")));
        out.add(row("size", FileOps.bytes(bytes)));
        out.add(row("codes", shardsWithCodes == 0 ? "none (blocksim index adds them, for the compressed scan)"
                : (shardsWithCodes == shardFiles ? "every shard" : shardsWithCodes + " of " + shardFiles
                + " shards (blocksim index adds the rest)") + String.format(Locale.ROOT, ", %s (%.1f%% of the vectors)",
                FileOps.bytes(codeBytes), 100.0 * codeBytes / Math.max(1, vectorBytes))));
        out.add(row("entries", Integer.toString(entries.size())));
        int w = entries.stream().mapToInt(e -> e.site().length()).max().orElse(4);
        for (EntryInfo e : entries) {
            out.add(String.format(Locale.ROOT, "  %-" + w + "s  block %2d  position %2d  rows %,11d  dim %5d  shards %4d  %10s",
                    e.site(), e.block(), e.position(), e.rows(), e.dim(), e.shards(), FileOps.bytes(e.bytes())));
        }
        return out;
    }

    private static String row(String key, String value) {
        return String.format(Locale.ROOT, "%-9s %s", key, value).stripTrailing();
    }

    /** The description as nested maps and lists, for JSON output. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", path.toString());
        m.put("format", format);
        m.put("format_version", formatVersion);
        m.put("kind", kind);
        if (model == null) {
            m.put("model", null);
        } else {
            Map<String, Object> mm = new LinkedHashMap<>();
            mm.put("sha256", model.sha256());
            mm.put("n_layer", model.nLayer());
            mm.put("n_embed", model.nEmbed());
            mm.put("n_head", model.nHead());
            mm.put("vocab_size", model.vocabSize());
            mm.put("vocab", model.vocab());
            m.put("model", mm);
        }
        m.put("dataset_sha256", datasetSha256);
        m.put("L", stringLength);
        m.put("N", stringCount);
        m.put("shard_strings", shardStrings);
        m.put("shards_done", shardsDone);
        m.put("shards_total", shardsTotal);
        m.put("complete", complete());
        m.put("bytes", bytes);
        m.put("shards_with_codes", shardsWithCodes);
        m.put("code_bytes", codeBytes);
        List<Map<String, Object>> es = new ArrayList<>();
        for (EntryInfo e : entries) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("site", e.site());
            em.put("block", e.block());
            em.put("position", e.position());
            em.put("rows", e.rows());
            em.put("dim", e.dim());
            em.put("shards", e.shards());
            em.put("bytes", e.bytes());
            es.add(em);
        }
        m.put("entries", es);
        return m;
    }
}
