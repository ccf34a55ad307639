package io.blocksim.store;

/** The element types blocksim reads and writes in .npy files: little-endian, fixed size. */
public enum NpyDtype {
    FLOAT32("<f4", 4, "float32"),
    UINT8("|u1", 1, "uint8"),
    INT8("|i1", 1, "int8"),
    INT32("<i4", 4, "int32"),
    INT64("<i8", 8, "int64");

    private final String descr;
    private final int size;
    private final String numpyName;

    NpyDtype(String descr, int size, String numpyName) {
        this.descr = descr;
        this.size = size;
        this.numpyName = numpyName;
    }

    /** The header's {@code descr} string as numpy writes it. */
    public String descr() {
        return descr;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** numpy's name for the type ("float32"), for messages. */
    public String numpyName() {
        return numpyName;
    }

    /**
     * The dtype for a header's {@code descr}, or null when blocksim does not read it. A one-byte
     * type has no byte order, so {@code <u1}, {@code >u1} and {@code =u1} name {@code |u1} too (and
     * the same for {@code i1}).
     */
    static NpyDtype fromDescr(String descr) {
        for (NpyDtype t : values()) {
            if (t.descr.equals(descr)) {
                return t;
            }
        }
        if (descr.length() == 3 && "<>=".indexOf(descr.charAt(0)) >= 0) {
            switch (descr.substring(1)) {
                case "u1" -> {
                    return UINT8;
                }
                case "i1" -> {
                    return INT8;
                }
                default -> {
                }
            }
        }
        return null;
    }

    /** Words for a descr blocksim does not read, so a message can say what the file holds. */
    static String describe(String descr) {
        if (descr.length() >= 3 && descr.charAt(0) == '>') {
            return "'" + descr + "' (big-endian)";
        }
        String body = descr.length() >= 2 && "<>|=".indexOf(descr.charAt(0)) >= 0 ? descr.substring(1) : descr;
        String kind = switch (body.isEmpty() ? ' ' : body.charAt(0)) {
            case 'f' -> "float";
            case 'i' -> "int";
            case 'u' -> "uint";
            case 'b' -> "bool";
            case 'c' -> "complex";
            case 'U', 'S' -> "string";
            case 'O' -> "object";
            default -> null;
        };
        if (kind != null && body.length() > 1 && body.substring(1).chars().allMatch(Character::isDigit)) {
            int bytes = Integer.parseInt(body.substring(1));
            String bits = kind.equals("string") || kind.equals("bool") ? "" : Integer.toString(bytes * 8);
            return "'" + descr + "' (" + kind + bits + ")";
        }
        return "'" + descr + "'";
    }
}
