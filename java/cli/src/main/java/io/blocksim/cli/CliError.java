package io.blocksim.cli;

import io.blocksim.BlocksimException;

/**
 * A failure the command line reports as one line and an exit code ({@link #USAGE} or
 * {@link #DATA}): a problem only the command line can have (options that do not go together, an
 * option value it parses itself), or a library failure restated with the flag or command that
 * fixes it ({@link #withHint}). Library code never throws it (LayeringTest checks): its failures
 * are {@link BlocksimException}s, which {@link Main#exitCode} maps to exit codes by kind.
 */
final class CliError extends RuntimeException {
    /** Exit code of a usage error: a bad option or option value. */
    static final int USAGE = 2;
    /** Exit code of a data error: a store, file, model or device that cannot be used. */
    static final int DATA = 1;

    private final int exitCode;

    CliError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    static CliError usage(String message) {
        return new CliError(USAGE, message, null);
    }

    static CliError data(String message) {
        return new CliError(DATA, message, null);
    }

    /**
     * The library's failure {@code e} with {@code hint} (the flag or command that fixes it, e.g.
     * {@code --force}) after its message in parentheses, and the exit code of {@code e}'s kind.
     */
    static CliError withHint(BlocksimException e, String hint) {
        return new CliError(Main.exitCode(e), e.getMessage() + " (" + hint + ")", e);
    }

    /**
     * The library's failure {@code e} after the option that carried the value it refused
     * ({@code "--device tpu: unknown search backend 'tpu': ..."}), with the exit code of its kind.
     */
    static CliError forOption(String option, BlocksimException e) {
        return new CliError(Main.exitCode(e), option + ": " + e.getMessage(), e);
    }

    int exitCode() {
        return exitCode;
    }
}
