package io.blocksim.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blocksim.search.Hit;
import io.blocksim.demo.NotebookFormat;
import io.blocksim.search.LabeledResult;

/** Prints search results as the notebook's tables or as one JSON object. */
final class ResultFormat {
    static final ObjectMapper JSON = new ObjectMapper();

    private ResultFormat() {
    }

    /** The notebook's layout ({@link NotebookFormat#resultTable}): one place for the console and the demo's report. */
    static String table(LabeledResult r) {
        return NotebookFormat.resultTable(r);
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
