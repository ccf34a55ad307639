package io.blocksim.cli;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr, in one style for every long-running command. When stderr is not a
 * terminal (a pipe, a CI log) the bar stays silent: commands print a summary line at the end.
 */
final class Progress {
    private Progress() {
    }

    static ProgressBar bytes(String task, long totalBytes) {
        return builder(task).setInitialMax(totalBytes).setUnit(" MB", 1_000_000).showSpeed().build();
    }

    static ProgressBar count(String task, long max, String unit) {
        return builder(task).setInitialMax(max).setUnit(unit, 1).showSpeed().build();
    }

    static boolean interactive() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    private static ProgressBarBuilder builder(String task) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250).setMaxRenderedLength(100).continuousUpdate();
        if (!interactive()) {
            b.setConsumer(new DelegatingProgressBarConsumer(line -> { }));
        }
        return b;
    }
}
