package io.blocksim.cuda;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns JCuda's exceptions and native-library errors into one readable line. */
public final class CudaErrors {
    private static final Pattern MISSING_SO = Pattern.compile("(lib[\\w.+-]+\\.so[\\w.]*): cannot open shared object file");

    private CudaErrors() {
    }

    /**
     * One line for a Throwable from loading or calling JCuda: a missing shared library is named
     * ("libcuda.so.1 not found"); otherwise the first line of the message, or the class name.
     */
    public static String oneLine(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null) {
                Matcher x = MISSING_SO.matcher(m);
                if (x.find()) {
                    return x.group(1) + " not found";
                }
            }
        }
        if (t instanceof NoClassDefFoundError) {
            return "JCuda failed to initialize earlier in this process (" + firstLine(t.getMessage()) + ")";
        }
        String m = firstLine(t.getMessage());
        return m.isEmpty() ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + m;
    }

    /** A driver error name (JCuda's CudaException message, e.g. CUDA_ERROR_OUT_OF_MEMORY) with a hint. */
    public static String explain(String errorName) {
        String n = firstLine(errorName);
        String hint = switch (n) {
            case "CUDA_ERROR_OUT_OF_MEMORY" -> "device memory exhausted (lower -Dblocksim.cuda.budget, or free the GPU)";
            case "CUDA_ERROR_NO_BINARY_FOR_GPU", "CUDA_ERROR_INVALID_IMAGE", "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
                    "CUDA_ERROR_INVALID_PTX" ->
                "the kernels need compute capability 8.0+ and an R580+ driver (CUDA 13)";
            case "CUDA_ERROR_NO_DEVICE" -> "no CUDA device visible (check CUDA_VISIBLE_DEVICES)";
            case "CUDA_ERROR_INSUFFICIENT_DRIVER", "CUDA_ERROR_STUB_LIBRARY", "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE" ->
                "the installed NVIDIA driver is missing or too old";
            case "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES" -> "a kernel asked for more registers or shared memory than the device has";
            case "CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_LAUNCH_FAILED" ->
                "a kernel faulted; the CUDA context is unusable until the process restarts";
            default -> "";
        };
        return hint.isEmpty() ? n : n + " (" + hint + ")";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
