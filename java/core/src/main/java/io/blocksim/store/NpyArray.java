package io.blocksim.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A .npy file mapped into memory: its header and its data as a read-only {@link MemorySegment}
 * (no heap copy) that lives as long as the arena it was mapped in.
 */
public record NpyArray(Path file, NpyHeader header, MemorySegment data) {
    public NpyDtype dtype() {
        return header.dtype();
    }

    public long[] shape() {
        return header.shape();
    }

    public int ndim() {
        return header.ndim();
    }

    public long dim(int axis) {
        return header.dim(axis);
    }

    /** The data as int32 values on the heap (for small arrays such as a prefix index). */
    public int[] toIntArray() {
        if (dtype() != NpyDtype.INT32) {
            throw new IllegalStateException(file + " holds " + dtype().numpyName() + ", not int32");
        }
        return data.toArray(Npy.INT32);
    }
}
