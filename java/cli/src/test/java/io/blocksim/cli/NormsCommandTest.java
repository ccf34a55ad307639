package io.blocksim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blocksim.spi.VectorShard;
import io.blocksim.store.Fixtures;
import io.blocksim.store.Store;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code norms} prints, per block, the mean and the sample standard deviation (n - 1) of the
 * first {@code --rows} last-position norms: checked against a two-pass reference computed here
 * from the store's norms files, over rows that span several shards.
 */
class NormsCommandTest {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The first {@code rows} norms of block_output {@code block} (last position), read from its norms files. */
    static double[] norms(Path store, int block, int rows) {
        List<Double> out = new ArrayList<>();
        try (Store s = Store.open(store)) {
            for (VectorShard sh : s.vectors("block_output", block, -1).shards()) {
                for (int i = 0; i < sh.rows() && out.size() < rows; i++) {
                    out.add((double) sh.norms().getAtIndex(LE, i));
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** Two-pass variance around the mean, divided by {@code divisor}. */
    static double std(double[] v, double divisor) {
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / divisor);
    }

    static JsonNode normsJson(Path store, int rows) throws Exception {
        CliTest.Run r = CliTest.run("norms", "--store", store.toString(), "--site", "block_output", "--rows",
                String.valueOf(rows), "--json");
        assertEquals(0, r.code(), r.err());
        return ResultFormat.JSON.readTree(r.out());
    }

    @Test
    void sampleStandardDeviationOfTheFirstRows(@TempDir Path dir) throws Exception {
        Path st = Fixtures.modelStore(dir.resolve("st"));  // 11 strings in shards of 4
        double[] previous = null;
        for (int rows : new int[] {2, 3, 5, 9, 11}) {
            JsonNode j = normsJson(st, rows);
            assertEquals(rows, j.get("rows").asInt());
            assertEquals(2, j.get("blocks").size());
            StringBuilder lines = new StringBuilder();
            double[] got = new double[2];
            for (int b = 0; b < 2; b++) {
                double[] v = norms(st, b, rows);
                assertEquals(rows, v.length);
                JsonNode row = j.get("blocks").get(b);
                assertEquals(b, row.get("block").asInt());
                double sample = std(v, rows - 1);
                double population = std(v, rows);
                assertEquals(mean(v), row.get("mean").asDouble(), 1e-12 * mean(v), "mean, block " + b + ", rows " + rows);
                assertEquals(sample, row.get("std").asDouble(), 1e-9 * sample, "sample std, block " + b + ", rows " + rows);
                assertTrue(Math.abs(row.get("std").asDouble() - population) > 1e-3 * sample,
                        "population std " + population + " is not the sample std " + sample);
                got[b] = row.get("std").asDouble();
                lines.append(String.format(Locale.ROOT, "Layer %d: mean %s, std %s%n", b, (float) mean(v), (float) sample));
            }
            // the table prints the same numbers
            CliTest.Run t = CliTest.run("norms", "--store", st.toString(), "--site", "block_output", "--rows",
                    String.valueOf(rows));
            assertEquals(0, t.code(), t.err());
            assertEquals(lines.toString(), t.out());
            if (previous != null) {
                assertNotEquals(previous[0], got[0], "--rows " + rows + " must change the result");
            }
            previous = got;
        }
        // more rows than the store holds: all of them
        JsonNode all = normsJson(st, 1000);
        assertEquals(Fixtures.N, all.get("rows").asInt());
        assertEquals(std(norms(st, 1, Fixtures.N), Fixtures.N - 1), all.get("blocks").get(1).get("std").asDouble(), 1e-9);
    }
}
