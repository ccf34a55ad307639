package io.blocksim.store;

import io.blocksim.FileAccessException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The compact codes of a shard's rows, beside its float32 vectors: what the compressed scan reads
 * instead of the floats (a quarter of the bytes), with a bound on what it loses.
 *
 * <p>Format (two NPY files per shard, numpy-readable, named after the shard's vectors file:
 * {@code vectors-00003.npy} gets {@code codes-00003.npy} and {@code codescales-00003.npy}):
 * <ul>
 * <li>codes: int8 [rows, dim]: {@code c[r, i] = clamp(rint(x[r, i] / s[r]), -127, 127)};
 * <li>code scales: float32 [rows, 2]: column 0 the row's scale {@code s[r] = fl(max_i |x[r, i]| / 127)},
 *     column 1 a bound {@code E[r]} on the L2 norm of the row's coding error: {@code E[r] >=
 *     sqrt(sum_i (x[r, i] - s[r] * c[r, i])^2)}, the sum taken exactly (real arithmetic), so the
 *     decoded row {@code x^ = s c} satisfies {@code |x - x^| <= E} and for every query q
 *     {@code |q.x - q.x^| <= |q| E} (Cauchy-Schwarz).
 * </ul>
 * A zero row has scale 0, codes 0 and E 0; a row so small that its scale underflows float32 gets
 * codes 0, scale 0 and E >= its norm. 392 bytes a row at dim 384 (25.5% of the float32 row).
 *
 * <p>Why int8 with one scale per row: on the demo store (every site measured, 20,000 rows each) its
 * relative error E/|x| has a median of 0.008 to 0.010; per-group scales (groups of 32: 28.4% of the
 * floats) lower that to 0.0056 to 0.0063 but left the rows a search must re-score at tens to a few
 * hundred per query either way (1.5x fewer at most), while costing a multiply per group in the scan;
 * bfloat16 (0.0017) is 50% of the floats, above the 30% the codes may take; int4 (0.14 to 0.18)
 * would let thousands of rows through. README, "Compressed scan", has the numbers.
 *
 * <p>The encoding is a plain scalar loop in double with one fixed order, so the same rows always
 * give the same bytes (a resumed extraction writes what an uninterrupted one would).
 *
 * <p>Thread safety: stateless; {@link #encode} may run on many shards at once.
 */
public final class RowCodes {
    /** Columns of the code scales file: the scale, then the error bound. */
    public static final int SCALE_COLUMNS = 2;
    /** Largest code magnitude (symmetric: -127..127, never -128). */
    public static final int MAX_CODE = 127;

    private RowCodes() {
    }

    /** The codes file of a shard's vectors file ({@code a/vectors-00003.npy} -> {@code a/codes-00003.npy}). */
    public static String codesFile(String vectorsFile) {
        return sibling(vectorsFile, "codes-");
    }

    /** The code scales file of a shard's vectors file ({@code a/codescales-00003.npy}). */
    public static String scalesFile(String vectorsFile) {
        return sibling(vectorsFile, "codescales-");
    }

    private static String sibling(String vectorsFile, String prefix) {
        int slash = vectorsFile.lastIndexOf('/');
        String name = vectorsFile.substring(slash + 1);
        if (!name.startsWith("vectors-")) {
            throw new IllegalArgumentException("not a vectors file: " + vectorsFile);
        }
        return vectorsFile.substring(0, slash + 1) + prefix + name.substring("vectors-".length());
    }

    /**
     * Encodes {@code rows} rows of {@code dim} little-endian float32 values in {@code vectors} into
     * {@code codes} (int8, {@code rows * dim} bytes) and {@code scales} (float32 [rows, 2]). The
     * values must be finite.
     */
    public static void encode(MemorySegment vectors, long rows, int dim, MemorySegment codes, MemorySegment scales) {
        // the error sum in double: each term e_i^2 and the sum round with relative error 2^-53 at
        // most (no overflow: |e_i| <= 2^128; underflow of a square below 2^-1074 loses < 2^-1074
        // per term), so the computed sqrt is within (dim + 4) 2^-53 of the exact norm; we raise it
        // by (dim + 8) 2^-53 and an absolute dim * 2^-1074, then round up to float
        double grow = 1 + (dim + 8.0) * 0x1p-53;
        double tiny = dim * 0x1p-1074 * 2;
        long base = 0;
        for (long r = 0; r < rows; r++) {
            float max = 0;
            for (int i = 0; i < dim; i++) {
                max = Math.max(max, Math.abs(vectors.getAtIndex(Npy.FLOAT32, base + i)));
            }
            float scale = (float) (max / (double) MAX_CODE);
            double ss = 0;
            if (scale == 0) {  // a zero row, or one whose scale underflows: all codes 0, E >= |x|
                for (int i = 0; i < dim; i++) {
                    double x = vectors.getAtIndex(Npy.FLOAT32, base + i);
                    codes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, base + i, (byte) 0);
                    ss += x * x;
                }
            } else {
                double inv = 1.0 / scale;
                for (int i = 0; i < dim; i++) {
                    double x = vectors.getAtIndex(Npy.FLOAT32, base + i);
                    long c = Math.clamp((long) Math.rint(x * inv), -MAX_CODE, MAX_CODE);
                    codes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, base + i, (byte) c);
                    double e = x - (double) scale * c;  // scale * c is exact in double (24 + 7 bits)
                    ss += e * e;
                }
            }
            double bound = ss == 0 ? 0 : Math.sqrt(ss) * grow + tiny;
            float err = (float) bound;
            if (err < bound) {
                err = Math.nextUp(err);
            }
            scales.setAtIndex(Npy.FLOAT32, 2 * r, scale);
            scales.setAtIndex(Npy.FLOAT32, 2 * r + 1, err);
            base += dim;
        }
    }

    /**
     * Writes the code files of several final vectors files at once (in parallel) and returns their
     * manifest records in the same order; the caller fsyncs the folders. A failure deletes nothing
     * (a file the manifest does not name is deleted when the store is next resumed or indexed) and
     * is thrown after every task has ended, so no task is interrupted mid-write.
     *
     * @throws FileAccessException when a file cannot be read or written
     */
    static Manifest.Codes[] writeAll(Path dir, String[] vectorsFiles, int[] rows, int[] dims) {
        int n = vectorsFiles.length;
        Manifest.Codes[] out = new Manifest.Codes[n];
        RuntimeException[] failed = new RuntimeException[n];
        java.util.stream.IntStream.range(0, n).parallel().forEach(e -> {
            try {
                out[e] = write(dir, vectorsFiles[e], rows[e], dims[e]);
            } catch (RuntimeException x) {
                failed[e] = x;
            }
        });
        for (RuntimeException x : failed) {
            if (x != null) {
                throw x;
            }
        }
        return out;
    }

    /** The manifest's record of a shard's two code files: names and the CRC32C of their data. */
    static Manifest.Codes write(Path dir, String vectorsFile, int rows, int dim) {
        String codesName = codesFile(vectorsFile);
        String scalesName = scalesFile(vectorsFile);
        try (Arena arena = Arena.ofConfined();
                NpyFileWriter codes = NpyFileWriter.create(dir.resolve(codesName), NpyDtype.INT8, rows, dim);
                NpyFileWriter scales = NpyFileWriter.create(dir.resolve(scalesName), NpyDtype.FLOAT32, rows, SCALE_COLUMNS)) {
            NpyArray v;
            try {
                v = Npy.map(dir.resolve(vectorsFile), arena);
            } catch (NpyFormatException e) {
                throw new FileAccessException("cannot make the codes of " + vectorsFile + ": it " + e.problem(), e);
            }
            if (v.dtype() != NpyDtype.FLOAT32 || v.ndim() != 2 || v.dim(0) != rows || v.dim(1) != dim) {
                throw new IllegalStateException(vectorsFile + " is not float32 [" + rows + ", " + dim + "]");
            }
            encode(v.data(), rows, dim, codes.data(), scales.data());
            long cc = codes.finish();
            long sc = scales.finish();
            return new Manifest.Codes(codesName, Npy.hex(cc), scalesName, Npy.hex(sc));
        }
    }
}
