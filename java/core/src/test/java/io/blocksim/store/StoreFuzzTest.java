package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.BlocksimException;
import io.blocksim.StoreException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Store readers under damage (issue 14, "fuzzed readers"): thousands of mutations of a small
 * model store and a small imported store, each applied to a pristine copy and undone after:
 * truncation at every byte of the npy headers and at every structural boundary of every file,
 * every header byte flipped (two ways), dtype/shape/version/order lies, manifest fields removed,
 * changed or of the wrong JSON type, shards swapped on disk and in the manifest, norms files of
 * the wrong length, flipped data bytes and labels.
 *
 * <p>Each must be either refused by {@link Store#open} with a {@link StoreException} whose
 * message names the damaged file, or, when open accepts it, (a) every value the store serves must
 * equal the pristine store's unless the mutation changed data bytes (so no value is ever read
 * from a damaged header), and (b) {@link StoreVerifier} must name the damaged file. Nothing may
 * throw another kind, and nothing may hang (the class runs under a timeout).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StoreFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private static Path model;
    private static Path imported;

    @BeforeAll
    static void build() throws IOException {
        model = Fixtures.modelStore(tmp.resolve("model"));
        Random rnd = new Random(11);
        int rows = 9;
        float[] v = new float[rows * 6];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextFloat() * 2 - 1;
        }
        Path vectors = tmp.resolve("v.npy");
        Npy.writeFloats(vectors, v, rows, 6);
        Path labels = tmp.resolve("labels.txt");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < rows; i++) {
            b.append("label é ").append(i).append('\n');
        }
        Files.writeString(labels, b.toString());
        imported = tmp.resolve("imported");
        StoreImporter.importVectors(vectors, labels, imported, "mine", 4);
    }

    /** One mutation: what it does to the store's files, and which file it damages. */
    private record Mutation(String description, String file, boolean dataChanged, Consumer<Path> apply, String... others) {
        /** True when {@code text} names the damaged file or, for a swap, the other one. */
        boolean named(String text) {
            return text.contains(file) || Arrays.stream(others).anyMatch(text::contains);
        }
    }

    private static final class Counts {
        int refusedAtOpen;
        int caughtByVerify;
        int total;
    }

    @Test
    void everyMutationOfTheModelStoreIsRefusedByNameOrCaughtByVerify() throws IOException {
        Counts c = run(model, mutations(model));
        System.out.printf("model store: %d mutations, %d refused at open, %d caught by verify%n", c.total,
                c.refusedAtOpen, c.caughtByVerify);
        assertTrue(c.total >= 1000 || CASES > 0 && CASES < 1000, c.total + " mutations");
    }

    @Test
    void everyMutationOfTheImportedStoreIsRefusedByNameOrCaughtByVerify() throws IOException {
        Counts c = run(imported, sample(mutations(imported), CASES / 2, 15));
        System.out.printf("imported store: %d mutations, %d refused at open, %d caught by verify%n", c.total,
                c.refusedAtOpen, c.caughtByVerify);
        assertTrue(c.total >= 500 || CASES > 0 && CASES < 1000, c.total + " mutations");
    }

    // ---- running -----------------------------------------------------------------------------

    /**
     * How many mutations a test runs: a seeded sample of the generated ones (every kind with few
     * members whole, the large kinds in proportion), so the class runs in seconds; 0 runs them all
     * ({@code -Dblocksim.fuzz.cases=0}).
     */
    static final int CASES = Integer.getInteger("blocksim.fuzz.cases", 1200);

    private static List<Mutation> sample(List<Mutation> all, int limit, long seed) {
        if (limit <= 0 || all.size() <= limit) {
            return all;
        }
        Map<String, List<Mutation>> kinds = new LinkedHashMap<>();
        for (Mutation m : all) {
            String kind = m.description().replaceAll("[0-9\\[\\]\\-]+.*", "").trim();
            kinds.computeIfAbsent(kind, k -> new ArrayList<>()).add(m);
        }
        double fraction = (double) limit / all.size();
        Random rnd = new Random(seed);
        List<Mutation> out = new ArrayList<>();
        for (List<Mutation> ms : kinds.values()) {
            int keep = ms.size() <= 4 ? ms.size() : Math.max(4, (int) Math.ceil(ms.size() * fraction));
            java.util.Collections.shuffle(ms, rnd);
            out.addAll(ms.subList(0, Math.min(keep, ms.size())));
        }
        return out;
    }

    private static Counts run(Path dir, List<Mutation> generated) throws IOException {
        List<Mutation> mutations = sample(generated, CASES, 14);
        System.out.printf("%s: %d of %d generated mutations%n", dir.getFileName(), mutations.size(), generated.size());
        Map<String, byte[]> pristine = snapshot(dir);
        Map<String, Object> values = values(dir);
        Counts c = new Counts();
        for (Mutation m : mutations) {
            c.total++;
            m.apply().accept(dir);
            try {
                check(dir, m, values, c);
            } catch (AssertionError | RuntimeException e) {
                AssertionError a = new AssertionError("mutation '" + m.description() + "' of " + m.file() + ": " + e, e);
                throw a;
            } finally {
                restore(dir, pristine, m);
            }
        }
        restore(dir, pristine);  // a no-op unless a mutation touched a file it did not declare
        if (!snapshot(dir).keySet().equals(pristine.keySet())) {
            fail("a mutation left files behind");
        }
        return c;
    }

    private static void check(Path dir, Mutation m, Map<String, Object> pristineValues, Counts c) {
        boolean refused = false;
        try (Store s = Store.open(dir)) {
            if (!m.dataChanged() && !m.file().equals(Manifest.FILE)) {
                Map<String, Object> now = values(s);
                // only header bytes changed and open accepted them: every value must be the pristine one
                for (var e : pristineValues.entrySet()) {
                    Object v = now.get(e.getKey());
                    boolean same = v instanceof byte[] a ? Arrays.equals(a, (byte[]) e.getValue()) : e.getValue().equals(v);
                    if (!same) {
                        fail("open accepted it and " + e.getKey() + " reads other values than written");
                    }
                }
            }
        } catch (StoreException e) {
            refused = true;
            String msg = e.getMessage();
            boolean named = m.named(msg) || m.file().equals(Manifest.FILE) && namesAStoreFile(msg);
            if (!named) {
                fail("refused without naming " + m.file() + ": " + msg);
            }
            if (msg.lines().count() != 1) {
                fail("a message of more than one line: " + msg);
            }
        } catch (BlocksimException e) {
            fail("open threw " + e.getClass().getSimpleName() + " (not a StoreException): " + e.getMessage());
        }
        StoreVerifier.Result r;
        try {
            r = StoreVerifier.verify(dir);
        } catch (StoreException e) {
            if (!m.file().equals(Manifest.FILE)) {
                fail("verify refused the store for damage to " + m.file() + ": " + e.getMessage());
            }
            c.refusedAtOpen += refused ? 1 : 0;
            return;
        }
        boolean named = r.problems().stream().anyMatch(p -> p.file().equals(m.file()))
                && Arrays.stream(m.others()).allMatch(o -> r.problems().stream().anyMatch(p -> p.file().equals(o)));
        if (!m.file().equals(Manifest.FILE) && !named) {
            fail((refused ? "open refused it but " : "") + "verify did not name " + m.file() + ": " + r.problems());
        }
        if (refused) {
            c.refusedAtOpen++;
        } else if (!r.ok()) {
            c.caughtByVerify++;
        }
    }

    private static boolean namesAStoreFile(String msg) {
        // the manifest, or a file it names (a name changed in the manifest is "missing")
        return msg.contains(Manifest.FILE) || msg.contains(".npy") || msg.contains(".txt") || msg.contains(" is missing");
    }

    /** Every value a reader can get from an open store, by where it comes from. */
    private static Map<String, Object> values(Path dir) {
        try (Store s = Store.open(dir)) {
            return values(s);
        }
    }

    private static Map<String, Object> values(Store s) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (s.strings() != null) {
            out.put("strings", s.strings().toArray(Npy.UINT8));
        }
        for (Manifest.PrefixIndexFile p : s.manifest().prefixIndexes()) {
            out.put("prefix " + p.position(), s.prefixIndex(p.position()).toArray(Npy.UINT8));
        }
        for (Manifest.Entry e : s.entries()) {
            VectorSet v = s.vectors(e.key());
            int i = 0;
            for (VectorShard sh : v.shards()) {
                out.put(e.key() + " vectors " + i, sh.vectors().toArray(Npy.UINT8));
                out.put(e.key() + " norms " + i, sh.norms().toArray(Npy.UINT8));
                i++;
            }
            List<String> labels = new ArrayList<>();
            for (int r = 0; r < e.rows(); r++) {
                try {
                    labels.add(s.label(e.key(), r));
                } catch (io.blocksim.StoreDamagedException bad) {
                    labels.add("damaged: " + bad.getMessage());
                }
            }
            out.put(e.key() + " labels", labels);
        }
        return out;
    }

    private static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Path f : Fixtures.files(dir)) {
            out.put(name(dir, f), Files.readAllBytes(f));
        }
        return out;
    }

    /** Puts back the files {@code m} changed. */
    private static void restore(Path dir, Map<String, byte[]> pristine, Mutation m) {
        try {
            Files.write(dir.resolve(m.file()), pristine.get(m.file()));
            for (String o : m.others()) {
                Files.write(dir.resolve(o), pristine.get(o));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Puts back every file that differs from {@code pristine} and removes any other. */
    private static void restore(Path dir, Map<String, byte[]> pristine) {
        try {
            for (Path f : Fixtures.files(dir)) {
                byte[] want = pristine.get(name(dir, f));
                if (want == null) {
                    Files.delete(f);
                } else if (Files.size(f) != want.length || !Arrays.equals(Files.readAllBytes(f), want)) {
                    Files.write(f, want);
                }
            }
            for (var e : pristine.entrySet()) {
                if (!Files.exists(dir.resolve(e.getKey()))) {
                    Files.write(dir.resolve(e.getKey()), e.getValue());
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String name(Path dir, Path f) {
        return dir.relativize(f).toString().replace('\\', '/');
    }

    // ---- mutations ---------------------------------------------------------------------------

    private static List<Mutation> mutations(Path dir) throws IOException {
        Map<String, byte[]> files = snapshot(dir);
        List<Mutation> out = new ArrayList<>();
        Random rnd = new Random(14);
        List<String> npys = files.keySet().stream().filter(n -> n.endsWith(".npy")).toList();
        // the first file of each kind gets the exhaustive treatment, the others the boundaries
        List<String> thorough = new ArrayList<>();
        for (String kind : new String[] {"strings.npy", "prefix-", "vectors-", "norms-"}) {
            npys.stream().filter(n -> n.contains(kind)).findFirst().ifPresent(thorough::add);
        }
        for (String name : npys) {
            byte[] bytes = files.get(name);
            NpyHeader h = header(dir.resolve(name));
            long offset = h.dataOffset();
            java.util.TreeSet<Long> cuts = new java.util.TreeSet<>(List.of(0L, 1L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L,
                    offset - 2, offset - 1, offset, offset + 1, offset + h.dtype().size(), (long) bytes.length - 1));
            if (thorough.contains(name)) {
                for (long i = 0; i < offset + 2 * h.dtype().size(); i++) {
                    cuts.add(i);
                }
            }
            for (long cut : cuts) {
                if (cut >= 0 && cut < bytes.length) {
                    out.add(new Mutation("truncated to " + cut + " bytes", name, false, d -> truncate(d.resolve(name), cut)));
                }
            }
            out.add(new Mutation("one byte longer", name, false, d -> append(d.resolve(name), new byte[] {0})));
            out.add(new Mutation("deleted", name, false, d -> delete(d.resolve(name))));
            if (thorough.contains(name)) {
                for (int i = 0; i < offset; i++) {
                    for (int mask : name.equals(thorough.get(0)) ? new int[] {0x01, 0x20} : new int[] {0x01}) {
                        int at = i;
                        out.add(new Mutation("header byte " + i + " xor " + mask, name, false,
                                d -> xor(d.resolve(name), at, mask)));
                    }
                }
            }
            for (int k = 0; k < 3 && offset < bytes.length; k++) {
                int at = (int) (offset + rnd.nextInt((int) (bytes.length - offset)));
                int mask = 1 << rnd.nextInt(8);
                out.add(new Mutation("data byte " + at + " xor " + mask, name, true, d -> xor(d.resolve(name), at, mask)));
            }
            out.addAll(headerLies(name, h, bytes));
        }
        out.addAll(swaps(dir, files));
        out.addAll(wrongLengthNorms(dir));
        for (String name : files.keySet()) {
            if (name.endsWith(".txt")) {
                byte[] bytes = files.get(name);
                for (int at : new int[] {0, bytes.length / 2, bytes.length - 1}) {
                    out.add(new Mutation("text byte " + at + " xor 1", name, true, d -> xor(d.resolve(name), at, 1)));
                }
                for (int cut : new int[] {0, bytes.length / 2, bytes.length - 1}) {
                    out.add(new Mutation("text truncated to " + cut, name, true, d -> truncate(d.resolve(name), cut)));
                }
                out.add(new Mutation("a label more", name, true, d -> append(d.resolve(name), "x\n".getBytes())));
            }
        }
        out.addAll(manifestMutations(files.get(Manifest.FILE)));
        return out;
    }

    private static NpyHeader header(Path file) {
        return Npy.readHeader(file);
    }

    /** The same data behind headers that lie about dtype, shape, order or version. */
    private static List<Mutation> headerLies(String name, NpyHeader h, byte[] bytes) {
        List<Mutation> out = new ArrayList<>();
        byte[] data = Arrays.copyOfRange(bytes, (int) h.dataOffset(), bytes.length);
        String descr = h.dtype().descr();
        String shape = h.shapeString();
        long[] s = h.shape();
        List<String[]> dicts = new ArrayList<>();
        for (String d : new String[] {"<f4", "|u1", "<i4", "<i8", "<f8", ">f4", "<f2", "|b1", "<U1", "O"}) {
            if (!d.equals(descr)) {
                dicts.add(new String[] {"dtype " + d, dict(d, "False", shape)});
            }
        }
        long[] more = s.clone();
        more[0]++;
        long[] fewer = s.clone();
        fewer[0]--;
        for (long[] other : new long[][] {more, fewer, {s[0] * (s.length > 1 ? s[1] : 1)}, append(s, 1), {}, {0}}) {
            String sh = new NpyHeader(h.dtype(), other, 0).shapeString();
            if (!sh.equals(shape)) {
                dicts.add(new String[] {"shape " + sh, dict(descr, "False", sh)});
            }
        }
        dicts.add(new String[] {"fortran order", dict(descr, "True", shape)});
        dicts.add(new String[] {"an extra key", dict(descr, "False", shape).replace(", }", ", 'x': 1, }")});
        dicts.add(new String[] {"no shape key", "{'descr': '" + descr + "', 'fortran_order': False, }"});
        dicts.add(new String[] {"a huge shape", dict(descr, "False", "(99999999999, 99999999999)")});
        dicts.add(new String[] {"a negative shape", dict(descr, "False", "(-4,)")});
        for (String[] d : dicts) {
            out.add(new Mutation("header lie: " + d[0], name, false, dir -> write(dir.resolve(name), npy(1, d[1], data))));
        }
        // the truth in another format version: valid npy, but not the bytes blocksim wrote
        for (int v : new int[] {2, 3}) {
            out.add(new Mutation("the same header as npy v" + v + ".0", name, false,
                    dir -> write(dir.resolve(name), npy(v, dict(descr, "False", shape), data))));
        }
        for (int[] version : new int[][] {{1, 1}, {4, 0}, {0, 0}}) {
            out.add(new Mutation("version " + version[0] + "." + version[1], name, false, dir -> {
                byte[] b = npy(1, dict(descr, "False", shape), data);
                b[6] = (byte) version[0];
                b[7] = (byte) version[1];
                write(dir.resolve(name), b);
            }));
        }
        out.add(new Mutation("header length 65535", name, false, dir -> {
            byte[] b = npy(1, dict(descr, "False", shape), data);
            b[8] = (byte) 0xff;
            b[9] = (byte) 0xff;
            write(dir.resolve(name), b);
        }));
        return out;
    }

    private static long[] append(long[] a, long v) {
        long[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    private static String dict(String descr, String fortran, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    }

    /** An npy file of {@code version} with header text {@code dict}, padded to 64 bytes, then {@code data}. */
    static byte[] npy(int version, String dict, byte[] data) {
        int pre = version == 1 ? 10 : 12;
        int total = (pre + dict.length() + 1 + 63) / 64 * 64;
        byte[] out = new byte[total + data.length];
        System.arraycopy(NpyHeader.MAGIC, 0, out, 0, 6);
        out[6] = (byte) version;
        int len = total - pre;
        out[8] = (byte) len;
        out[9] = (byte) (len >>> 8);
        byte[] d = dict.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(d, 0, out, pre, d.length);
        Arrays.fill(out, pre + d.length, total - 1, (byte) ' ');
        out[total - 1] = '\n';
        System.arraycopy(data, 0, out, total, data.length);
        return out;
    }

    /** Shard files swapped on disk, whatever their shapes. */
    private static List<Mutation> swaps(Path dir, Map<String, byte[]> files) {
        List<Mutation> out = new ArrayList<>();
        List<String> shards = files.keySet().stream().filter(n -> n.contains("vectors-") || n.contains("norms-")).toList();
        for (int i = 0; i < shards.size(); i++) {
            for (int j = i + 1; j < Math.min(shards.size(), i + 4); j++) {
                String a = shards.get(i);
                String b = shards.get(j);
                if (Arrays.equals(files.get(a), files.get(b))) {
                    continue;
                }
                out.add(new Mutation("swapped with " + b, a, true, d -> {
                    write(d.resolve(a), files.get(b));
                    write(d.resolve(b), files.get(a));
                }, b));
            }
        }
        return out;
    }

    /** Each norms file replaced by a valid npy of one row more or fewer. */
    private static List<Mutation> wrongLengthNorms(Path dir) throws IOException {
        List<Mutation> out = new ArrayList<>();
        for (Path f : Fixtures.files(dir)) {
            String name = name(dir, f);
            if (!name.contains("norms-")) {
                continue;
            }
            long rows = header(f).shape()[0];
            for (long r : new long[] {rows - 1, rows + 1, 0}) {
                if (r >= 0 && r != rows) {
                    out.add(new Mutation("norms of " + r + " rows", name, true,
                            d -> write(d.resolve(name), npy(1, dict("<f4", "False", "(" + r + ",)"), new byte[(int) r * 4]))));
                }
            }
        }
        return out;
    }

    /** Every field of the manifest removed, set to each wrong JSON type and to edge values; text cuts. */
    private static List<Mutation> manifestMutations(byte[] manifest) throws IOException {
        List<Mutation> out = new ArrayList<>();
        JsonNode tree = JSON.readTree(manifest);
        List<List<Object>> paths = new ArrayList<>();
        collect(tree, new ArrayList<>(), paths);
        JsonNodeFactory f = JsonNodeFactory.instance;
        Map<String, JsonNode> replacements = new LinkedHashMap<>();
        replacements.put("null", f.nullNode());
        replacements.put("\"x\"", f.textNode("x"));
        replacements.put("-1", f.numberNode(-1));
        replacements.put("1.5", f.numberNode(1.5));
        replacements.put("[]", f.arrayNode());
        replacements.put("{}", f.objectNode());
        for (List<Object> path : paths) {
            if (!path.isEmpty()) {
                out.add(manifest("removed " + path, tree, path, null));
            }
            for (var r : replacements.entrySet()) {
                out.add(manifest(path + " = " + r.getKey(), tree, path, r.getValue()));
            }
            JsonNode here = at(tree, path);
            if (here.isInt()) {
                for (int delta : new int[] {-1, 1}) {
                    out.add(manifest(path + " " + (delta > 0 ? "+" : "") + delta, tree, path, f.numberNode(here.intValue() + delta)));
                }
                out.add(manifest(path + " as text", tree, path, f.textNode(here.asText())));
            }
            if (here.isTextual() && !here.asText().isEmpty()) {
                out.add(manifest(path + " another name", tree, path, f.textNode(here.asText() + "x")));
            }
        }
        // shard names swapped in the manifest (same rows and different rows)
        JsonNode entries = tree.get("entries");
        for (int e = 0; e < entries.size(); e++) {
            JsonNode shards = entries.get(e).get("shards");
            for (int i = 0; i + 1 < shards.size(); i++) {
                String a = shards.get(i).get("file").asText();
                String b = shards.get(i + 1).get("file").asText();
                List<Object> pa = List.of("entries", e, "shards", i, "file");
                List<Object> pb = List.of("entries", e, "shards", i + 1, "file");
                JsonNode copy = tree.deepCopy();
                set(copy, pa, f.textNode(b));
                set(copy, pb, f.textNode(a));
                byte[] bytes = JSON.writeValueAsBytes(copy);
                out.add(new Mutation("shards " + i + " and " + (i + 1) + " of entry " + e + " swapped in the manifest",
                        Manifest.FILE, false, d -> write(d.resolve(Manifest.FILE), bytes)));
            }
        }
        for (int cut : new int[] {0, 1, manifest.length / 3, manifest.length / 2, manifest.length - 2, manifest.length - 1}) {
            out.add(new Mutation("manifest cut at " + cut, Manifest.FILE, false, d -> truncate(d.resolve(Manifest.FILE), cut)));
        }
        out.add(new Mutation("manifest not JSON", Manifest.FILE, false, d -> write(d.resolve(Manifest.FILE), new byte[] {(byte) 0x93, 'N'})));
        out.add(new Mutation("manifest a JSON array", Manifest.FILE, false, d -> write(d.resolve(Manifest.FILE), "[1]".getBytes())));
        out.add(new Mutation("manifest deleted", Manifest.FILE, false, d -> delete(d.resolve(Manifest.FILE))));
        return out;
    }

    private static Mutation manifest(String what, JsonNode tree, List<Object> path, JsonNode value) {
        JsonNode copy = tree.deepCopy();
        if (path.isEmpty()) {
            copy = value;
        } else if (value == null) {
            JsonNode parent = at(copy, path.subList(0, path.size() - 1));
            Object last = path.get(path.size() - 1);
            if (parent instanceof ObjectNode o) {
                o.remove((String) last);
            } else {
                ((ArrayNode) parent).remove((Integer) last);
            }
        } else {
            set(copy, path, value);
        }
        try {
            byte[] bytes = JSON.writeValueAsBytes(copy);
            return new Mutation(what, Manifest.FILE, false, d -> write(d.resolve(Manifest.FILE), bytes));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void collect(JsonNode node, List<Object> path, List<List<Object>> out) {
        out.add(List.copyOf(path));
        if (node.isObject()) {
            for (var it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                path.add(k);
                collect(node.get(k), path, out);
                path.remove(path.size() - 1);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                path.add(i);
                collect(node.get(i), path, out);
                path.remove(path.size() - 1);
            }
        }
    }

    private static JsonNode at(JsonNode node, List<Object> path) {
        for (Object p : path) {
            node = p instanceof String k ? node.get(k) : node.get((Integer) p);
        }
        return node;
    }

    private static void set(JsonNode root, List<Object> path, JsonNode value) {
        JsonNode parent = at(root, path.subList(0, path.size() - 1));
        Object last = path.get(path.size() - 1);
        if (parent instanceof ObjectNode o) {
            o.set((String) last, value);
        } else {
            ((ArrayNode) parent).set((Integer) last, value);
        }
    }

    // ---- file edits --------------------------------------------------------------------------

    private static void truncate(Path f, long size) {
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void append(Path f, byte[] extra) {
        try {
            Files.write(f, extra, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void xor(Path f, int at, int mask) {
        try {
            byte[] b = Files.readAllBytes(f);
            b[at] ^= (byte) mask;
            Files.write(f, b);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void write(Path f, byte[] bytes) {
        try {
            Files.write(f, bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.delete(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
