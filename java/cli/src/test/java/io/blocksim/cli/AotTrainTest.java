package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's training run works (the launcher hides its failure behind "could not make the
 * startup cache", so a broken run would only show as slower starts): it ends with exit 0, leaves
 * no temporary folder, and copies ONNX Runtime's native libraries where asked.
 */
class AotTrainTest {
    @Test
    void runsAndCopiesTheNativeLibraries(@TempDir Path dir) throws Exception {
        Path natives = dir.resolve("natives");
        long before = countTrainingFolders();
        assertEquals(0, Main.execute("aot-train", "--native-dir", natives.toString()));
        assertTrue(Files.isRegularFile(natives.resolve(AotTrainCommand.ORT_LIBRARY)), "libonnxruntime.so copied");
        assertTrue(Files.isRegularFile(natives.resolve("libonnxruntime4j_jni.so")), "the JNI library copied");
        assertEquals(before, countTrainingFolders(), "the training store is removed");
    }

    private static long countTrainingFolders() throws Exception {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("blocksim-aot-train")).count();
        }
    }
}
