package io.blocksim;

/** How a candidate row is scored against a query, and which direction is better. */
public enum Metric {
    /** {@code x.q / (max(|x|, 1e-8) * max(|q|, 1e-8))}, torch's semantics; larger is better. */
    COSINE(true),
    /** {@code |x - q|}, computed exactly from the difference; smaller is better. */
    L2(false);

    /** torch's cosine_similarity clamps each norm at this value. */
    public static final double NORM_EPS = 1e-8;

    private final boolean largerIsBetter;

    Metric(boolean largerIsBetter) {
        this.largerIsBetter = largerIsBetter;
    }

    public boolean largerIsBetter() {
        return largerIsBetter;
    }

    /** True when score {@code a} of row {@code ra} ranks before score {@code b} of row {@code rb}. */
    public boolean better(float a, int ra, float b, int rb) {
        if (a != b) {
            return largerIsBetter ? a > b : a < b;
        }
        return ra < rb;
    }

    /**
     * The metric named {@code name}: cosine (or cos), l2 (or euclidean), in any case.
     *
     * @throws InvalidArgumentException for any other name
     */
    public static Metric parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "cosine", "cos" -> COSINE;
            case "l2", "euclidean" -> L2;
            default -> throw new InvalidArgumentException("unknown metric '" + name + "': use cosine or l2");
        };
    }

    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
