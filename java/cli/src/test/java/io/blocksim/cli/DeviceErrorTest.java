package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blocksim.cuda.CudaProbe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Without a GPU, asking for one is one usage line that names the flag; an unknown device too. */
class DeviceErrorTest {
    private static String[] run(String... args) {
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = Main.execute(args);
        } finally {
            System.setErr(oldErr);
        }
        return new String[] {String.valueOf(rc), err.toString(StandardCharsets.UTF_8).strip()};
    }

    @Test
    void benchSearchDeviceCudaWithoutAGpuIsOneLineError() {
        Assumptions.assumeFalse(CudaProbe.probe().verdict().usable(), "a usable GPU is present");
        String[] r = run("bench", "search", "--device", "cuda", "--rows", "1000", "--dim", "8");
        assertEquals(String.valueOf(CliError.USAGE), r[0], r[1]);
        assertTrue(r[1].startsWith("blocksim: --device cuda: the cuda backend is unavailable: "), r[1]);
        assertEquals(1, r[1].lines().count(), r[1]);
    }

    @Test
    void unknownDeviceIsOneUsageLine() {
        String[] r = run("bench", "search", "--device", "tpu", "--rows", "1000", "--dim", "8");
        assertEquals(String.valueOf(CliError.USAGE), r[0], r[1]);
        assertTrue(r[1].startsWith("blocksim: --device tpu: unknown search backend 'tpu': choose auto, "), r[1]);
        assertEquals(1, r[1].lines().count(), r[1]);
    }
}
