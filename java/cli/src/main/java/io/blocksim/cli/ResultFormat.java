package io.blocksim.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.api.Hit;
import io.blocksim.api.SearchResponse;
import io.blocksim.demo.NotebookFormat;

/** Prints search results as the notebook's tables or as one JSON object. */
final class ResultFormat {
    static final ObjectMapper JSON = new ObjectMapper();

    private ResultFormat() {
    }

    /** The notebook's layout ({@link NotebookFormat#resultTable}): one place for the console and the demo's report. */
    static String table(SearchResponse r) {
        return NotebookFormat.resultTable(r);
    }

    static ObjectNode json(SearchResponse r) {
        ObjectNode root = JSON.createObjectNode();
        root.put("backend", r.backend());
        root.put("metric", r.metric().cliName());
        root.put("k", r.k());
        root.put("candidates", r.candidates());
        root.put("scan", r.scan());
        ArrayNode rescored = root.putArray("rescored");
        r.rescored().forEach(rescored::add);
        if (r.note() != null) {
            root.put("note", r.note());
        }
        ArrayNode qs = root.putArray("queries");
        for (SearchResponse.QueryHits q : r.queries()) {
            ObjectNode qn = qs.addObject();
            if (q.prompt() != null) {
                qn.put("query", q.prompt());
            } else {
                qn.put("query", q.index());
            }
            ArrayNode hits = qn.putArray("results");
            for (Hit h : q.hits()) {
                hits.addObject().put("row", h.row()).put("string", h.label()).put("score", h.score());
            }
        }
        root.put("elapsed_ms", r.elapsedMs());
        return root;
    }
}
