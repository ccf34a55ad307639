package io.blocksim.similars;

import io.blocksim.ClosedException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.StoreDamagedException;
import io.blocksim.store.Npy;
import io.blocksim.store.NpyArray;
import io.blocksim.store.NpyDtype;
import io.blocksim.store.NpyFormatException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A results folder opened for reading: the manifest, sample.npy and the files of every complete
 * entry mapped read-only (incomplete entries are listed but hold no rows yet).
 *
 * <p>Thread safety: may be shared by threads once open; {@link #close} unmaps, after which reads
 * throw {@link ClosedException} (do not close while other threads read).
 */
public final class ResultsReader implements AutoCloseable {
    private final Path dir;
    private final ResultsManifest manifest;
    private final Arena arena = Arena.ofShared();
    private final int[] sample;
    private final Map<Target, MemorySegment[]> files = new HashMap<>();
    private final Map<Integer, Integer> sampleRow = new HashMap<>();

    private ResultsReader(Path dir) {
        this.dir = dir;
        try {
            this.manifest = ResultsManifest.read(dir);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        int n = manifest.sampleSize();
        int k = manifest.k();
        NpyArray s = map(manifest.sample(), NpyDtype.INT32, n);
        this.sample = s.toIntArray();
        for (int i = 0; i < sample.length; i++) {
            sampleRow.put(sample[i], i);
        }
        for (ResultsManifest.Entry e : manifest.entries()) {
            if (e.complete()) {
                files.put(e.target(), new MemorySegment[] {map(e.ids(), NpyDtype.INT32, n, k).data(),
                    map(e.scores(), NpyDtype.FLOAT32, n, k).data()});
            }
        }
    }

    /**
     * Opens the results in {@code dir}.
     *
     * @throws io.blocksim.StoreNotFoundException when {@code dir} holds no results
     * @throws StoreDamagedException when a file the manifest names is missing or of another shape
     */
    public static ResultsReader open(Path dir) {
        return new ResultsReader(dir);
    }

    private NpyArray map(String name, NpyDtype dtype, long... shape) {
        try {
            NpyArray a = Npy.map(dir.resolve(name), arena);
            if (a.dtype() != dtype || !java.util.Arrays.equals(a.shape(), shape)) {
                throw new StoreDamagedException("results " + dir + " are damaged: " + name + " holds " + a.dtype().numpyName()
                        + " " + a.header().shapeString() + ", not " + dtype.numpyName() + " " + java.util.Arrays.toString(shape));
            }
            return a;
        } catch (NpyFormatException e) {
            arena.close();
            throw new StoreDamagedException("results " + dir + " are damaged: " + name + " " + e.problem()
                    + "; run the job again with force to start over", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public ResultsManifest manifest() {
        return manifest;
    }

    /** The sampled string indices, in sample order (a copy). */
    public int[] sample() {
        return sample.clone();
    }

    /** The sample row of string {@code string}, or -1 when it was not sampled. */
    public int sampleRowOf(int string) {
        return sampleRow.getOrDefault(string, -1);
    }

    /** The complete entries' targets, in manifest order. */
    public List<Target> completeTargets() {
        List<Target> out = new ArrayList<>();
        for (ResultsManifest.Entry e : manifest.entries()) {
            if (e.complete()) {
                out.add(e.target());
            }
        }
        return out;
    }

    /**
     * The k candidate rows of sample row {@code row} at {@code t}, best first.
     *
     * @throws InvalidArgumentException when {@code t} is not a complete entry of these results
     */
    public int[] ids(Target t, int row) {
        MemorySegment s = segments(t)[0];
        int k = manifest.k();
        int[] out = new int[k];
        for (int j = 0; j < k; j++) {
            out[j] = s.getAtIndex(Npy.INT32, (long) row * k + j);
        }
        return out;
    }

    /** The k scores of sample row {@code row} at {@code t}, matching {@link #ids}. */
    public float[] scores(Target t, int row) {
        MemorySegment s = segments(t)[1];
        int k = manifest.k();
        float[] out = new float[k];
        for (int j = 0; j < k; j++) {
            out[j] = s.getAtIndex(Npy.FLOAT32, (long) row * k + j);
        }
        return out;
    }

    private MemorySegment[] segments(Target t) {
        if (!arena.scope().isAlive()) {
            throw new ClosedException("results " + dir + " are closed");
        }
        MemorySegment[] s = files.get(t);
        if (s == null) {
            throw new InvalidArgumentException("results " + dir + " hold no complete entry for " + t);
        }
        return s;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
