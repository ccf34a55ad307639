package io.blocksim.cli;

import io.blocksim.BlocksimException;
import io.blocksim.InvalidArgumentException;
import java.io.PrintWriter;
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
            NormsCommand.class,
            InfoCommand.class,
            VerifyCommand.class,
            ImportCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class,
        },
        footer = {"", "Run 'blocksim COMMAND --help' for a command's options."})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces for errors.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 data error, 2 usage error). */
    public static int execute(String... args) {
        CommandLine cli = commandLine();
        return cli.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setUsageHelpWidth(100); // the examples and option texts are written for 100 columns
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            boolean verbose = parsed.matchedOptionValue("--verbose", false)
                    || java.util.Arrays.asList(parsed.originalArgs().toArray()).contains("--verbose");
            PrintWriter err = cmd.getErr();
            Throwable t = ex;
            if (t instanceof BlocksimException || t instanceof CliError) {
                err.println("blocksim: " + t.getMessage());
                if (verbose) {
                    t.printStackTrace(err);
                }
                err.flush();
                return exitCode((RuntimeException) t);
            }
            err.println("blocksim: internal error: " + t + (verbose ? "" : " (run with --verbose for details)"));
            if (verbose) {
                t.printStackTrace(err);
            }
            err.flush();
            return 3;
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
