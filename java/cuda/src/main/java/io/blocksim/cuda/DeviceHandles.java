package io.blocksim.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * JCuda handles whose raw addresses the FFM cuBLAS binding can read: JCuda keeps a handle's native
 * value protected, so the backend allocates through these subclasses, which may read their own.
 */
final class DeviceHandles {
    private DeviceHandles() {
    }

    /** A device allocation ({@code cuMemAlloc} fills it in) that knows its address. */
    static final class DevicePtr extends CUdeviceptr {
        /** The device address this pointer holds, in bytes (0 before allocation). */
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** A stream ({@code cuStreamCreate} fills it in) that knows its {@code CUstream} handle. */
    static final class Stream extends CUstream {
        long handle() {
            return getNativePointer();
        }
    }

    /** A JCuda pointer at a raw device address (for JCublas, which takes Pointer arguments). */
    static final class RawPointer extends Pointer {
        RawPointer(long address) {
            super(address);
        }
    }
}
