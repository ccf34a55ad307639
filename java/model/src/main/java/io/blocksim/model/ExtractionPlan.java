package io.blocksim.model;

import io.blocksim.InvalidArgumentException;
import io.blocksim.InvalidDataException;
import io.blocksim.text.PrefixIndex;
import io.blocksim.text.StringTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What an extraction computes and how it is cut into resumable units; the same plan serves every
 * {@link Extractor}.
 *
 * <p>Units are runs of {@code unitStrings} strings, in one of two {@link Order}s. In
 * {@link Order#LEXICOGRAPHIC} order (by token id) a unit's prefix trie is nearly disjoint from its
 * neighbours' (only the few prefixes straddling a boundary are computed twice): the least work,
 * but a unit's rows are scattered over the whole store. In {@link Order#FIRST_OCCURRENCE} order a
 * unit is the string rows [k * unitStrings, (k+1) * unitStrings): exactly the rows of store shards,
 * at the price of recomputing the prefixes that several units share (on TinyShakespeare, L = 10:
 * +41% prefixes with units of 65,536 strings, +31% with 131,072, +20% with 262,144; none with
 * one unit of all strings). Either way a unit's strings are computed in lexicographic order.
 *
 * <p>Running every unit once, in any order and in any process, delivers every row of every target
 * exactly once. The plan is a pure function of (strings, targets, unitStrings, order), so a caller
 * resumes by rebuilding it and skipping the units it recorded as done.
 *
 * <p>Heap: an int and a short per string, plus the prefix index of each earlier position asked for.
 */
public final class ExtractionPlan {
    /** Units of this many strings take some seconds each on two cores: a fine grain for resuming. */
    public static final int DEFAULT_UNIT_STRINGS = 1 << 16;

    /** How strings are grouped into units; see the class comment. */
    public enum Order { LEXICOGRAPHIC, FIRST_OCCURRENCE }

    private final StringTable strings;
    private final List<Target> targets;
    private final int unitStrings;
    private final Order unitOrder;
    private final int[] order;  // sorted position -> string row
    private final short[] lcp;  // common prefix length of sorted strings i-1 and i (0 for i = 0)
    private final PrefixIndex[] prefixes; // by position; null where no target asks for it
    private final int[][] targetsAt;      // by position: indices into targets
    private final int maxPosition;

    private ExtractionPlan(StringTable strings, List<Target> targets, int unitStrings, Order unitOrder) {
        this.strings = strings;
        this.targets = List.copyOf(targets);
        this.unitStrings = unitStrings;
        this.unitOrder = unitOrder;
        int len = strings.length();
        int[] lex = lexicographicOrder(strings);
        this.order = unitOrder == Order.LEXICOGRAPHIC ? lex : sortWithinUnits(lex, unitStrings);
        this.lcp = commonPrefixes(strings, order);
        this.prefixes = new PrefixIndex[len];
        List<List<Integer>> at = new ArrayList<>();
        for (int t = 0; t < len; t++) {
            at.add(new ArrayList<>());
        }
        int max = 0;
        for (int i = 0; i < this.targets.size(); i++) {
            int t = this.targets.get(i).position();
            at.get(t).add(i);
            max = Math.max(max, t);
            if (prefixes[t] == null) {
                prefixes[t] = strings.prefixes(t);
            }
        }
        this.maxPosition = max;
        this.targetsAt = at.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
    }

    /**
     * A plan for {@code targets} over {@code strings}, in units of {@code unitStrings} strings of the
     * lexicographic order. Positions must lie in 0..L-1.
     *
     * @throws InvalidArgumentException for no targets, no strings, a position outside 0..L-1 or a
     *     repeated target
     */
    public static ExtractionPlan of(StringTable strings, List<Target> targets, int unitStrings) {
        return of(strings, targets, unitStrings, Order.LEXICOGRAPHIC);
    }

    /**
     * A plan whose units are runs of {@code unitStrings} strings in {@code order}.
     *
     * @throws InvalidArgumentException for no targets, no strings, a position outside 0..L-1 or a
     *     repeated target
     */
    public static ExtractionPlan of(StringTable strings, List<Target> targets, int unitStrings, Order order) {
        if (targets.isEmpty()) {
            throw new InvalidArgumentException("nothing to extract: no targets");
        }
        if (unitStrings < 1) {
            throw new IllegalArgumentException("unitStrings must be >= 1, got " + unitStrings);
        }
        if (strings.size() == 0) {
            throw new InvalidArgumentException("no strings to extract");
        }
        for (Target t : targets) {
            if (t.position() >= strings.length()) {
                throw new InvalidArgumentException("position " + t.position() + " of " + t + " is outside strings of length " + strings.length());
            }
        }
        if (targets.stream().distinct().count() != targets.size()) {
            throw new InvalidArgumentException("targets repeat: " + targets);
        }
        return new ExtractionPlan(strings, targets, unitStrings, order);
    }

    /** {@link #of(StringTable, List, int)} with {@link #DEFAULT_UNIT_STRINGS}. */
    public static ExtractionPlan of(StringTable strings, List<Target> targets) {
        return of(strings, targets, DEFAULT_UNIT_STRINGS);
    }

    public StringTable strings() {
        return strings;
    }

    /** The targets; {@link VectorSink#accept}'s first argument indexes this list. */
    public List<Target> targets() {
        return targets;
    }

    /** Rows of target {@code target}: N at the last position, the unique prefixes' count before. */
    public int rows(int target) {
        return prefixes(targets.get(target).position()).rows();
    }

    /** The prefix index of a position some target uses (identity at the last position). */
    public PrefixIndex prefixes(int position) {
        PrefixIndex p = position >= 0 && position < prefixes.length ? prefixes[position] : null;
        if (p == null) {
            throw new IllegalArgumentException("no target at position " + position);
        }
        return p;
    }

    public int unitStrings() {
        return unitStrings;
    }

    public Order order() {
        return unitOrder;
    }

    public int units() {
        return (strings.size() + unitStrings - 1) / unitStrings;
    }

    /** Strings in unit {@code unit}. */
    public int unitSize(int unit) {
        return unitEnd(unit) - unitStart(unit);
    }

    /** The deepest position any target needs: levels 0..this are computed. */
    public int maxPosition() {
        return maxPosition;
    }

    /**
     * The string rows of unit {@code unit}, in lexicographic order (in {@link Order#FIRST_OCCURRENCE}
     * order they are the rows [unit * unitStrings, ...), permuted).
     */
    public int[] unitRows(int unit) {
        return Arrays.copyOfRange(order, unitStart(unit), unitEnd(unit));
    }

    int unitStart(int unit) {
        if (unit < 0 || unit >= units()) {
            throw new IndexOutOfBoundsException("unit " + unit + " outside 0.." + (units() - 1));
        }
        return unit * unitStrings;
    }

    int unitEnd(int unit) {
        return Math.min(strings.size(), unitStart(unit) + unitStrings);
    }

    /** String row at sorted position {@code i}. */
    int sortedRow(int i) {
        return order[i];
    }

    /** Length of the common prefix of the strings at sorted positions i-1 and i; 0 for i = 0. */
    int commonPrefix(int i) {
        return lcp[i] & 0xffff;
    }

    /** Target indices at {@code position} (possibly none). */
    int[] targetsAt(int position) {
        return targetsAt[position];
    }

    /**
     * The destination row at {@code position} of the prefix whose strings in some computed subset
     * have their smallest row at {@code minStringRow}, or -1 when that is not the prefix's first
     * string overall: its vector is delivered where the first string is computed, once.
     */
    int ownedRow(int position, int minStringRow) {
        PrefixIndex p = prefixes[position];
        int r = p.rowsBefore(minStringRow);
        return r < p.rows() && p.firstString(r) == minStringRow ? r : -1;
    }

    /** Checks the plan against a model: string length within its context, blocks within its depth. */
    void check(ModelSpec spec) {
        if (strings.length() > spec.blockSize()) {
            throw new InvalidArgumentException("strings of length " + strings.length() + " exceed the model's context " + spec.blockSize());
        }
        for (Target t : targets) {
            t.outputName(spec);
        }
        byte[] tok = strings.tokens();
        // a corrupt table would index outside the embedding; cheap to rule out once
        for (byte b : tok) {
            if ((b & 0xff) >= spec.vocabSize()) {
                throw new InvalidDataException("token id " + (b & 0xff) + " is outside the model's vocabulary of " + spec.vocabSize());
            }
        }
    }

    /** LSD radix sort of the rows by their token bytes (unsigned): stable, O(N * L). */
    static int[] lexicographicOrder(StringTable strings) {
        int n = strings.size();
        int len = strings.length();
        byte[] tok = strings.tokens();
        int[] a = new int[n];
        int[] b = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        int[] count = new int[257];
        for (int pos = len - 1; pos >= 0; pos--) {
            Arrays.fill(count, 0);
            for (int i = 0; i < n; i++) {
                count[(tok[a[i] * len + pos] & 0xff) + 1]++;
            }
            for (int k = 0; k < 256; k++) {
                count[k + 1] += count[k];
            }
            for (int i = 0; i < n; i++) {
                int r = a[i];
                b[count[tok[r * len + pos] & 0xff]++] = r;
            }
            int[] s = a;
            a = b;
            b = s;
        }
        return a;
    }

    /** Each unit's row range [k * size, (k+1) * size), lexicographically sorted: a stable pass over the global order. */
    private static int[] sortWithinUnits(int[] lex, int size) {
        int units = (lex.length + size - 1) / size;
        int[] next = new int[units];
        for (int u = 0; u < units; u++) {
            next[u] = u * size;
        }
        int[] out = new int[lex.length];
        for (int row : lex) {
            out[next[row / size]++] = row;
        }
        return out;
    }

    private static short[] commonPrefixes(StringTable strings, int[] order) {
        int len = strings.length();
        byte[] tok = strings.tokens();
        short[] lcp = new short[order.length]; // lengths up to the model context (256): unsigned 16 bits
        for (int i = 1; i < order.length; i++) {
            int p = order[i - 1] * len;
            int q = order[i] * len;
            int k = Arrays.mismatch(tok, p, p + len, tok, q, q + len);
            lcp[i] = (short) (k < 0 ? len : k);
        }
        return lcp;
    }
}
