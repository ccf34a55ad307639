package io.blocksim;

import java.util.Locale;

/**
 * What a search reads. {@link #FLOAT32}: every row's float32 values (the plain exact scan).
 * {@link #CODES}: the compressed scan, every row's int8 codes with a proven bound on what they lose,
 * then the floats of only the rows the bound cannot exclude; the answer is the float32 scan's (rows,
 * order and scores, bit for bit). Needs a store with codes ({@code blocksim index} adds them).
 * {@link #AUTO} (the default): the codes when the store has them and the batch is small enough for
 * them to gain, else float32. A backend without a code scan (CUDA) runs float32 under AUTO and hands
 * an explicit CODES request to the CPU backend.
 */
public enum ScanMode {
    AUTO, CODES, FLOAT32;

    /** The name on the command line and in JSON: "auto", "codes", "float32". */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The mode for a command-line name.
     *
     * @throws InvalidArgumentException for another name
     */
    public static ScanMode parse(String name) {
        for (ScanMode m : values()) {
            if (m.cliName().equals(name == null ? "" : name.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new InvalidArgumentException("unknown scan '" + name + "': choose auto, codes or float32");
    }
}
