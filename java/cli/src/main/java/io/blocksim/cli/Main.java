package io.blocksim.cli;

import io.blocksim.BlocksimException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.api.Timings;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The {@code blocksim} command line: one class per subcommand, all logic in the library packages. */
@Command(name = "blocksim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {
            "Which strings make a transformer produce a similar internal vector? blocksim runs a "
                + "character-level transformer over every unique substring of a corpus, keeps its block "
                + "intermediates in memory-mapped shards and finds the top-k closest strings by cosine or L2.",
            ""},
        subcommands = {
            DemoCommand.class,
            ExtractCommand.class,
            SearchCommand.class,
            SimilarsCommand.class,
            NormsCommand.class,
            InfoCommand.class,
            VerifyCommand.class,
            IndexCommand.class,
            ImportCommand.class,
            BenchCommand.class,
            AotTrainCommand.class,
            CommandLine.HelpCommand.class,
        },
        footer = {"", "Run 'blocksim COMMAND --help' for a command's options."})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces for errors.")
    boolean verbose;

    @Option(names = "--timings", scope = ScopeType.INHERIT,
            description = "Print where the wall time went (JVM start, opening the store and model, search, output) on stderr.")
    boolean timings;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        mainWith(args);
    }

    /**
     * {@link #main} with more subcommands (each a picocli command object, added before the error
     * handlers so they report as the built-in ones do): how the Spark module adds {@code spark}
     * without putting Spark on this module's class path. Exits the JVM with the command's code.
     */
    public static void mainWith(String[] args, Object... extraSubcommands) {
        long mainNanos = System.nanoTime();
        boolean timings = java.util.Arrays.asList(args).contains("--timings");
        if (timings) {
            Timings.enable();
            recordJvmStart();
        }
        utf8StandardStreams();
        String unreadable = unreadableArgument(args);
        if (unreadable != null) {
            System.err.println("blocksim: " + unreadable);
            System.err.flush();
            System.exit(CliError.USAGE);
        }
        int code = execute(commandLine(extraSubcommands), args);
        System.out.flush();
        if (timings) {
            System.err.println(timingsLine(Timings.phases(), (System.nanoTime() - mainNanos) / 1e6));
        }
        System.err.flush();
        System.exit(code);
    }

    /**
     * The JVM's start: from the launcher's exec (BLOCKSIM_LAUNCH_NS, epoch nanoseconds) to main.
     * Not from the process's start time, which Linux gives to about a second, nor from the JVM's
     * management bean, whose loading would itself cost a tenth of a second.
     */
    private static void recordJvmStart() {
        String launched = System.getenv("BLOCKSIM_LAUNCH_NS");
        if (launched != null && launched.matches("\\d{10,20}")) {
            java.time.Instant now = java.time.Instant.now();
            long nowNs = now.getEpochSecond() * 1_000_000_000L + now.getNano();
            Timings.record("jvm start", (nowNs - Long.parseLong(launched)) / 1e6);
        }
    }

    /** "blocksim: timings: jvm start 95 ms, open store 180 ms, ...; main 640 ms in all" (phases may nest or overlap). */
    static String timingsLine(java.util.List<Timings.Phase> phases, double mainMs) {
        StringBuilder b = new StringBuilder("blocksim: timings:");
        String sep = " ";
        for (Timings.Phase p : phases) {
            b.append(sep).append(p.what()).append(' ').append(String.format(java.util.Locale.ROOT, "%.0f ms", p.ms()));
            sep = ", ";
        }
        return b.append(String.format(java.util.Locale.ROOT, "; main %.0f ms in all", mainMs)).toString();
    }

    /**
     * Makes stdout and stderr write UTF-8 whatever the locale. JSON must be UTF-8 (RFC 8259), and a
     * table must show a label as it is stored (UTF-8): a platform-charset stream would turn 'é' into
     * '?' under LANG=C or with no LANG at all. UTF-8 bytes are what pipes, files and today's
     * terminals expect even where no locale is set (as Python's UTF-8 mode does in the C locale).
     */
    static void utf8StandardStreams() {
        System.setOut(new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 8192), true,
                StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.err), 8192), true,
                StandardCharsets.UTF_8));
    }

    /**
     * One line naming the locale when an argument holds characters the JVM could not decode from
     * it (the JVM decodes arguments and file names with the locale's charset, {@code
     * sun.jnu.encoding}: under LANG=C an 'é' arrives as U+FFFD and no such file name can be
     * opened), else null. The launcher runs the JVM under C.UTF-8 when the locale is C, POSIX or
     * unset, so this is seen only when the JVM is started otherwise.
     */
    static String unreadableArgument(String[] args) {
        String jnu = System.getProperty("sun.jnu.encoding", "UTF-8");
        if (isUtf8(jnu)) {
            return null;
        }
        for (String a : args) {
            if (a.indexOf('\uFFFD') >= 0) {
                return "the argument '" + a + "' has characters the locale cannot represent (" + localeWords(jnu)
                        + "); run blocksim under a UTF-8 locale, e.g. LC_ALL=C.UTF-8";
            }
        }
        return null;
    }

    /** The locale in words for messages: "LANG=C, charset ANSI_X3.4-1968" or "no LANG or LC_* set, ...". */
    static String localeWords(String charset) {
        for (String v : new String[] {"LC_ALL", "LC_CTYPE", "LANG"}) {
            String value = System.getenv(v);
            if (value != null && !value.isEmpty()) {
                return v + "=" + value + ", charset " + charset;
            }
        }
        return "no LANG or LC_* set, charset " + charset;
    }

    private static boolean isUtf8(String charset) {
        return charset.equalsIgnoreCase("UTF-8") || charset.equalsIgnoreCase("UTF8");
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 data error, 2 usage error). */
    public static int execute(String... args) {
        return execute(commandLine(), args);
    }

    /** {@link #execute(String...)} with more subcommands (see {@link #mainWith}). */
    public static int executeWith(Object[] extraSubcommands, String... args) {
        return execute(commandLine(extraSubcommands), args);
    }

    private static int execute(CommandLine cli, String... args) {
        try {
            return cli.execute(args);
        } catch (Error e) {
            // picocli hands only Exceptions to the handler below; an Error (out of memory, a fault in
            // a mapped file, ...) from a command or one of its worker threads would leave main as a
            // raw stack trace
            boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
            return report(e, cli.getErr(), verbose);
        }
    }

    /**
     * Reports a failure in one line on {@code err} (and its stack trace when {@code verbose}) and
     * returns the exit code: a {@link BlocksimException}'s or {@link CliError}'s message with exit 1
     * or 2; a fault in a mapped store file as the store having changed (1); out of memory and any
     * other {@link Error} or exception as what it is, with exit 3.
     */
    static int report(Throwable t, PrintWriter err, boolean verbose) {
        int code;
        if (t instanceof BlocksimException || t instanceof CliError) {
            err.println("blocksim: " + t.getMessage());
            code = exitCode((RuntimeException) t);
        } else if (io.blocksim.store.Store.isMappedFault(t)) {
            err.println("blocksim: a store file changed while it was being read (a fault in its mapped memory: it was"
                    + " truncated, or the disk failed); nothing from it was printed; verify the store (blocksim verify)"
                    + " to name every damaged file" + (verbose ? "" : " (run with --verbose for details)"));
            code = CliError.DATA;
        } else if (t instanceof OutOfMemoryError) {
            err.println("blocksim: out of memory (" + oneLine(t.getMessage()) + "): give the JVM more with"
                    + " BLOCKSIM_JVM_OPTS=-Xmx..., or ask for less (fewer queries, a smaller k)"
                    + (verbose ? "" : " (run with --verbose for details)"));
            code = 3;
        } else {
            err.println("blocksim: internal error: " + t.getClass().getName() + ": " + oneLine(t.getMessage())
                    + (verbose ? "" : " (run with --verbose for details)"));
            code = 3;
        }
        if (verbose) {
            t.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    private static String oneLine(String message) {
        return message == null ? "no message" : message.replaceAll("\\s+", " ").trim();
    }

    static CommandLine commandLine(Object... extraSubcommands) {
        CommandLine cli = new CommandLine(new Main());
        for (Object sub : extraSubcommands) {
            cli.addSubcommand(sub);
        }
        // help, usage and error lines in UTF-8 too, whatever stdout.encoding the locale gave
        cli.setOut(new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true));
        cli.setErr(new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true));
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setUsageHelpWidth(100); // the examples and option texts are written for 100 columns
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            boolean verbose = parsed.matchedOptionValue("--verbose", false)
                    || java.util.Arrays.asList(parsed.originalArgs().toArray()).contains("--verbose");
            if (ex instanceof InvalidPathException && !isUtf8(System.getProperty("sun.jnu.encoding", "UTF-8"))) {
                // a file name the locale's charset cannot encode: say so, not a Java exception with '?'s
                PrintWriter err = cmd.getErr();
                err.println("blocksim: a file name has characters the locale cannot represent ("
                        + localeWords(System.getProperty("sun.jnu.encoding")) + "); run blocksim under a UTF-8 locale,"
                        + " e.g. LC_ALL=C.UTF-8");
                err.flush();
                return CliError.USAGE;
            }
            return report(ex, cmd.getErr(), verbose);
        });
        cli.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            err.println("blocksim: " + ex.getMessage());
            err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help'.");
            err.flush();
            return CliError.USAGE;
        });
        return cli;
    }

    /**
     * The exit code of a failure the CLI reports in one line: a {@link CliError}'s own; for the
     * library's kinds 2 (usage) for a bad argument ({@link InvalidArgumentException}, including
     * {@link io.blocksim.TargetExistsException}) and 1 (data) for everything else it reports
     * (invalid data, a store, a file, the model, a device, a closed store).
     */
    static int exitCode(RuntimeException e) {
        if (e instanceof CliError c) {
            return c.exitCode();
        }
        return e instanceof InvalidArgumentException ? CliError.USAGE : CliError.DATA;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"blocksim " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
