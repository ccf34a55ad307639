package io.blocksim.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.search.Hit;
import io.blocksim.search.LabeledResult;
import io.blocksim.text.Tokenizer;
import java.util.Locale;

/** Prints search results as the notebook's tables or as one JSON object. */
final class ResultFormat {
    static final ObjectMapper JSON = new ObjectMapper();

    private ResultFormat() {
    }

    /**
     * The notebook's layout: {@code Closest to 'my most gr': } then one tab-indented line per hit,
     * the quoted string right-aligned in 14 columns and the score with 3 decimals.
     */
    static String table(LabeledResult r) {
        StringBuilder b = new StringBuilder();
        for (LabeledResult.QueryHits q : r.queries()) {
            String label = q.prompt() != null ? Tokenizer.quote(q.prompt()) : "query " + q.index();
            b.append("Closest to ").append(label).append(": \n");
            int width = 14;
            for (Hit h : q.results()) {
                b.append('\t').append(String.format(Locale.ROOT, "%" + width + "s (%.3f)",
                        Tokenizer.quote(h.string()), h.score())).append('\n');
            }
            b.append('\n');
        }
        return b.toString();
    }

    static ObjectNode json(LabeledResult r) {
        ObjectNode root = JSON.createObjectNode();
        root.put("backend", r.backend());
        root.put("metric", r.metric().cliName());
        root.put("k", r.k());
        ArrayNode qs = root.putArray("queries");
        for (LabeledResult.QueryHits q : r.queries()) {
            ObjectNode qn = qs.addObject();
            if (q.prompt() != null) {
                qn.put("query", q.prompt());
            } else {
                qn.put("query", q.index());
            }
            ArrayNode hits = qn.putArray("results");
            for (Hit h : q.results()) {
                hits.addObject().put("row", h.row()).put("string", h.string()).put("score", h.score());
            }
        }
        root.put("elapsed_ms", r.elapsedMs());
        return root;
    }
}
