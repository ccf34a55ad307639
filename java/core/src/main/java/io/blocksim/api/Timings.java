package io.blocksim.api;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the wall time of a command went: phases the library records (opening a store, opening the
 * model, encoding prompts, the scan, labelling) when a caller has switched recording on, as the
 * CLI's {@code --timings} does. Off by default, and then free: {@link #phase} returns a shared
 * no-op. Thread safe; phases from several threads are kept in the order they end.
 */
public final class Timings {
    /** One finished phase: what, and how long it took in milliseconds of wall time. */
    public record Phase(String what, double ms) {
    }

    /** Ends a phase when closed. */
    public interface Mark extends AutoCloseable {
        @Override
        void close();
    }

    private static final Mark NONE = () -> { };
    private static final List<Phase> PHASES = new ArrayList<>();
    private static volatile boolean on;

    private Timings() {
    }

    /** Starts recording (for the rest of the process). */
    public static void enable() {
        on = true;
    }

    public static boolean enabled() {
        return on;
    }

    /** Starts a phase named {@code what}; closing the mark records it (nothing when recording is off). */
    public static Mark phase(String what) {
        if (!on) {
            return NONE;
        }
        long t0 = System.nanoTime();
        return () -> record(what, (System.nanoTime() - t0) / 1e6);
    }

    /** Records a phase measured elsewhere (nothing when recording is off). */
    public static void record(String what, double ms) {
        if (on) {
            synchronized (PHASES) {
                PHASES.add(new Phase(what, ms));
            }
        }
    }

    /** The phases recorded so far, in the order they ended. */
    public static List<Phase> phases() {
        synchronized (PHASES) {
            return List.copyOf(PHASES);
        }
    }
}
