package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The residual structure on random corpus strings: each block's output is its input plus the
 * attention projection's and the feed-forward net's contributions.
 */
class ResidualTest {
    @Test
    void blockOutputIsInputPlusProjPlusFfwd() throws IOException {
        Path corpus = TestModel.corpus();
        assumeTrue(corpus != null, "TinyShakespeare not found (set BLOCKSIM_DATASET)");
        String text = Files.readString(corpus, StandardCharsets.UTF_8);
        TransformerModel model = TestModel.model();
        ModelSpec spec = model.spec();
        Random rnd = new Random(20240607L);
        // short strings as the extractor runs them, and a full context
        for (int[] shape : new int[][] {{32, 10}, {2, spec.blockSize()}}) {
            int batch = shape[0];
            int seq = shape[1];
            long[][] tokens = new long[batch][];
            for (int r = 0; r < batch; r++) {
                int at = rnd.nextInt(text.length() - seq);
                tokens[r] = spec.encode(text.substring(at, at + seq));
            }
            Outputs out = model.run(tokens, new LinkedHashSet<>(spec.outputNames()));
            int n = batch * seq * spec.nEmbed();
            for (int b = 0; b < spec.nLayer(); b++) {
                FloatBuffer in = out.buffer(spec.outputName(Site.BLOCK_INPUT, b));
                FloatBuffer proj = out.buffer(spec.outputName(Site.PROJ_OUTPUT, b));
                FloatBuffer ffwd = out.buffer(spec.outputName(Site.FFWD_OUTPUT, b));
                FloatBuffer blockOut = out.buffer(spec.outputName(Site.BLOCK_OUTPUT, b));
                double worst = 0;
                for (int i = 0; i < n; i++) {
                    worst = Math.max(worst, Math.abs((double) in.get(i) + proj.get(i) + ffwd.get(i) - blockOut.get(i)));
                }
                assertTrue(worst <= 1e-4, "block " + b + " at " + batch + "x" + seq + ": max |diff| " + worst);
            }
        }
    }
}
