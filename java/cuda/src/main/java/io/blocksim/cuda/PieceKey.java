package io.blocksim.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.Objects;

/**
 * Identifies a piece of host data that a device copy was made from: the rows' and norms' host
 * memory (address, size, and the identity of the memory's scope and heap array, held weakly) and
 * the piece's rows. A segment that was unmapped, or whose memory now belongs to another mapping at
 * the same address, no longer matches; {@link #stale} tells the cache to drop such copies.
 */
final class PieceKey {
    private final long vecAddress;
    private final long vecSize;
    private final long normsAddress;
    private final long normsSize;
    private final int firstRow;
    private final int rows;
    private final int dim;
    private final WeakReference<Object>[] owners;
    private final int[] ownerIds;

    @SuppressWarnings("unchecked")
    PieceKey(MemorySegment vectors, MemorySegment norms, int firstRow, int rows, int dim) {
        this.vecAddress = vectors.address();
        this.vecSize = vectors.byteSize();
        this.normsAddress = norms.address();
        this.normsSize = norms.byteSize();
        this.firstRow = firstRow;
        this.rows = rows;
        this.dim = dim;
        Object[] o = {vectors.scope(), vectors.heapBase().orElse(null), norms.scope(), norms.heapBase().orElse(null)};
        owners = new WeakReference[o.length];
        ownerIds = new int[o.length];
        for (int i = 0; i < o.length; i++) {
            owners[i] = o[i] == null ? null : new WeakReference<>(o[i]);
            ownerIds[i] = System.identityHashCode(o[i]);
        }
    }

    /** True once the host memory is gone (its scope collected or closed): the device copy is unreachable. */
    boolean stale() {
        for (int i = 0; i < owners.length; i++) {
            if (owners[i] == null) {
                continue;
            }
            Object o = owners[i].get();
            if (o == null || (o instanceof MemorySegment.Scope s && !s.isAlive())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof PieceKey k)) {
            return false;
        }
        if (vecAddress != k.vecAddress || vecSize != k.vecSize || normsAddress != k.normsAddress
                || normsSize != k.normsSize || firstRow != k.firstRow || rows != k.rows || dim != k.dim) {
            return false;
        }
        for (int i = 0; i < owners.length; i++) {
            Object a = owners[i] == null ? null : owners[i].get();
            Object b = k.owners[i] == null ? null : k.owners[i].get();
            if (a != b || (owners[i] == null) != (k.owners[i] == null)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(vecAddress, vecSize, normsAddress, firstRow, rows, dim, ownerIds[0], ownerIds[1]);
    }

    @Override
    public String toString() {
        return "rows " + firstRow + "+" + rows + " of " + Long.toHexString(vecAddress);
    }
}
