package io.blocksim.similars;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreNotFoundException;
import io.blocksim.store.FileOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A results folder's {@code manifest.json}: which store and parameters the results are for, and
 * per entry its two files and how far it got. Only entries with {@code complete} true have their
 * files; an incomplete one has {@code queries_done} sample rows written to {@code <file>.part}
 * files (kept only for resuming). Immutable; {@code with...} methods make changed copies.
 *
 * @param sampleSeed the seed of a shuffled sample; null for every string or a caller's own sample
 * @param sampleCrc32c CRC32C of sample.npy's data, so a resume can tell the sample is the same
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ResultsManifest(
        @JsonProperty("format") String format,
        @JsonProperty("format_version") int formatVersion,
        @JsonProperty("store") StoreIdentity store,
        @JsonProperty("sample") String sample,
        @JsonProperty("sample_size") int sampleSize,
        @JsonProperty("sample_seed") Long sampleSeed,
        @JsonProperty("sample_crc32c") String sampleCrc32c,
        @JsonProperty("k") int k,
        @JsonProperty("metric") String metric,
        @JsonProperty("entries") List<Entry> entries) {

    public static final String FILE = "manifest.json";
    public static final String FORMAT = "blocksim-similars";
    public static final int FORMAT_VERSION = 1;
    public static final String SAMPLE_FILE = "sample.npy";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public ResultsManifest {
        entries = entries == null ? null : List.copyOf(entries);
    }

    /**
     * What makes two stores the same for results: model, dataset, L, N and the strings' checksum
     * (an imported store's labels' checksum). {@code dir} is where it was when the job ran, used
     * to find it again; it is not part of the identity.
     */
    public record StoreIdentity(
            @JsonProperty("dir") String dir,
            @JsonProperty("model_sha256") String modelSha256,
            @JsonProperty("dataset_sha256") String datasetSha256,
            @JsonProperty("L") int stringLength,
            @JsonProperty("N") int stringCount,
            @JsonProperty("strings_crc32c") String stringsCrc32c) {

        public boolean sameStore(StoreIdentity o) {
            return Objects.equals(modelSha256, o.modelSha256) && Objects.equals(datasetSha256, o.datasetSha256)
                    && stringLength == o.stringLength && stringCount == o.stringCount
                    && Objects.equals(stringsCrc32c, o.stringsCrc32c);
        }
    }

    /**
     * One (site, block, position) of the results: {@code ids} int32 [n, k] candidate rows and
     * {@code scores} float32 [n, k], row i for sample entry i. {@code position} is null for the
     * concatenated embedding of all positions. {@code candidates} is how many rows were searched.
     */
    public record Entry(
            @JsonProperty("site") String site,
            @JsonProperty("block") int block,
            @JsonProperty("position") Integer position,
            @JsonProperty("candidates") int candidates,
            @JsonProperty("ids") String ids,
            @JsonProperty("scores") String scores,
            @JsonProperty("complete") boolean complete,
            @JsonProperty("queries_done") int queriesDone) {

        @JsonIgnore
        public Target target() {
            return new Target(site, block, position == null ? Target.ALL_POSITIONS : position);
        }

        public static Entry start(Target t, int candidates) {
            return new Entry(t.site(), t.block(), t.allPositions() ? null : t.position(), candidates,
                    t.fileStem() + ".ids.npy", t.fileStem() + ".scores.npy", false, 0);
        }

        Entry progress(int done, boolean complete) {
            return new Entry(site, block, position, candidates, ids, scores, complete, done);
        }
    }

    /** The same results asked for: store, sample, k, metric and entries (progress aside). */
    public String differenceFrom(ResultsManifest o) {
        if (!store.sameStore(o.store)) {
            return "another store (" + describe(o.store) + " there, " + describe(store) + " here)";
        }
        if (sampleSize != o.sampleSize || !Objects.equals(sampleCrc32c, o.sampleCrc32c)) {
            return "another sample (" + o.sampleSize + " strings" + seed(o.sampleSeed) + " there, " + sampleSize
                    + " strings" + seed(sampleSeed) + " here)";
        }
        if (k != o.k) {
            return "k = " + o.k + " (" + k + " here)";
        }
        if (!metric.equals(o.metric)) {
            return "the " + o.metric + " metric (" + metric + " here)";
        }
        if (!targets(entries).equals(targets(o.entries))) {
            return "other entries (" + targets(o.entries) + " there, " + targets(entries) + " here)";
        }
        return null;
    }

    private static String seed(Long s) {
        return s == null ? "" : ", seed " + s;
    }

    private static String describe(StoreIdentity s) {
        String sha = s.modelSha256 == null ? "imported" : "model " + s.modelSha256.substring(0, Math.min(12, s.modelSha256.length()));
        return sha + ", N " + s.stringCount;
    }

    private static List<Target> targets(List<Entry> es) {
        List<Target> out = new ArrayList<>();
        es.forEach(e -> out.add(e.target()));
        return out;
    }

    ResultsManifest withEntry(int i, Entry e) {
        List<Entry> es = new ArrayList<>(entries);
        es.set(i, e);
        return new ResultsManifest(format, formatVersion, store, sample, sampleSize, sampleSeed, sampleCrc32c, k, metric, es);
    }

    @JsonIgnore
    public boolean complete() {
        return entries.stream().allMatch(Entry::complete);
    }

    void write(Path dir) {
        try {
            FileOps.writeAtomically(dir.resolve(FILE), JSON.writeValueAsBytes(this));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("manifest not serializable", e);
        }
    }

    /**
     * Reads {@code dir/manifest.json}.
     *
     * @throws StoreNotFoundException when there is none, or it is not a results manifest
     * @throws StoreDamagedException when it cannot be parsed or misses a field
     */
    public static ResultsManifest read(Path dir) {
        Path f = dir.resolve(FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            throw new StoreNotFoundException(dir + " holds no similar-strings results (no " + FILE + "): run the"
                    + " similars job into it first");
        } catch (IOException e) {
            throw FileOps.io("read", f, e);
        }
        ResultsManifest m;
        try {
            m = JSON.readValue(bytes, ResultsManifest.class);
        } catch (IOException e) {
            throw new StoreDamagedException("results " + dir + " have a damaged " + FILE + " (" + oneLine(e)
                    + "); run the job again with force to start over");
        }
        if (!FORMAT.equals(m.format)) {
            throw new StoreNotFoundException(dir + " holds no similar-strings results (its " + FILE + " is of format '"
                    + m.format + "', not " + FORMAT + ")");
        }
        if (m.formatVersion != FORMAT_VERSION || m.entries == null || m.store == null || m.metric == null) {
            throw new StoreDamagedException("results " + dir + " have a " + FILE + " of version " + m.formatVersion
                    + " or without entries, store or metric; this blocksim reads version " + FORMAT_VERSION);
        }
        return m;
    }

    private static String oneLine(IOException e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return msg.lines().findFirst().orElse("");
    }
}
