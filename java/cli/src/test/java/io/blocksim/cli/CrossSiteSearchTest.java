package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.model.Outputs;
import io.blocksim.model.Site;
import io.blocksim.model.TransformerModel;
import io.blocksim.text.TestCorpus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's cross-site search: {@code search --site ffwd_output --block 5 --position 8
 * --query-site proj_output --prompt ...} compares ffwd_output candidates with the prompts'
 * proj_output vectors. Its results must be those of the same search with those vectors computed
 * here, straight from the model, and given with {@code --query-npy}; and they must differ from the
 * search with ffwd_output queries, so {@code --query-site} and {@code --query-block} cannot be
 * ignored unnoticed.
 */
class CrossSiteSearchTest {
    static final List<String> PROMPTS = List.of("my most gr", "is dreams,");
    static final int K = 8;

    /** Each prompt's output {@code site} of {@code block} at its last position, from one model run. */
    static float[][] direct(TransformerModel m, Site site, int block) {
        String name = m.spec().outputName(site, block);
        float[][] out = new float[PROMPTS.size()][];
        for (int i = 0; i < PROMPTS.size(); i++) {
            Outputs o = m.run(new long[][] {m.spec().encode(PROMPTS.get(i))}, Set.of(name));
            out[i] = o.vector(name, 0, PROMPTS.get(i).length() - 1);
        }
        return out;
    }

    static List<String> search(Path store, String... extra) {
        List<String> args = new ArrayList<>(List.of("search", "--store", store.toString(), "--site", "ffwd_output",
                "--block", "5", "--position", "8", "-k", String.valueOf(K), "--json", "--device", "cpu"));
        args.addAll(List.of(extra));
        return args;
    }

    static List<String> prompts(List<String> args) {
        PROMPTS.forEach(p -> args.addAll(List.of("--prompt", p)));
        return args;
    }

    /** Per query, its hits as "row:score", the score rounded to 4 decimals (the model may run the prompts batched). */
    static List<List<String>> hits(List<String> args) throws Exception {
        CliTest.Run r = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        JsonNode root = ResultFormat.JSON.readTree(r.out());
        List<List<String>> out = new ArrayList<>();
        for (JsonNode q : root.get("queries")) {
            List<String> h = new ArrayList<>();
            for (JsonNode x : q.get("results")) {
                h.add(x.get("row").asInt() + ":" + String.format(java.util.Locale.ROOT, "%.4f", x.get("score").asDouble()));
            }
            assertEquals(K, h.size());
            out.add(h);
        }
        assertEquals(PROMPTS.size(), out.size());
        return out;
    }

    @Test
    void querySiteAndQueryBlockChooseTheQueryVectors(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("st");
        CliTest.Run x = CliTest.run("extract", "--out", store.toString(), "--dataset", TestCorpus.path().toString(),
                "--limit", "600", "--sites", "ffwd_output", "--blocks", "5", "--positions", "8", "--device", "cpu");
        assertEquals(0, x.code(), x.err());

        float[][] proj5;
        float[][] proj2;
        float[][] ffwd5;
        float[][] ffwd2;
        try (TransformerModel m = TransformerModel.openDefault()) {
            proj5 = direct(m, Site.PROJ_OUTPUT, 5);
            proj2 = direct(m, Site.PROJ_OUTPUT, 2);
            ffwd5 = direct(m, Site.FFWD_OUTPUT, 5);
            ffwd2 = direct(m, Site.FFWD_OUTPUT, 2);
        }
        Path q5 = dir.resolve("proj5.npy");
        Path q2 = dir.resolve("proj2.npy");
        Path f5 = dir.resolve("ffwd5.npy");
        Path f2 = dir.resolve("ffwd2.npy");
        CliTest.writeQueries(q5, proj5);
        CliTest.writeQueries(q2, proj2);
        CliTest.writeQueries(f5, ffwd5);
        CliTest.writeQueries(f2, ffwd2);

        List<List<String>> sameSite = hits(prompts(search(store)));
        List<List<String>> crossSite = hits(prompts(search(store, "--query-site", "proj_output")));
        List<List<String>> crossBlock = hits(prompts(search(store, "--query-site", "proj_output", "--query-block", "2")));
        // --query-block alone keeps --site (ffwd_output) for the queries
        List<List<String>> ffwdBlock2 = hits(prompts(search(store, "--query-block", "2")));

        assertEquals(hits(search(store, "--query-npy", f5.toString())), sameSite, "ffwd_output queries");
        assertEquals(hits(search(store, "--query-npy", q5.toString())), crossSite, "--query-site proj_output");
        assertEquals(hits(search(store, "--query-npy", q2.toString())), crossBlock,
                "--query-site proj_output --query-block 2");
        assertEquals(hits(search(store, "--query-npy", f2.toString())), ffwdBlock2, "--query-block 2");
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertNotEquals(sameSite.get(i), crossSite.get(i), "proj_output queries must rank differently: " + PROMPTS.get(i));
            assertNotEquals(crossSite.get(i), crossBlock.get(i), "block 2 queries must rank differently: " + PROMPTS.get(i));
            assertNotEquals(sameSite.get(i), ffwdBlock2.get(i), "block 2 queries must rank differently: " + PROMPTS.get(i));
        }
    }
}
