package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import io.blocksim.ModelException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SiteTest {
    private static final ModelSpec SPEC = new ModelSpec("\n !abc", 6, 384, 6, 256, "", "", "test");

    @Test
    void parsesEveryCliName() {
        for (Site s : Site.values()) {
            assertEquals(s, Site.parse(s.cliName()));
            assertEquals(s, Site.parse(s.cliName().toUpperCase()));
        }
        assertEquals(Site.PROJ_OUTPUT, Site.parse("proj-output"));
        assertEquals(List.of("embedding", "block_input", "heads_output", "proj_output", "ffwd_output", "block_output"),
                List.of(Site.values()).stream().map(Site::cliName).toList());
    }

    @Test
    void unknownSiteIsAUsageErrorNamingTheValidOnes() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Site.parse("attention"));
        assertTrue(e.getMessage().contains("'attention'"), e.getMessage());
        for (Site s : Site.values()) {
            assertTrue(e.getMessage().contains(s.cliName()), e.getMessage());
        }
        assertThrows(InvalidArgumentException.class, () -> Site.parse(""));
        assertThrows(InvalidArgumentException.class, () -> Site.parse(null));
    }

    @Test
    void outputNames() {
        assertEquals("embedding", Site.EMBEDDING.outputName(0));
        assertEquals("embedding", Site.BLOCK_INPUT.outputName(0));
        assertEquals("block2.block_output", Site.BLOCK_INPUT.outputName(3));
        assertEquals("block0.heads_output", Site.HEADS_OUTPUT.outputName(0));
        assertEquals("block4.proj_output", Site.PROJ_OUTPUT.outputName(4));
        assertEquals("block5.ffwd_output", Site.FFWD_OUTPUT.outputName(5));
        assertEquals("block1.block_output", Site.BLOCK_OUTPUT.outputName(1));
        assertFalse(Site.EMBEDDING.perBlock());
        assertThrows(InvalidArgumentException.class, () -> Site.HEADS_OUTPUT.outputName(-1));
    }

    @Test
    void specChecksBlockRange() {
        assertEquals("block5.block_output", SPEC.outputName(Site.BLOCK_OUTPUT, 5));
        assertEquals("block4.block_output", SPEC.outputName(Site.BLOCK_INPUT, 5));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> SPEC.outputName(Site.FFWD_OUTPUT, 6));
        assertTrue(e.getMessage().contains("0..5"), e.getMessage());
        assertEquals("embedding", SPEC.outputName(Site.EMBEDDING, 0));
        List<String> names = SPEC.outputNames();
        assertEquals(26, names.size());
        assertEquals("embedding", names.get(0));
        assertEquals("block0.heads_output", names.get(1));
        assertEquals("block5.block_output", names.get(24));
        assertEquals("logits", names.get(25));
        assertEquals(6, SPEC.outputWidth("logits"));
        assertEquals(384, SPEC.outputWidth("block0.ffwd_output"));
    }

    @Test
    void specReadsMetadataAndEncodes() {
        ModelSpec s = ModelSpec.fromMetadata(Map.of("vocab", "\"\\n !abc\"", "n_layer", "6", "n_embed", "384",
                "n_head", "6", "block_size", "256", "corpus_sha256", "ab", "model_version", "v"), "cd", "test.onnx");
        assertEquals(SPEC.vocab(), s.vocab());
        assertEquals("cd", s.modelSha256());
        assertEquals("ab", s.corpusSha256());
        assertEquals(List.of(3L, 4L, 1L, 0L), java.util.Arrays.stream(s.encode("ab \n")).boxed().toList());
        assertEquals("ab \n", s.decode(s.encode("ab \n")));
        assertThrows(InvalidArgumentException.class, () -> s.encode("abz"));
        ModelException missing = assertThrows(ModelException.class, () -> ModelSpec.fromMetadata(Map.of(), "", "x.onnx"));
        assertTrue(missing.getMessage().contains("x.onnx"), missing.getMessage());
    }
}
