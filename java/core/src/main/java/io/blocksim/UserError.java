package io.blocksim;

/**
 * A leftover factory of the old one-size exception, kept only so that code not yet moved to the
 * typed kinds still compiles; it throws those kinds. Throw {@link InvalidDataException} (or the
 * kind that says what went wrong) directly instead. The command line has its own error type for
 * its own problems. This class is no exception type and is removed once nothing calls it.
 */
@Deprecated(forRemoval = true)
public final class UserError {
    private UserError() {
    }

    /** An {@link InvalidDataException} with {@code message}, to throw. */
    public static InvalidDataException data(String message) {
        return new InvalidDataException(message);
    }
}
