package io.blocksim.spi;

/**
 * Makes one kind of {@link SearchBackend} available, found with {@link java.util.ServiceLoader}:
 * a jar lists its providers in {@code META-INF/services/io.blocksim.spi.SearchBackendProvider}.
 * The core jar provides "cpu"; {@code blocksim-cuda} adds "cuda". Choosing "auto" takes the usable
 * provider with the highest {@link #priority}.
 *
 * <p>Implementations must have a public no-argument constructor, be cheap to construct (probing
 * and opening happen in {@link #probe} and {@link #open}) and be thread-safe.
 */
public interface SearchBackendProvider {
    /** The name users choose it by ("cpu", "cuda"), lower case; also the backend's {@link SearchBackend#name}. */
    String name();

    /** Other names it answers to (for example "gpu" for "cuda"); none by default. */
    default java.util.List<String> aliases() {
        return java.util.List.of();
    }

    /** Higher wins under "auto" among usable providers; the CPU provider is 0. */
    int priority();

    /** Whether {@link #open} can work on this machine, and in one line why (not). May take a moment the first time. */
    Availability probe();

    /**
     * A new backend. Call only after a usable {@link #probe}.
     *
     * @throws io.blocksim.DeviceException when the device or its runtime fails to start
     */
    SearchBackend open();

    /** The outcome of a {@link #probe}: usable or not, and the reason in one line. */
    record Availability(boolean usable, String reason) {
        public static Availability yes(String reason) {
            return new Availability(true, reason);
        }

        public static Availability no(String reason) {
            return new Availability(false, reason);
        }
    }
}
