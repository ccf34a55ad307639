package io.blocksim.demo;

import io.blocksim.api.NormRow;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The demo's chart: per layer, the mean norm of each site's last-position vectors with a
 * ± one standard deviation bar, drawn headless with JFreeChart into a PNG.
 */
public final class NormChart {
    public static final int WIDTH = 960;
    public static final int HEIGHT = 600;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};

    static {
        // no display on servers and CI; must be set before AWT first initializes
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private NormChart() {
    }

    /**
     * A series' legend: the site, what it is, and what this model shows for it
     * ("block_output (residual stream): mean 27.9 to 61.7").
     */
    static String legend(DemoResults.NormTable t) {
        String what = switch (t.site()) {
            case "block_output" -> " (residual stream, the notebook's first table)";
            case "proj_output" -> " (attention's contribution, no notebook table)";
            case "ffwd_output" -> " (feed-forward's contribution)";
            default -> "";
        };
        if (t.layers().isEmpty()) {
            return t.site() + what;
        }
        return String.format(Locale.ROOT, "%s%s: mean %.1f to %.1f", t.site(), what, t.layers().get(0).mean(),
                t.layers().get(t.layers().size() - 1).mean());
    }

    /** The chart of {@code tables} (one series per site); {@code scope} marks a quick run. */
    public static JFreeChart chart(List<DemoResults.NormTable> tables, String scope) {
        YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        for (int i = 0; i < tables.size(); i++) {
            DemoResults.NormTable t = tables.get(i);
            YIntervalSeries s = new YIntervalSeries(legend(t));
            // sites side by side around each layer, so their bars do not hide each other
            double shift = (i - (tables.size() - 1) / 2.0) * 0.08;
            for (var row : t.layers()) {
                s.add(row.block() + shift, row.mean(), row.mean() - row.std(), row.mean() + row.std());
            }
            data.addSeries(s);
        }
        NumberAxis x = new NumberAxis("layer (block)");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        int maxLayer = tables.stream().flatMap(t -> t.layers().stream()).mapToInt(r -> r.block()).max().orElse(0);
        x.setRange(-0.5, maxLayer + 0.5);
        NumberAxis y = new NumberAxis("L2 norm at the last position (mean \u00b1 std)");
        y.setAutoRangeIncludesZero(true);
        XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDefaultLinesVisible(true);
        renderer.setDefaultShapesVisible(true);
        renderer.setCapLength(10);
        renderer.setErrorStroke(new BasicStroke(1.5f));
        XYPlot plot = new XYPlot(data, x, y, renderer);
        JFreeChart chart = new JFreeChart("Norms of block intermediates per layer", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        int rows = tables.isEmpty() ? 0 : tables.get(0).rows();
        chart.addSubtitle(new TextTitle(String.format(Locale.ROOT, "last position, first %,d strings; bars: \u00b1 one std%s",
                rows, scope)));
        theme().apply(chart);
        // after the theme, which would reset them to its own palette
        chart.setBackgroundPaint(Color.WHITE);
        for (int i = 0; i < tables.size(); i++) {
            renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        return chart;
    }

    /** The chart as PNG bytes, {@link #WIDTH} x {@link #HEIGHT}. */
    public static byte[] png(List<DemoResults.NormTable> tables, String scope) {
        BufferedImage img = chart(tables, scope).createBufferedImage(WIDTH, HEIGHT);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        try {
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no PNG writer in this Java runtime");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Starts loading the chart's classes and fonts on a daemon thread (about 0.3 s of class loading
     * and font lookup, single-threaded), so that drawing the real chart later costs little. Failures
     * are left for the real drawing to report.
     */
    public static void warmUpInBackground() {
        Thread t = new Thread(() -> {
            try {
                var row = new io.blocksim.api.NormRow(0, 2, 1, 0.5);
                chart(List.of(new DemoResults.NormTable("warm-up", List.of(row), "")), "").createBufferedImage(64, 48);
            } catch (RuntimeException | LinkageError | InternalError e) {
                // the real chart says what went wrong
            }
        }, "chart-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** JFreeChart's default theme asks for Tahoma; the logical SansSerif font exists wherever Java does. */
    private static StandardChartTheme theme() {
        StandardChartTheme t = new StandardChartTheme("blocksim");
        t.setExtraLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 20));
        t.setLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        t.setRegularFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        t.setSmallFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        t.setPlotBackgroundPaint(Color.WHITE);
        t.setDomainGridlinePaint(Color.LIGHT_GRAY);
        t.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return t;
    }
}
