package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ONNX Runtime (Java) against PyTorch's outputs for the golden prompts, every output within 1e-4. */
class GoldenTest {
    private static final double TOL = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static TransformerModel model;
    private static List<JsonNode> prompts;
    private static double worstSeen;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.model();
        JsonNode index = JSON.readTree(TestModel.modelDir().resolve("golden/index.json").toFile());
        prompts = new ArrayList<>();
        index.get("prompts").forEach(prompts::add);
        assertTrue(prompts.size() >= 3, "golden index lists the prompts");
    }

    @Test
    void metadataGivesVocabularyAndShape() throws IOException {
        ModelSpec spec = model.spec();
        assertEquals(65, spec.vocabSize());
        assertEquals("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", spec.vocab());
        assertEquals(6, spec.nLayer());
        assertEquals(384, spec.nEmbed());
        assertEquals(6, spec.nHead());
        assertEquals(256, spec.blockSize());
        assertEquals("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", spec.corpusSha256());
        assertEquals(26, spec.outputNames().size());
        assertTrue(spec.version().startsWith("blocksim-shakespeare"), spec.version());
        // the goldens and model-info.json were written with this very file
        JsonNode info = JSON.readTree(TestModel.modelDir().resolve("model-info.json").toFile());
        assertEquals(info.get("file_sha256").asText(), spec.modelSha256());
        assertEquals(TestModel.modelDir().resolve("blocksim-shakespeare.onnx").toAbsolutePath().normalize(),
                model.path().toAbsolutePath().normalize());
    }

    @Test
    void everyOutputMatchesPyTorchForEachPrompt() throws IOException {
        ModelSpec spec = model.spec();
        for (JsonNode p : prompts) {
            String prompt = p.get("prompt").asText();
            long[] ids = spec.encode(prompt);
            long[] expectedIds = new long[p.get("tokens").size()];
            for (int i = 0; i < expectedIds.length; i++) {
                expectedIds[i] = p.get("tokens").get(i).asLong();
            }
            assertArrayEquals(expectedIds, ids, "token ids of " + prompt);
            assertEquals(prompt, spec.decode(ids));
            Outputs out = model.run(new long[][] {ids}, new LinkedHashSet<>(spec.outputNames()));
            for (String name : spec.outputNames()) {
                NpyFloat32 g = golden(p, name);
                assertArrayEquals(new int[] {1, ids.length, spec.outputWidth(name)}, g.shape(), name);
                assertClose(g.data(), 0, out.buffer(name), 0, g.data().length, prompt + " " + name);
            }
        }
    }

    @Test
    void equalLengthPromptsBatchTogether() throws IOException {
        ModelSpec spec = model.spec();
        List<JsonNode> same = prompts.stream().filter(p -> p.get("prompt").asText().length() == 10).toList();
        assertEquals(2, same.size(), "two golden prompts of length 10");
        long[][] batch = same.stream().map(p -> spec.encode(p.get("prompt").asText())).toArray(long[][]::new);
        Outputs out = model.run(batch, new LinkedHashSet<>(spec.outputNames()));
        assertEquals(2, out.batch());
        assertEquals(10, out.seq());
        for (String name : spec.outputNames()) {
            int w = spec.outputWidth(name);
            for (int r = 0; r < 2; r++) {
                float[] g = golden(same.get(r), name).data();
                assertClose(g, 0, out.buffer(name), r * 10 * w, 10 * w, "batched row " + r + " " + name);
            }
        }
    }

    @Test
    void lastPositionVectorsOfMixedLengthPrompts() throws IOException {
        ModelSpec spec = model.spec();
        List<String> texts = prompts.stream().map(p -> p.get("prompt").asText()).toList();
        for (Site site : Site.values()) {
            int block = site == Site.EMBEDDING ? 0 : 3;
            float[][] v = model.lastPositionVectors(texts, site, block);
            assertEquals(texts.size(), v.length);
            for (int i = 0; i < texts.size(); i++) {
                float[] g = golden(prompts.get(i), spec.outputName(site, block)).data();
                int last = (texts.get(i).length() - 1) * spec.nEmbed();
                assertClose(g, last, FloatBuffer.wrap(v[i]), 0, spec.nEmbed(), site + " " + block + " " + texts.get(i));
            }
        }
        // block_input of block 0 is the embedding, of block b the output of block b-1
        float[][] in2 = model.lastPositionVectors(texts, Site.BLOCK_INPUT, 2);
        float[][] out1 = model.lastPositionVectors(texts, Site.BLOCK_OUTPUT, 1);
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(out1[i], in2[i]);
        }
    }

    @Test
    void runIntoWritesCallerBuffersInPlace() throws IOException {
        ModelSpec spec = model.spec();
        JsonNode p = prompts.get(0);
        long[] ids = spec.encode(p.get("prompt").asText());
        int n = ids.length * spec.nEmbed();
        LongBuffer tokens = TransformerModel.allocateTokens(ids.length + 3);
        tokens.position(3).mark();
        tokens.put(ids).reset();
        FloatBuffer heads = TransformerModel.allocateFloats(n + 7);
        heads.position(5);
        FloatBuffer logits = TransformerModel.allocateFloats(ids.length * spec.vocabSize());
        for (int round = 0; round < 2; round++) { // the same buffers serve run after run
            model.runInto(tokens, 1, ids.length, Map.of("block2.heads_output", heads, "logits", logits));
            assertEquals(3, tokens.position());
            assertEquals(5, heads.position());
            assertEquals(0f, heads.get(4));
            assertEquals(0f, heads.get(5 + n));
            assertClose(golden(p, "block2.heads_output").data(), 0, heads, 5, n, "heads in place");
            assertClose(golden(p, "logits").data(), 0, logits, 0, ids.length * spec.vocabSize(), "logits in place");
        }
    }

    @Test
    void defaultModelIsFoundThroughTheProjectDir() {
        Path p = TransformerModel.defaultModelPath();
        assertTrue(p.endsWith(Path.of(TransformerModel.DEFAULT_MODEL)), p.toString());
    }

    @AfterAll
    static void report() {
        System.out.println("GoldenTest: largest |ONNX Runtime - PyTorch| seen " + worstSeen);
    }

    private static NpyFloat32 golden(JsonNode prompt, String output) throws IOException {
        return NpyFloat32.read(TestModel.modelDir().resolve("golden").resolve(prompt.get("outputs").get(output).asText()));
    }

    static void assertClose(float[] expected, int eOff, FloatBuffer actual, int aOff, int n, String what) {
        double worst = 0;
        int at = -1;
        for (int i = 0; i < n; i++) {
            double d = Math.abs((double) expected[eOff + i] - actual.get(aOff + i));
            if (!(d <= worst)) { // also catches NaN
                worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                at = i;
            }
        }
        worstSeen = Math.max(worstSeen, worst);
        if (worst > TOL) {
            fail(what + ": max |diff| " + worst + " at " + at + " (expected " + expected[eOff + at] + ", got "
                    + actual.get(aOff + at) + ")");
        }
    }
}
