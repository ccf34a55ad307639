package io.blocksim.cli;

import io.blocksim.BlocksimException;
import io.blocksim.InvalidArgumentException;
import io.blocksim.UserError;
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
            if (t instanceof BlocksimException u) {
                err.println("blocksim: " + u.getMessage());
                if (verbose) {
                    u.printStackTrace(err);
                }
                err.flush();
                return exitCode(u);
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
            return UserError.USAGE;
        });
        return cli;
    }

    /** 2 for a bad argument (usage), 1 for everything else the library reports (data, store, device). */
    static int exitCode(BlocksimException e) {
        if (e instanceof UserError u) {
            return u.exitCode();
        }
        return e instanceof InvalidArgumentException ? UserError.USAGE : UserError.DATA;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"blocksim " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
