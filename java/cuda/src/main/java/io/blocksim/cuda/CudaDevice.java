package io.blocksim.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * One GPU with the blocksim kernels loaded: its primary context (shared with cuBLAS, which uses
 * the runtime API), the fatbin's module, the functions with their shared-memory limit raised to the
 * device's opt-in maximum, and the device facts the launch plans need. Opened once per process by
 * {@link CudaProbe}; every thread that calls CUDA makes the context current first.
 */
public final class CudaDevice {
    /** The fatbin inside the jar (kernels/README.md). */
    public static final String FATBIN_RESOURCE = "/io/blocksim/cuda/blocksim_kernels.fatbin";

    private final CUdevice device;
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, Integer> occupancy = new HashMap<>();
    private final Map<String, Integer> dynamicSmemLimits = new HashMap<>();
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int driverVersion;
    private final int smCount;
    private final int maxSmemOptin;
    private final long totalMemory;
    private final int fatbinBytes;
    private int abiVersion = -1;
    private boolean closed;

    private CudaDevice(CUdevice device, String name, int ccMajor, int ccMinor, int driverVersion, byte[] image) {
        this.device = device;
        this.name = name;
        this.ccMajor = ccMajor;
        this.ccMinor = ccMinor;
        this.driverVersion = driverVersion;
        this.fatbinBytes = image.length;
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        this.smCount = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.maxSmemOptin = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] total = {0};
        JCudaDriver.cuDeviceTotalMem(total, device);
        this.totalMemory = total[0];
    }

    /** Retains the primary context, loads the fatbin and every kernel; throws what CUDA throws. */
    static CudaDevice open(CUdevice dev, String name, int ccMajor, int ccMinor, int driverVersion) {
        byte[] image = readFatbin();
        CudaDevice d = new CudaDevice(dev, name, ccMajor, ccMinor, driverVersion, image);
        try {
            JCudaDriver.cuModuleLoadData(d.module, image);
            CUdeviceptr abi = new CUdeviceptr();
            long[] size = {0};
            JCudaDriver.cuModuleGetGlobal(abi, size, d.module, "blocksim_abi_version");
            int[] v = {-1};
            JCudaDriver.cuMemcpyDtoH(Pointer.to(v), abi, Integer.BYTES);
            d.abiVersion = v[0];
            if (d.abiVersion == CudaProbe.ABI_VERSION) {
                for (String k : LaunchPlan.allKernels()) {
                    d.function(k);
                }
            }
            return d;
        } catch (RuntimeException | Error e) {
            d.close();
            throw e;
        }
    }

    static byte[] readFatbin() {
        try (InputStream in = CudaDevice.class.getResourceAsStream(FATBIN_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the kernel fatbin " + FATBIN_RESOURCE + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + FATBIN_RESOURCE, e);
        }
    }

    /** Makes this device's context current on the calling thread. */
    public void makeCurrent() {
        JCudaDriver.cuCtxSetCurrent(context);
    }

    /**
     * A kernel, its dynamic shared memory limit raised (once, as the contract asks) to the opt-in
     * maximum less the kernel's static shared memory: the driver refuses a limit whose sum with the
     * static part is over the opt-in maximum.
     */
    public synchronized CUfunction function(String kernel) {
        CUfunction f = functions.get(kernel);
        if (f == null) {
            makeCurrent();
            f = new CUfunction();
            JCudaDriver.cuModuleGetFunction(f, module, kernel);
            int[] staticBytes = {0};
            JCudaDriver.cuFuncGetAttribute(staticBytes, CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
            int limit = LaunchPlan.dynamicSmemLimit(maxSmemOptin, staticBytes[0]);
            JCudaDriver.cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, limit);
            functions.put(kernel, f);
            dynamicSmemLimits.put(kernel, limit);
        }
        return f;
    }

    /** The dynamic shared memory a launch of the kernel may ask for, in bytes (loads the kernel). */
    public synchronized int dynamicSmemLimit(String kernel) {
        function(kernel);
        return dynamicSmemLimits.get(kernel);
    }

    /** Blocks of 256 threads per SM for a kernel at a dynamic shared-memory size (cached). */
    public synchronized int occupancy(String kernel, long smem) {
        String key = kernel + "/" + smem;
        Integer n = occupancy.get(key);
        if (n == null) {
            makeCurrent();
            int[] v = {0};
            JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(v, function(kernel), LaunchPlan.THREADS, smem);
            n = v[0];
            occupancy.put(key, n);
        }
        return n;
    }

    /** Free and total device memory now. */
    public long[] memoryInfo() {
        long[] free = {0};
        long[] total = {0};
        makeCurrent();
        JCudaDriver.cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    public String name() {
        return name;
    }

    public int smCount() {
        return smCount;
    }

    public long maxSmemOptin() {
        return maxSmemOptin;
    }

    public int abiVersion() {
        return abiVersion;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public int driverVersion() {
        return driverVersion;
    }

    public String describe() {
        return String.format(Locale.ROOT, "%s (sm_%d%d, %d SMs, %s, opt-in smem %d B), driver CUDA %s, fatbin %d bytes abi %d",
                name, ccMajor, ccMinor, smCount, CudaProbe.gib(totalMemory), maxSmemOptin,
                CudaProbe.cudaVersion(driverVersion), fatbinBytes, abiVersion);
    }

    private int attribute(int attr) {
        int[] v = {0};
        JCudaDriver.cuDeviceGetAttribute(v, attr, device);
        return v[0];
    }

    /** Unloads the module and releases the primary context (only when the probe rejects the device). */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            JCudaDriver.cuCtxSetCurrent(context);
            JCudaDriver.cuModuleUnload(module);
        } catch (RuntimeException ignored) {
            // closing after a failed load: nothing more to release
        }
        try {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        } catch (RuntimeException ignored) {
            // as above
        }
    }
}
