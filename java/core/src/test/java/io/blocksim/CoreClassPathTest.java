package io.blocksim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A program that depends on blocksim-core alone gets none of the CLI's, the model's or CUDA's
 * libraries: core's own test class path (its dependencies plus JUnit) must hold none of them.
 */
class CoreClassPathTest {
    @Test
    void coreDependsOnNoHeavyLibraries() {
        List<String> banned = List.of("picocli", "jfreechart", "progressbar", "onnxruntime", "jcuda", "jcublas",
                "blocksim-model", "blocksim-cuda", "blocksim-cli");
        List<String> found = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> new File(p).getName())
                .filter(name -> banned.stream().anyMatch(name::contains))
                .toList();
        assertEquals(List.of(), found, "core's class path");
    }
}
