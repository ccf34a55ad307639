package io.blocksim.cuda;

import java.util.Locale;

import jcuda.CudaException;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Decides once per process whether the CUDA backend can run: the JCuda driver library loads
 * (libcuda.so.1 present), a device exists, it is compute capability 8.0 or newer, the shipped
 * fatbin loads on it and its ABI version is the one this host implements. The gathering of the
 * facts touches CUDA and never throws (every Throwable is a fact); the decision is a pure
 * function of the facts, tested without a GPU.
 */
public final class CudaProbe {
    /**
     * The {@code blocksim_abi_version} this host is written for (kernels/README.md); 2 added
     * {@code blocksim_merge_final}'s raw-key output ({@link LaunchPlan#METRIC_KEYS}).
     */
    public static final int ABI_VERSION = 2;
    /** Setting this system property (any value but "false") makes the probe report CUDA as disabled. */
    public static final String DISABLE_PROPERTY = "blocksim.cuda.disable";

    private static Outcome cached;

    private CudaProbe() {
    }

    /**
     * What the probe found. A null error means that step passed; steps after a failed one are
     * left at their defaults (null, 0, -1).
     */
    public record Facts(String disabledBy, String libraryError, String deviceError, int deviceCount, String deviceName,
            int ccMajor, int ccMinor, int driverVersion, String kernelError, int abiVersion, String deviceSummary) {

        public static Facts disabled(String why) {
            return new Facts(why, null, null, 0, null, 0, 0, 0, null, -1, null);
        }

        public static Facts noLibrary(String error) {
            return new Facts(null, error, null, 0, null, 0, 0, 0, null, -1, null);
        }

        public static Facts deviceFailed(String error, int driverVersion) {
            return new Facts(null, null, error, 0, null, 0, 0, driverVersion, null, -1, null);
        }

        public static Facts device(int count, String name, int major, int minor, int driverVersion) {
            return new Facts(null, null, null, count, name, major, minor, driverVersion, null, -1, null);
        }

        public Facts withKernels(String kernelError, int abiVersion, String summary) {
            return new Facts(disabledBy, libraryError, deviceError, deviceCount, deviceName, ccMajor, ccMinor,
                    driverVersion, kernelError, abiVersion, summary);
        }
    }

    /** Usable or not, and the one line that says why (without a "cpu"/"cuda" prefix). */
    public record Verdict(boolean usable, String reason) {
    }

    /** The probe's decision, with the opened device when usable. */
    public record Outcome(Verdict verdict, Facts facts, CudaDevice device) {
    }

    /** Driver versions as CUDA reports them: 13000 is CUDA 13.0. */
    static String cudaVersion(int v) {
        return v <= 0 ? "unknown" : (v / 1000) + "." + (v % 1000) / 10;
    }

    public static Verdict decide(Facts f) {
        if (f.disabledBy() != null) {
            return new Verdict(false, "CUDA disabled (" + f.disabledBy() + ")");
        }
        if (f.libraryError() != null) {
            return new Verdict(false, "no CUDA driver: " + f.libraryError());
        }
        if (f.deviceError() != null) {
            return new Verdict(false, "CUDA driver present (CUDA " + cudaVersion(f.driverVersion())
                    + ") but no usable device: " + f.deviceError());
        }
        if (f.deviceCount() < 1) {
            return new Verdict(false, "no CUDA device found");
        }
        String dev = f.deviceName() + " (sm_" + f.ccMajor() + f.ccMinor() + ")";
        if (f.ccMajor() < 8) {
            return new Verdict(false, dev + ": the search kernels need compute capability 8.0 or newer");
        }
        if (f.kernelError() != null) {
            String driver = f.driverVersion() > 0 && f.driverVersion() < 13000
                    ? "; the driver supports CUDA " + cudaVersion(f.driverVersion()) + ", the kernels need an R580+ driver (CUDA 13)"
                    : "";
            return new Verdict(false, "the search kernels do not load on " + dev + ": " + f.kernelError() + driver);
        }
        if (f.abiVersion() != ABI_VERSION) {
            return new Verdict(false, "the shipped kernels have ABI version " + f.abiVersion() + ", this host expects "
                    + ABI_VERSION + " (a stale fatbin?)");
        }
        return new Verdict(true, f.deviceSummary() != null ? f.deviceSummary() : dev);
    }

    /** The process-wide outcome: probes on first use, then answers from memory. */
    public static synchronized Outcome probe() {
        if (cached == null) {
            try {
                cached = run();
            } catch (Throwable t) {
                // e.g. the JCuda classes themselves missing from the class path
                Facts f = Facts.noLibrary(CudaErrors.oneLine(t));
                cached = new Outcome(decide(f), f, null);
            }
        }
        return cached;
    }

    private static Outcome run() {
        String off = System.getProperty(DISABLE_PROPERTY);
        if (off != null && !off.equalsIgnoreCase("false")) {
            Facts f = Facts.disabled("-D" + DISABLE_PROPERTY + "=" + off);
            return new Outcome(decide(f), f, null);
        }
        try {
            // the first touch loads libJCudaDriver, which needs libcuda.so.1: UnsatisfiedLinkError here
            JCudaDriver.setExceptionsEnabled(true);
        } catch (Throwable t) {
            Facts f = Facts.noLibrary(CudaErrors.oneLine(t));
            return new Outcome(decide(f), f, null);
        }
        int[] driver = {0};
        Facts facts;
        CUdevice dev = new CUdevice();
        try {
            JCudaDriver.cuDriverGetVersion(driver);
            JCudaDriver.cuInit(0);
            int[] count = {0};
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] < 1) {
                facts = Facts.device(0, null, 0, 0, driver[0]);
                return new Outcome(decide(facts), facts, null);
            }
            JCudaDriver.cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            facts = Facts.device(count[0], cString(name), attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                    attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), driver[0]);
        } catch (Throwable t) {
            String why = t instanceof CudaException ? CudaErrors.explain(t.getMessage()) : CudaErrors.oneLine(t);
            facts = Facts.deviceFailed(why, driver[0]);
            return new Outcome(decide(facts), facts, null);
        }
        if (facts.ccMajor() < 8) {
            return new Outcome(decide(facts), facts, null);
        }
        CudaDevice device = null;
        try {
            device = CudaDevice.open(dev, facts.deviceName(), facts.ccMajor(), facts.ccMinor(), driver[0]);
            facts = facts.withKernels(null, device.abiVersion(), device.describe());
        } catch (Throwable t) {
            String why = t instanceof CudaException ? CudaErrors.explain(t.getMessage()) : CudaErrors.oneLine(t);
            facts = facts.withKernels(why, -1, null);
        }
        Verdict v = decide(facts);
        if (!v.usable() && device != null) {
            device.close();
            device = null;
        }
        return new Outcome(v, facts, device);
    }

    private static int attribute(CUdevice dev, int attr) {
        int[] v = {0};
        JCudaDriver.cuDeviceGetAttribute(v, attr, dev);
        return v[0];
    }

    static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8).strip();
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
