package io.blocksim.demo;

import io.blocksim.api.NormRow;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.BlocksimException;
import io.blocksim.FileAccessException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.TargetExistsException;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes the demo's report folder: {@code report.md} (every printed table, as Markdown),
 * {@code norms.png} (the norm chart) and {@code results.json} (every table's data). The folder is
 * built beside its destination and moved into place, so a crash leaves the previous report or the
 * new one, never half of one.
 */
public final class ReportWriter {
    public static final String MARKDOWN = "report.md";
    public static final String JSON = "results.json";
    public static final String CHART = "norms.png";
    /** What a report folder may hold: an existing folder with anything else is not replaced. */
    static final Set<String> FILES = Set.of(MARKDOWN, JSON, CHART);
    static final int JSON_VERSION = 1;

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {
    }

    /**
     * Writes the report of {@code r} into {@code dir} (created or replaced) and returns the folder.
     *
     * @throws InvalidArgumentException when {@code dir} is the file-system root
     * @throws TargetExistsException when {@code dir} is a file, or a folder that holds other files
     *     than an earlier report
     * @throws FileAccessException when the report cannot be written
     * @throws BlocksimException (this class itself) when the chart cannot be drawn (a JDK without
     *     fontconfig or fonts)
     */
    public static Path write(DemoResults r, Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        if (parent == null) {
            throw new InvalidArgumentException("the report folder cannot be the file-system root; pick another folder");
        }
        checkReplaceable(target);
        String name = target.getFileName().toString();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            removeStale(parent, name);
            // not createTempDirectory: its 0700 would stay on the report; the pid and clock make the name unique
            tmp = Files.createDirectory(parent.resolve("." + name + ".tmp-" + ProcessHandle.current().pid() + "-"
                    + System.nanoTime()));
            // the chart first: it is the part most likely to fail (fonts), and then nothing else was written
            writeSynced(tmp.resolve(CHART), chart(r));
            writeSynced(tmp.resolve(MARKDOWN), markdown(r).getBytes(StandardCharsets.UTF_8));
            writeSynced(tmp.resolve(JSON), json(r));
            fsyncDir(tmp);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                // two renames: the old report leaves first, then the new one arrives complete
                Path old = parent.resolve("." + name + ".old-" + System.nanoTime());
                move(target, old);
                move(tmp, target);
                tmp = null;
                deleteTree(old);
            } else {
                move(tmp, target);
                tmp = null;
            }
            fsyncDir(parent);
        } catch (IOException e) {
            throw new FileAccessException("could not write the report to " + target + ": " + why(e)
                    + "; pick another folder, or write no report", e);
        } finally {
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException ignored) {
                    // the first error is the one to report
                }
            }
        }
        return target;
    }

    private static byte[] chart(DemoResults r) {
        try {
            return NormChart.png(r.norms(), r.scope());
        } catch (RuntimeException | LinkageError | InternalError e) {
            // a headless JDK without fontconfig or any font fails deep inside AWT
            throw new BlocksimException("could not draw the norm chart (" + e + "): Java needs fontconfig and"
                    + " a font (e.g. Debian's fonts-dejavu-core) to draw text; or write no report", e);
        }
    }

    /** report.md: the console's headings and tables, the norm tables as Markdown tables, the chart. */
    public static String markdown(DemoResults r) {
        String scope = r.scope();
        StringBuilder b = new StringBuilder();
        b.append("# ").append(NotebookFormat.title(r)).append("\n\n");
        b.append(NotebookFormat.storeLine(r)).append(".\n\n");
        String note = NotebookFormat.missingPromptsNote(r);
        if (note != null) {
            b.append("> ").append(note).append(".\n\n");
        }
        b.append("![Norm mean \u00b1 std per layer of block_output, proj_output and ffwd_output](").append(CHART).append(")\n\n");
        for (DemoResults.Section s : r.sections()) {
            b.append("## ").append(NotebookFormat.heading(s, scope)).append("\n\n");
            switch (s) {
                case DemoResults.NormTable n -> {
                    b.append("| layer | mean | std | rows |\n|---:|---:|---:|---:|\n");
                    for (NormRow row : n.layers()) {
                        b.append(String.format(Locale.ROOT, "| %d | %s | %s | %,d |%n", row.block(), (float) row.mean(),
                                (float) row.std(), row.rows()));
                    }
                    b.append('\n').append(n.conclusion()).append("\n\n");
                }
                case DemoResults.SearchTable t -> {
                    // the notebook's own layout, verbatim: quoted strings may hold '|' and backticks
                    String table = NotebookFormat.resultTable(t.result()).stripTrailing();
                    b.append("```text\n").append(table).append("\n```\n\n");
                }
            }
        }
        b.append(NotebookFormat.footer(r)).append(".\n");
        return b.toString();
    }

    /** results.json: every table's numbers, one object per table, in printed order within its kind. */
    public static byte[] json(DemoResults r) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", "blocksim-demo");
        root.put("version", JSON_VERSION);
        root.put("quick", r.quick());
        ObjectNode store = root.putObject("store");
        store.put("path", r.store());
        store.put("strings", r.strings());
        store.put("string_length", r.stringLength());
        root.put("model", r.model());
        root.put("k", r.k());
        ArrayNode prompts = root.putArray("prompts");
        for (DemoResults.Prompt p : r.prompts()) {
            ObjectNode o = prompts.addObject().put("text", p.text());
            if (p.stored()) {
                o.put("row", p.row());
            } else {
                o.putNull("row");
            }
        }
        root.put("backend", r.backendReason());
        if (r.extractSeconds() != null) {
            root.put("extraction_seconds", r.extractSeconds());
        } else {
            root.putNull("extraction_seconds");
        }
        root.put("demo_seconds", r.seconds());
        root.put("chart", CHART);
        String scope = r.scope();
        ArrayNode norms = root.putArray("norms");
        for (DemoResults.NormTable n : r.norms()) {
            ObjectNode o = norms.addObject();
            o.put("heading", NotebookFormat.heading(n, scope));
            o.put("site", n.site());
            o.put("position", r.stringLength() - 1);
            o.put("rows", n.rows());
            ArrayNode layers = o.putArray("layers");
            for (NormRow row : n.layers()) {
                layers.addObject().put("layer", row.block()).put("mean", row.mean()).put("std", row.std())
                        .put("rows", row.rows());
            }
            o.put("conclusion", n.conclusion());
        }
        ArrayNode searches = root.putArray("searches");
        for (DemoResults.SearchTable t : r.searches()) {
            SearchResponse res = t.result();
            ObjectNode o = searches.addObject();
            o.put("heading", NotebookFormat.heading(t, scope));
            o.put("title", t.title());
            o.put("site", t.site());
            o.put("block", t.block());
            if (t.position() != null) {
                o.put("position", t.position());
                o.put("t_i", t.ti());
            } else {
                o.putNull("position"); // all positions concatenated
                o.putNull("t_i");
            }
            o.put("query_site", t.querySite());
            o.put("query_block", t.queryBlock());
            o.put("metric", res.metric().cliName());
            o.put("k", res.k());
            o.put("backend", res.backend());
            o.put("elapsed_ms", res.elapsedMs());
            ArrayNode qs = o.putArray("results");
            for (SearchResponse.QueryHits q : res.queries()) {
                ObjectNode qn = qs.addObject();
                qn.put("prompt", q.prompt());
                ArrayNode hits = qn.putArray("hits");
                for (Hit h : q.hits()) {
                    hits.addObject().put("row", h.row()).put("string", h.label()).put("score", h.score());
                }
            }
        }
        try {
            return MAPPER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("results.json could not be serialized", e);
        }
    }

    /**
     * An existing folder is replaced only when it holds nothing but report files: never a user's folder.
     *
     * @throws TargetExistsException when {@code target} is a file, or a folder that holds other
     *     files than an earlier report
     * @throws FileAccessException when the folder cannot be listed
     */
    public static void checkReplaceable(Path target) {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new TargetExistsException("the report folder " + target + " exists and is not a folder; pick another");
        }
        try (Stream<Path> s = Files.list(target)) {
            var others = s.map(p -> p.getFileName().toString()).filter(n -> !FILES.contains(n)).sorted().limit(3).toList();
            if (!others.isEmpty()) {
                throw new TargetExistsException("the report folder " + target + " holds other files ("
                        + String.join(", ", others) + "); pick a new or empty folder");
            }
        } catch (IOException e) {
            throw new FileAccessException("could not read the report folder " + target + ": " + why(e), e);
        }
    }

    /** Leftovers of a run killed mid-write, an hour or more old (a younger one may be another run's). */
    private static void removeStale(Path parent, String name) throws IOException {
        Instant cutoff = Instant.now().minus(Duration.ofHours(1));
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if ((n.startsWith("." + name + ".tmp-") || n.startsWith("." + name + ".old-"))
                        && Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).compareTo(FileTime.from(cutoff)) < 0) {
                    deleteTree(p);
                }
            }
        }
    }

    private static void writeSynced(Path file, byte[] content) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some platforms cannot sync a folder; the renames are still atomic
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String why(IOException e) {
        return e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
