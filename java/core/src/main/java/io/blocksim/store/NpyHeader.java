package io.blocksim.store;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a .npy file: dtype, C-order shape and where the data starts. Parsing is strict
 * (exactly the three keys numpy writes, C order, a dtype blocksim reads); writing produces NPY
 * v1.0 padded with spaces and a final newline so the data starts at a 64-byte boundary, as numpy
 * does, which keeps every mapped float aligned.
 */
public record NpyHeader(NpyDtype dtype, long[] shape, long dataOffset) {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    static final int ALIGN = 64;
    private static final String GENERIC_FIX = "write it with numpy.save (a C-order array of float32, uint8, int32 or int64)";

    public NpyHeader {
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int ndim() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    /** Elements in the array (1 for a 0-d array); overflow is an error, not a wrap. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of data after the header. */
    public long dataBytes() {
        return Math.multiplyExact(elementCount(), (long) dtype.size());
    }

    /** The shape as numpy prints it: {@code (3, 4)}, {@code (3,)}, {@code ()}. */
    public String shapeString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(shape[i]);
        }
        if (shape.length == 1) {
            b.append(',');
        }
        return b.append(')').toString();
    }

    /** The header a writer puts before the data of this dtype and shape (NPY v1.0). */
    static NpyHeader forWrite(NpyDtype dtype, long... shape) {
        int len = encodeDict(dtype, shape).length();
        return new NpyHeader(dtype, shape, paddedSize(len));
    }

    private static String encodeDict(NpyDtype dtype, long[] shape) {
        return "{'descr': '" + dtype.descr() + "', 'fortran_order': False, 'shape': "
                + new NpyHeader(dtype, shape, 0).shapeString() + ", }";
    }

    private static long paddedSize(int dictLen) {
        int unpadded = MAGIC.length + 2 + 2 + dictLen + 1; // magic, version, length, dict, '\n'
        return (unpadded + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** The header bytes: exactly {@link #dataOffset()} of them. */
    byte[] encode() {
        String dict = encodeDict(dtype, shape);
        long total = paddedSize(dict.length());
        if (total != dataOffset || total - 10 > 0xFFFF) {
            throw new IllegalStateException("header of " + total + " bytes does not fit NPY v1.0 at offset " + dataOffset);
        }
        byte[] out = new byte[(int) total];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[6] = 1;
        out[7] = 0;
        int headerLen = (int) total - 10;
        out[8] = (byte) headerLen;
        out[9] = (byte) (headerLen >>> 8);
        byte[] d = dict.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(d, 0, out, 10, d.length);
        Arrays.fill(out, 10 + d.length, out.length - 1, (byte) ' ');
        out[out.length - 1] = '\n';
        return out;
    }

    /** Reads and checks the header at the start of {@code ch}; {@code file} names it in errors. */
    static NpyHeader read(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        if (size < 10 || readFully(ch, pre, 0) < 10) {
            throw bad(file, "is not a .npy file (" + size + " bytes, shorter than an NPY header)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) {
                throw bad(file, "is not a .npy file (bad magic: it does not start with \\x93NUMPY)");
            }
        }
        int major = pre.get(6) & 0xFF;
        int minor = pre.get(7) & 0xFF;
        long headerLen;
        long start;
        if (major == 1 && minor == 0) {
            headerLen = pre.getShort(8) & 0xFFFF;
            start = 10;
        } else if ((major == 2 || major == 3) && minor == 0) {
            ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            if (readFully(ch, len, 8) < 4) {
                throw truncatedHeader(file);
            }
            headerLen = len.getInt(0) & 0xFFFFFFFFL;
            start = 12;
        } else {
            throw new NpyFormatException(file, "has unsupported NPY format version " + major + "." + minor,
                    "blocksim reads versions 1.0 to 3.0; re-save it with numpy.save");
        }
        if (headerLen > 1 << 20) {
            throw bad(file, "has an implausible header length of " + headerLen + " bytes");
        }
        if (start + headerLen > size) {
            throw truncatedHeader(file);
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, start);
        String text = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = new DictParser(text, file).parse();
        return fromDict(dict, file, start + headerLen);
    }

    private static NpyHeader fromDict(Map<String, Object> dict, Path file, long offset) {
        if (!dict.keySet().equals(java.util.Set.of("descr", "fortran_order", "shape"))) {
            throw bad(file, "has a header with keys " + dict.keySet() + "; an NPY header has exactly descr, fortran_order and shape");
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw new NpyFormatException(file, "holds a structured array (descr "
                    + (dict.get("descr") instanceof List<?> l ? l.get(0) : dict.get("descr")) + ")",
                    "blocksim reads plain float32, uint8, int32 or int64 arrays");
        }
        NpyDtype dtype = NpyDtype.fromDescr(descr);
        if (dtype == null) {
            throw new NpyFormatException(file, "has unsupported dtype " + NpyDtype.describe(descr),
                    "blocksim reads <f4 (float32), |u1 (uint8), <i4 (int32) and <i8 (int64); convert with numpy, e.g. a.astype('<f4')");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw bad(file, "has a header whose fortran_order is not True or False");
        }
        if (!(dict.get("shape") instanceof long[] shape)) {
            throw bad(file, "has a header whose shape is not a tuple of integers");
        }
        if (fortran && shape.length > 1) {
            throw new NpyFormatException(file, "is in Fortran (column-major) order",
                    "blocksim reads C order; re-save it with numpy.save(f, numpy.ascontiguousarray(a))");
        }
        try {
            NpyHeader h = new NpyHeader(dtype, shape, offset);
            h.dataBytes();
            return h;
        } catch (ArithmeticException e) {
            throw bad(file, "has a shape " + Arrays.toString(shape) + " too large to address");
        }
    }

    /** Reads from {@code pos} until {@code buf} is full or the file ends; the bytes read. */
    static int readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    private static NpyFormatException truncatedHeader(Path file) {
        return new NpyFormatException(file, "is truncated (the file ends inside its header)", "re-create the file");
    }

    private static NpyFormatException bad(Path file, String problem) {
        return new NpyFormatException(file, problem, GENERIC_FIX);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NpyHeader h && h.dtype == dtype && Arrays.equals(h.shape, shape) && h.dataOffset == dataOffset;
    }

    @Override
    public int hashCode() {
        return (dtype.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(dataOffset);
    }

    @Override
    public String toString() {
        return "NpyHeader[" + dtype.descr() + " " + shapeString() + " at " + dataOffset + "]";
    }

    /** The subset of Python literal syntax numpy writes in headers: a dict of str to str, bool or int tuple. */
    private static final class DictParser {
        private final String s;
        private final Path file;
        private int i;

        DictParser(String s, Path file) {
            this.s = s;
            this.file = file;
        }

        Map<String, Object> parse() {
            skip();
            expect('{');
            Map<String, Object> out = new LinkedHashMap<>();
            skip();
            while (peek() != '}') {
                String key = string();
                skip();
                expect(':');
                skip();
                if (out.put(key, value()) != null) {
                    throw error("repeats the key '" + key + "'");
                }
                skip();
                if (peek() == ',') {
                    i++;
                    skip();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}' at column " + i);
                }
            }
            i++;
            skip();
            if (i != s.length()) {
                throw error("has text after the header dict at column " + i);
            }
            return out;
        }

        private Object value() {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (c == '[') {
                return structured();
            }
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            throw error("has an unexpected value at column " + i);
        }

        /** Skips a structured dtype's list of fields; blocksim only needs to know it is one. */
        private Object structured() {
            int start = i;
            int depth = 0;
            do {
                char c = peek();
                if (c == '\'' || c == '"') {
                    string();
                    continue;
                }
                if (c == '[' || c == '(') {
                    depth++;
                } else if (c == ']' || c == ')') {
                    depth--;
                }
                i++;
            } while (depth > 0);
            return List.of(s.substring(start, i));
        }

        private long[] tuple() {
            expect('(');
            List<Long> dims = new ArrayList<>();
            skip();
            boolean sawComma = false;
            while (peek() != ')') {
                int start = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
                if (start == i) {
                    throw error("has a shape entry that is not a non-negative integer at column " + i);
                }
                try {
                    dims.add(Long.parseLong(s.substring(start, i)));
                } catch (NumberFormatException e) {
                    throw error("has a shape entry too large: " + s.substring(start, i));
                }
                skip();
                sawComma = false;
                if (peek() == ',') {
                    i++;
                    sawComma = true;
                    skip();
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape at column " + i);
                }
            }
            i++;
            if (dims.size() == 1 && !sawComma) {
                throw error("has shape (" + dims.get(0) + ") without the comma that makes it a tuple");
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private String string() {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw error("expected a quoted key at column " + i);
            }
            int end = s.indexOf(q, i + 1);
            if (end < 0) {
                throw error("has an unterminated string at column " + i);
            }
            String v = s.substring(i + 1, end);
            i = end + 1;
            return v;
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw error("ends before its header dict is complete");
            }
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "' at column " + i);
            }
            i++;
        }

        private NpyFormatException error(String what) {
            return bad(file, "has a malformed header (" + what + ")");
        }
    }
}
