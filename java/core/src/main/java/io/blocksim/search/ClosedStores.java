package io.blocksim.search;

import io.blocksim.BlocksimException;
import io.blocksim.ClosedException;
import io.blocksim.spi.VectorSet;
import io.blocksim.spi.VectorShard;
import java.lang.foreign.MemorySegment;

/**
 * What a backend reports when the memory it searches is unmapped under it.
 *
 * <p>A store's shards live in one shared {@link java.lang.foreign.Arena}. Closing it while other
 * threads read its segments is safe in the JDK (no access ever reaches unmapped memory): each read
 * after the close, including one already inside a vectorized loop, throws an
 * {@link IllegalStateException}. Backends turn that into a {@link ClosedException} with
 * {@link #translate}, so callers see one kind for "closed", whichever thread hit it.
 */
public final class ClosedStores {
    /** The message of a search whose store was closed under it. */
    public static final String MESSAGE = "the store was closed while a search ran";

    private ClosedStores() {
    }

    /** False when a segment of {@code data} belongs to an arena that has been closed. */
    public static boolean open(VectorSet data) {
        for (VectorShard s : data.shards()) {
            if (!alive(s.vectors()) || !alive(s.norms())) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code e} as the caller should see it: a {@link ClosedException} (with {@code e} as its cause)
     * when {@code e} is the JDK's {@link IllegalStateException} and {@code data} is no longer open;
     * else {@code e} itself, of its own kind.
     */
    public static RuntimeException translate(VectorSet data, RuntimeException e) {
        if (e instanceof IllegalStateException && !(e instanceof BlocksimException) && !open(data)) {
            return new ClosedException(MESSAGE, e);
        }
        return e;
    }

    private static boolean alive(MemorySegment s) {
        return s == null || s.scope().isAlive();
    }
}
