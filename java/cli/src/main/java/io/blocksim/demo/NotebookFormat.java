package io.blocksim.demo;

import io.blocksim.api.NormRow;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import io.blocksim.text.Tokenizer;
import java.util.List;
import java.util.Locale;

/**
 * The demo's text, laid out as the research notebook prints it. The console and report.md both
 * take their headings and tables from here, so the two always say the same.
 */
public final class NotebookFormat {
    private NotebookFormat() {
    }

    /** The title line, without the leading {@code "# "}. */
    public static String title(DemoResults r) {
        return "blocksim demo: cosine similarity of block intermediates" + r.scope();
    }

    /** The line under the title: which store and model. */
    public static String storeLine(DemoResults r) {
        return "store " + r.store() + " (" + String.format(Locale.ROOT, "%,d", r.strings()) + " strings of length "
                + r.stringLength() + "), model " + r.model();
    }

    /**
     * Why a table cannot show a prompt as its own best match: it is not among the stored strings
     * (a store made with --limit, or a quick store from before it held the prompts). Null when every
     * prompt is stored.
     */
    public static String missingPromptsNote(DemoResults r) {
        List<String> missing = r.prompts().stream().filter(p -> !p.stored()).map(p -> Tokenizer.quote(p.text())).toList();
        if (missing.isEmpty()) {
            return null;
        }
        return "note: " + String.join(" and ", missing) + (missing.size() == 1 ? " is" : " are")
                + " not among this store's strings, so no table lists " + (missing.size() == 1 ? "it" : "them")
                + " as " + (missing.size() == 1 ? "its" : "their") + " own closest match"
                + (r.quick() ? " (the full store has them)" : "");
    }

    /** A section's heading, without the leading {@code "## "}. */
    public static String heading(DemoResults.Section s, String scope) {
        return switch (s) {
            case DemoResults.NormTable n -> String.format(Locale.ROOT, "Norms of %s (last position, first %,d strings)%s",
                    n.site(), n.rows(), scope);
            case DemoResults.SearchTable t -> String.format(Locale.ROOT, "%s%s — %s, %.1f ms", t.title(), scope,
                    t.result().backend(), t.result().elapsedMs());
        };
    }

    /** The notebook's norm lines: {@code Layer 0: mean 27.912762, std 1.1137562}. */
    public static String normLines(List<NormRow> rows) {
        StringBuilder b = new StringBuilder();
        for (NormRow r : rows) {
            b.append(String.format(Locale.ROOT, "Layer %d: mean %s, std %s%n", r.block(), (float) r.mean(), (float) r.std()));
        }
        return b.toString();
    }

    /**
     * The notebook's result layout: {@code Closest to 'my most gr': } then one tab-indented line
     * per hit, the quoted string right-aligned in 14 columns and the score with 3 decimals; a blank
     * line after each query.
     */
    public static String resultTable(SearchResponse r) {
        StringBuilder b = new StringBuilder();
        for (SearchResponse.QueryHits q : r.queries()) {
            String label = q.prompt() != null ? Tokenizer.quote(q.prompt()) : "query " + q.index();
            b.append("Closest to ").append(label).append(": \n");
            for (Hit h : q.hits()) {
                b.append('\t').append(String.format(Locale.ROOT, "%14s (%.3f)", Tokenizer.quote(h.label()), h.score()))
                        .append('\n');
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** The console text of the title block: title, store line, the missing-prompt note if any, a blank line. */
    public static String header(DemoResults r) {
        StringBuilder b = new StringBuilder("# ").append(title(r)).append('\n').append(storeLine(r)).append('\n');
        String note = missingPromptsNote(r);
        if (note != null) {
            b.append(note).append('\n');
        }
        return b.append('\n').toString();
    }

    /** The console text of one section. */
    public static String section(DemoResults.Section s, String scope) {
        StringBuilder b = new StringBuilder("## ").append(heading(s, scope)).append('\n');
        switch (s) {
            case DemoResults.NormTable n -> b.append(normLines(n.layers())).append(n.conclusion()).append("\n\n");
            case DemoResults.SearchTable t -> b.append(resultTable(t.result()));
        }
        return b.toString();
    }

    /** The closing line: backend, extraction, total time. */
    public static String footer(DemoResults r) {
        return String.format(Locale.ROOT, "searches ran on %s; extraction %s; demo total %.1f s", r.backendReason(),
                r.extractSeconds() != null ? String.format(Locale.ROOT, "took %.1f s", r.extractSeconds()) : "reused the store",
                r.seconds());
    }
}
