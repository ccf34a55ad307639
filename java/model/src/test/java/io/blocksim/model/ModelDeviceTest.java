package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import io.blocksim.DeviceException;
import io.blocksim.InvalidArgumentException;
import org.junit.jupiter.api.Test;

/** Choosing ONNX Runtime's execution provider: the decisions, and this build's real behaviour. */
class ModelDeviceTest {
    @Test
    void decisions() {
        assertFalse(ModelDevice.CPU.decide(true, null).cuda());
        assertFalse(ModelDevice.CPU.triesCuda(true));
        assertTrue(ModelDevice.AUTO.decide(true, null).cuda());
        assertTrue(ModelDevice.CUDA.decide(true, null).cuda());

        ModelDevice.Choice noBuild = ModelDevice.AUTO.decide(false, null);
        assertFalse(noBuild.cuda());
        assertTrue(noBuild.reason().startsWith("cpu (auto: this ONNX Runtime build has no CUDA provider"), noBuild.reason());
        assertTrue(noBuild.reason().contains("mvn -Pcuda package"), noBuild.reason());

        ModelDevice.Choice failed = ModelDevice.AUTO.decide(true, "libcudnn.so.9: cannot open shared object file");
        assertFalse(failed.cuda());
        assertTrue(failed.reason().contains("libcudnn.so.9"), failed.reason());

        DeviceException e = assertThrows(DeviceException.class,
                () -> ModelDevice.CUDA.decide(true, "no CUDA-capable device is detected"));
        assertTrue(e.getMessage().contains("no CUDA-capable device") && e.getMessage().contains("on the CPU"), e.getMessage());
        assertFalse(e.getMessage().contains("--device"), e.getMessage());
        InvalidArgumentException noBuildCuda = assertThrows(InvalidArgumentException.class,
                () -> ModelDevice.CUDA.decide(false, null));
        assertTrue(noBuildCuda.getMessage().contains("no CUDA provider"), noBuildCuda.getMessage());
        assertThrows(InvalidArgumentException.class, () -> ModelDevice.parse("tpu"));
        assertEquals(ModelDevice.CUDA, ModelDevice.parse("GPU"));
    }

    /** On this build and machine: auto opens a working model and says where it runs; cuda is refused or runs. */
    @Test
    void thisMachine() throws Exception {
        boolean inBuild = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        try (TransformerModel m = TransformerModel.open(TransformerModel.defaultModelPath(), 1, ModelDevice.AUTO)) {
            assertEquals(m.deviceChoice().cuda(), m.deviceChoice().reason().startsWith("cuda"));
            if (!inBuild) {
                assertFalse(m.deviceChoice().cuda());
            }
            assertEquals(m.spec().nEmbed(), m.lastPositionVectors(java.util.List.of("my most gr"), Site.PROJ_OUTPUT, 0)[0].length);
        }
        if (!inBuild) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> TransformerModel.open(TransformerModel.defaultModelPath(), 1, ModelDevice.CUDA));
            assertTrue(e.getMessage().startsWith("cannot run the model on CUDA: this ONNX Runtime build has no CUDA"
                    + " provider"), e.getMessage());
        }
    }
}
