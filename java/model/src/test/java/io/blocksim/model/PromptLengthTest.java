package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.InvalidArgumentException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Prompt lengths count characters (code points), not UTF-16 units: an emoji is one character. */
class PromptLengthTest {
    @Test
    void anEmojiIsOneCharacterAndIsNamedWhole() {
        String tooLong = "a".repeat(TestModel.model().spec().blockSize() - 1) + "\uD83D\uDE00";  // 256 characters
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> TestModel.model().lastPositionVectors(List.of(tooLong), Site.PROJ_OUTPUT, 0));
        assertFalse(e.getMessage().contains("257 characters"), e.getMessage());
        assertTrue(e.getMessage().contains("U+1F600"), e.getMessage());
    }
}
