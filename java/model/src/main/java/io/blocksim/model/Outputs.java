package io.blocksim.model;

import java.nio.FloatBuffer;
import java.util.Map;

/**
 * The requested outputs of one {@link TransformerModel} run: for each output name a buffer of
 * {@code batch * seq * width} floats in [batch, seq, width] order (C order). The buffers are
 * direct and were written by ONNX Runtime in place.
 */
public record Outputs(int batch, int seq, Map<String, FloatBuffer> buffers) {

    public Outputs {
        buffers = Map.copyOf(buffers);
    }

    /** The buffer of output {@code name}; its position is 0 and its limit the element count. */
    public FloatBuffer buffer(String name) {
        FloatBuffer b = buffers.get(name);
        if (b == null) {
            throw new IllegalArgumentException("output '" + name + "' was not requested; have " + buffers.keySet());
        }
        return b;
    }

    /** Floats per position of output {@code name}. */
    public int width(String name) {
        return buffer(name).limit() / (batch * seq);
    }

    /** Copies the vector of sequence {@code row} at position {@code pos} into {@code dst[off..]}. */
    public void copyVector(String name, int row, int pos, float[] dst, int off) {
        int w = width(name);
        if (row < 0 || row >= batch || pos < 0 || pos >= seq) {
            throw new IndexOutOfBoundsException("row " + row + " pos " + pos + " outside [" + batch + ", " + seq + "]");
        }
        // cannot overflow: the index is below the buffer's int limit
        buffer(name).get((row * seq + pos) * w, dst, off, w);
    }

    /** The vector of sequence {@code row} at position {@code pos} (negative counts from the end). */
    public float[] vector(String name, int row, int pos) {
        float[] v = new float[width(name)];
        copyVector(name, row, pos < 0 ? seq + pos : pos, v, 0);
        return v;
    }
}
