package io.blocksim;

/**
 * A problem with the user's input or data (bad argument values, a missing or damaged store, a
 * query of the wrong size). The CLI prints its message as one line, without a stack trace, and
 * exits with {@link #exitCode()}: 2 for usage, 1 for data.
 */
public class UserError extends BlocksimException {
    public static final int USAGE = 2;
    public static final int DATA = 1;

    private final int exitCode;

    public UserError(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public UserError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public static UserError usage(String message) {
        return new UserError(USAGE, message);
    }

    public static UserError data(String message) {
        return new UserError(DATA, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
