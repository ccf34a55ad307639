package io.blocksim.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreDamagedException;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.StoreNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The store's {@code manifest.json}: what was extracted with what, and every file a reader may
 * trust with its checksum. Only files named here are part of the store; the writer replaces the
 * manifest atomically after the files it adds are final.
 *
 * <p>{@code kind} is "model" for extracted stores (strings.npy, a model and a dataset) or
 * "imported" for vectors a user brought (labels.txt, no model; L is 1 and the one entry is at
 * position 0). {@code shards_done} of {@code shards_total} string shards are committed; every
 * entry has exactly {@code shards_done} shards, shard i holding the rows of strings
 * [i*shard_strings, min(N, (i+1)*shard_strings)).
 */
public record Manifest(
        @JsonProperty("format") String format,
        @JsonProperty("format_version") int formatVersion,
        @JsonProperty("kind") String kind,
        @JsonProperty("model") ModelInfo model,
        @JsonProperty("dataset_sha256") String datasetSha256,
        @JsonProperty("L") int stringLength,
        @JsonProperty("N") int stringCount,
        @JsonProperty("shard_strings") int shardStrings,
        @JsonProperty("shards_total") int shardsTotal,
        @JsonProperty("shards_done") int shardsDone,
        @JsonProperty("strings") FileRef strings,
        @JsonProperty("labels") FileRef labels,
        @JsonProperty("prefix_indexes") List<PrefixIndexFile> prefixIndexes,
        @JsonProperty("entries") List<Entry> entries) {

    public static final String FILE = "manifest.json";
    public static final String FORMAT = "blocksim-store";
    public static final int FORMAT_VERSION = 1;
    public static final String KIND_MODEL = "model";
    public static final String KIND_IMPORTED = "imported";
    public static final String STRINGS_FILE = "strings.npy";
    public static final String LABELS_FILE = "labels.txt";

    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false) // later v1 writers may add fields
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES, true)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public Manifest {
        prefixIndexes = prefixIndexes == null ? null : List.copyOf(prefixIndexes);
        entries = entries == null ? null : List.copyOf(entries);
    }

    /** A whole-store file and the CRC32C of its data (of its bytes, for text files). */
    public record FileRef(@JsonProperty("file") String file, @JsonProperty("crc32c") String crc32c) {
    }

    /** int32 [rows]: for each unique prefix of length position+1, the first string that has it. */
    public record PrefixIndexFile(
            @JsonProperty("position") int position,
            @JsonProperty("rows") int rows,
            @JsonProperty("file") String file,
            @JsonProperty("crc32c") String crc32c) {
    }

    /**
     * One committed shard of an entry: float32 [rows, dim] vectors and float32 [rows] L2 norms,
     * and, when the shard has them, its {@link RowCodes} (null in stores made before codes existed,
     * until {@code blocksim index} adds them).
     */
    public record Shard(
            @JsonProperty("file") String file,
            @JsonProperty("rows") int rows,
            @JsonProperty("crc32c") String crc32c,
            @JsonProperty("norms") String norms,
            @JsonProperty("norms_crc32c") String normsCrc32c,
            @JsonProperty("codes") Codes codes) {
        /** A shard without codes. */
        public Shard(String file, int rows, String crc32c, String norms, String normsCrc32c) {
            this(file, rows, crc32c, norms, normsCrc32c, null);
        }

        /** This shard with {@code codes}. */
        public Shard withCodes(Codes codes) {
            return new Shard(file, rows, crc32c, norms, normsCrc32c, codes);
        }
    }

    /**
     * A shard's {@link RowCodes}: int8 [rows, dim] codes and float32 [rows, 2] scales and error
     * bounds, each with the CRC32C of its data.
     */
    public record Codes(
            @JsonProperty("file") String file,
            @JsonProperty("crc32c") String crc32c,
            @JsonProperty("scales") String scales,
            @JsonProperty("scales_crc32c") String scalesCrc32c) {
    }

    /**
     * A stored (site, block, position): {@code rows} vectors of {@code dim} floats in its shards;
     * {@code prefix_index} names the prefix index file when position < L-1 (null otherwise).
     */
    public record Entry(
            @JsonProperty("site") String site,
            @JsonProperty("block") int block,
            @JsonProperty("position") int position,
            @JsonProperty("dim") int dim,
            @JsonProperty("rows") int rows,
            @JsonProperty("prefix_index") String prefixIndex,
            @JsonProperty("shards") List<Shard> shards) {
        public Entry {
            shards = shards == null ? null : List.copyOf(shards);
        }

        @JsonIgnore
        public EntryKey key() {
            return new EntryKey(site, block, position);
        }
    }

    @JsonIgnore
    public boolean complete() {
        return shardsDone == shardsTotal;
    }

    @JsonIgnore
    public boolean imported() {
        return KIND_IMPORTED.equals(kind);
    }

    /** The entry for {@code key}, or null. */
    public Entry entry(EntryKey key) {
        for (Entry e : entries) {
            if (e.site().equals(key.site()) && e.block() == key.block() && e.position() == key.position()) {
                return e;
            }
        }
        return null;
    }

    /** The prefix index of {@code position}, or null. */
    public PrefixIndexFile prefixIndex(int position) {
        for (PrefixIndexFile p : prefixIndexes) {
            if (p.position() == position) {
                return p;
            }
        }
        return null;
    }

    /** Strings [first, end) of string shard i. */
    public int shardFirstString(int i) {
        return (int) Math.min((long) i * shardStrings, stringCount);
    }

    public int shardEndString(int i) {
        return (int) Math.min((long) (i + 1) * shardStrings, stringCount);
    }

    static int shardsFor(int n, int shardStrings) {
        return (int) ((n + (long) shardStrings - 1) / shardStrings);
    }

    byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("manifest does not serialize", e);
        }
    }

    /** Writes {@code dir/manifest.json} atomically (temp file, fsync, rename, fsync dir). */
    void write(Path dir) {
        FileOps.writeAtomically(dir.resolve(FILE), toJson());
    }

    /**
     * Reads and checks {@code dir/manifest.json}: a blocksim store of this format version whose
     * fields are consistent. Does not look at the files it names.
     *
     * @throws StoreNotFoundException when {@code dir} does not exist, has no manifest, or its
     *     manifest is not a blocksim store's
     * @throws StoreIncompatibleException for a store of another format version
     * @throws StoreDamagedException for a manifest that is not valid JSON or not consistent
     * @throws FileAccessException when the manifest cannot be read
     */
    public static Manifest read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isDirectory(dir)) {
            throw new StoreNotFoundException("no store at " + dir + ": the directory does not exist; extract a store"
                    + " into it (or import vectors you have)");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new StoreNotFoundException("no store at " + dir + ": it has no " + FILE + "; extract a store"
                    + " into it (or import vectors you have)");
        } catch (IOException e) {
            throw FileOps.io("read", file, e);
        }
        JsonNode tree;
        try {
            tree = JSON.readTree(bytes);
        } catch (IOException e) {
            throw damaged(file, "it is not valid JSON (" + oneLine(e) + ")");
        }
        if (tree == null || !tree.isObject()) {
            throw damaged(file, "it is not a JSON object");
        }
        JsonNode format = tree.get("format");
        if (format == null || !FORMAT.equals(format.asText())) {
            throw new StoreNotFoundException(file + " is not a blocksim store manifest (format "
                    + (format == null ? "missing" : "'" + format.asText() + "'")
                    + "): give the folder of a store made by extracting or importing");
        }
        JsonNode version = tree.get("format_version");
        if (version == null || !version.canConvertToInt()) {
            throw damaged(file, "it has no format_version");
        }
        if (version.asInt() != FORMAT_VERSION) {
            throw new StoreIncompatibleException(file + " has store format version " + version.asInt()
                    + ", but this blocksim reads version " + FORMAT_VERSION
                    + ": use the blocksim release that made it, or extract the store again");
        }
        addOptionalFields(tree);
        Manifest m;
        try {
            m = JSON.treeToValue(tree, Manifest.class);
        } catch (IOException e) {
            throw damaged(file, oneLine(e));
        }
        m.validate(file);
        return m;
    }

    /**
     * Fields a later version-1 writer added, set to null where a store made before them lacks them
     * (every other field must be present): a shard's {@code codes}.
     */
    private static void addOptionalFields(JsonNode tree) {
        JsonNode entries = tree.get("entries");
        if (entries == null || !entries.isArray()) {
            return;
        }
        for (JsonNode e : entries) {
            JsonNode shards = e == null ? null : e.get("shards");
            if (shards == null || !shards.isArray()) {
                continue;
            }
            for (JsonNode s : shards) {
                if (s instanceof com.fasterxml.jackson.databind.node.ObjectNode o && !o.has("codes")) {
                    o.putNull("codes");
                }
            }
        }
    }

    /** True when every shard of every entry has its codes (and there is at least one shard). */
    @JsonIgnore
    public boolean hasCodes() {
        boolean any = false;
        for (Entry e : entries) {
            for (Shard s : e.shards()) {
                if (s.codes() == null) {
                    return false;
                }
                any = true;
            }
        }
        return any;
    }

    private static String oneLine(IOException e) {
        String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (e instanceof JsonProcessingException j && j.getLocation() != null) {
            msg += " at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr();
        }
        return msg == null ? e.getClass().getSimpleName() : msg.replaceAll("\\s+", " ").trim();
    }

    static StoreDamagedException damaged(Path file, String why) {
        return new StoreDamagedException(file + " is damaged: " + why + "; extract or import the store again");
    }

    /** Consistency checks, so that readers can trust shapes and names without re-checking them. */
    void validate(Path file) {
        Objects.requireNonNull(file);
        check(file, KIND_MODEL.equals(kind) || KIND_IMPORTED.equals(kind), "kind is '" + kind + "', not model or imported");
        check(file, stringLength >= 1 && stringCount >= 1, "L and N must be >= 1 (L " + stringLength + ", N " + stringCount + ")");
        check(file, shardStrings >= 1, "shard_strings must be >= 1");
        check(file, shardsTotal == shardsFor(stringCount, shardStrings), "shards_total " + shardsTotal + " does not match N "
                + stringCount + " and shard_strings " + shardStrings);
        check(file, shardsDone >= 0 && shardsDone <= shardsTotal, "shards_done " + shardsDone + " is outside 0.." + shardsTotal);
        check(file, entries != null && prefixIndexes != null, "entries or prefix_indexes is missing");
        if (imported()) {
            check(file, stringLength == 1 && model == null && strings == null && labels != null,
                    "an imported store has L 1, no model, no strings.npy and a labels file");
        } else {
            check(file, model != null && model.vocabSize() > 0 && model.sha256() != null, "the model or its vocab is missing");
            check(file, labels == null, "a model store has no labels file");
            // a new extraction writes its first manifest before the strings; its shards need them
            check(file, strings != null || shardsDone == 0, "a model store with shards needs its strings file");
        }
        for (FileRef f : new FileRef[] {strings, labels}) {
            if (f != null) {
                checkName(file, f.file());
            }
        }
        Set<Integer> positions = new HashSet<>();
        for (PrefixIndexFile p : prefixIndexes) {
            check(file, p != null && p.position() >= 0 && p.position() < stringLength - 1, "a prefix index has position outside 0..L-2");
            check(file, positions.add(p.position()), "two prefix indexes for position " + p.position());
            check(file, p.rows() >= 1 && p.rows() <= stringCount, "prefix index of position " + p.position() + " has " + p.rows() + " rows");
            checkName(file, p.file());
        }
        Set<EntryKey> keys = new HashSet<>();
        for (Entry e : entries) {
            check(file, e != null && e.shards() != null, "an entry has no shards list");
            EntryKey key;
            try {
                key = e.key();
            } catch (InvalidArgumentException bad) {
                throw damaged(file, bad.getMessage());
            }
            check(file, keys.add(key), "entry " + key + " appears twice");
            check(file, e.position() < stringLength, "entry " + key + " is past the last position " + (stringLength - 1));
            check(file, e.dim() >= 1, "entry " + key + " has dim " + e.dim());
            check(file, e.shards().size() == shardsDone, "entry " + key + " has " + e.shards().size() + " shards, not shards_done "
                    + shardsDone);
            boolean last = e.position() == stringLength - 1;
            if (last) {
                check(file, e.prefixIndex() == null, "entry " + key + " at the last position names a prefix index");
            } else {
                // a new extraction names the file before it is written; shards need it written
                PrefixIndexFile p = prefixIndex(e.position());
                check(file, e.prefixIndex() != null && (p == null ? shardsDone == 0 : p.file().equals(e.prefixIndex())),
                        "entry " + key + " names no known prefix index");
            }
            long rows = 0;
            for (int i = 0; i < e.shards().size(); i++) {
                Shard s = e.shards().get(i);
                check(file, s != null && s.rows() >= 0, "entry " + key + " shard " + i + " has negative rows");
                checkName(file, s.file());
                checkName(file, s.norms());
                if (s.codes() != null) {
                    checkName(file, s.codes().file());
                    checkName(file, s.codes().scales());
                    check(file, s.codes().crc32c() != null && s.codes().scalesCrc32c() != null,
                            "entry " + key + " shard " + i + " has codes without checksums");
                }
                if (last) {
                    int expect = shardEndString(i) - shardFirstString(i);
                    check(file, s.rows() == expect, "entry " + key + " shard " + i + " has " + s.rows() + " rows, not " + expect);
                }
                rows += s.rows();
            }
            check(file, rows == e.rows(), "entry " + key + " says " + e.rows() + " rows but its shards hold " + rows);
            if (complete() && !last) {
                check(file, rows == prefixIndex(e.position()).rows(), "entry " + key + " has " + rows
                        + " rows but its prefix index has " + prefixIndex(e.position()).rows());
            }
        }
    }

    private static void check(Path file, boolean ok, String why) {
        if (!ok) {
            throw damaged(file, why);
        }
    }

    private static void checkName(Path file, String name) {
        check(file, name != null && SAFE_NAME.matcher(name).matches() && !name.contains(".."),
                "file name '" + name + "' is not a plain name inside the store");
    }
}
