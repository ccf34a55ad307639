package io.blocksim.api;

import io.blocksim.InvalidArgumentException;
import io.blocksim.Metric;
import io.blocksim.StoreIncompatibleException;
import io.blocksim.similars.Aggregate;
import io.blocksim.similars.ResultsManifest;
import io.blocksim.similars.ResultsReader;
import io.blocksim.similars.Target;
import io.blocksim.store.EntryKey;
import io.blocksim.store.Manifest;
import io.blocksim.store.Store;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A results folder written by {@link SimilarStrings#writeTo}, opened to look up one sampled
 * string's neighbours across the whole model (the seed's {@code load_results_for_strings}) and to
 * merge them over positions ({@code aggregate_over_t_is}). The folder's arrays are memory-mapped;
 * labels come from the store the results were made from.
 *
 * <p>Thread safety: may be shared by threads; {@link #close} unmaps the results (not the store).
 */
public final class SimilarResults implements AutoCloseable {
    /** One entry's neighbours of one sampled string, best first. */
    public record Neighbours(SimilarStrings.Entry entry, List<Hit> hits) {
    }

    /** A hit of a merged list, with the position it came from. */
    public record PositionHit(int position, Hit hit) {
    }

    /** The k best of one (site, block) across positions, merged. */
    public record Merged(String site, int block, List<Integer> positions, List<PositionHit> hits) {
    }

    private final ResultsReader reader;
    private final BlocksimStore store;

    private SimilarResults(ResultsReader reader, BlocksimStore store) {
        this.reader = reader;
        this.store = store;
    }

    /**
     * The store folder the results in {@code results} were made from, as recorded when the job ran.
     *
     * @throws io.blocksim.StoreNotFoundException when {@code results} holds no results
     */
    public static Path storeDir(Path results) {
        return Path.of(ResultsManifest.read(results).store().dir());
    }

    /**
     * Opens the results in {@code results}, labelled from {@code store}.
     *
     * @throws io.blocksim.StoreNotFoundException when {@code results} holds no results
     * @throws io.blocksim.StoreDamagedException when a file the manifest names is damaged
     * @throws StoreIncompatibleException when {@code store} is not the store they were made from
     */
    public static SimilarResults open(Path results, BlocksimStore store) {
        ResultsReader r = ResultsReader.open(results);
        Store s = store.internal();
        Manifest m = s.manifest();
        Manifest.FileRef strings = m.strings() != null ? m.strings() : m.labels();
        var here = new ResultsManifest.StoreIdentity(s.dir().toString(), m.model() == null ? null : m.model().sha256(),
                m.datasetSha256(), m.stringLength(), m.stringCount(), strings == null ? null : strings.crc32c());
        if (!here.sameStore(r.manifest().store())) {
            r.close();
            throw new StoreIncompatibleException("results " + results + " were made from another store ("
                    + r.manifest().store().dir() + ") than " + store.dir() + ": open them with that store");
        }
        return new SimilarResults(r, store);
    }

    public int k() {
        return reader.manifest().k();
    }

    public Metric metric() {
        return Metric.parse(reader.manifest().metric());
    }

    /** The sampled string indices, in sample order. */
    public int[] sample() {
        return reader.sample();
    }

    /** Every entry, complete or not, in the order the job ran them. */
    public List<SimilarStrings.Entry> entries() {
        return reader.manifest().entries().stream().map(e -> SimilarStrings.Entry.of(e.target())).toList();
    }

    /** True when every entry is complete. */
    public boolean complete() {
        return reader.manifest().complete();
    }

    /**
     * The neighbours of sampled string {@code string} at every complete entry whose position is in
     * {@code positions} (0..L-1; null for all; the embedding entry is always included).
     *
     * @throws InvalidArgumentException when {@code string} is not in the sample
     */
    public List<Neighbours> neighbours(int string, Set<Integer> positions) {
        int row = sampleRow(string);
        List<Neighbours> out = new ArrayList<>();
        Store s = store.internal();
        try (var lease = s.lease()) {
            for (Target t : reader.completeTargets()) {
                if (!t.allPositions() && positions != null && !positions.contains(t.position())) {
                    continue;
                }
                int[] ids = reader.ids(t, row);
                float[] scores = reader.scores(t, row);
                List<Hit> hits = new ArrayList<>(ids.length);
                for (int j = 0; j < ids.length; j++) {
                    String label = t.allPositions() ? s.string(ids[j]) : s.label(new EntryKey(t.site(), t.block(),
                            t.position()), ids[j]);
                    hits.add(new Hit(ids[j], label, scores[j]));
                }
                out.add(new Neighbours(SimilarStrings.Entry.of(t), List.copyOf(hits)));
            }
        }
        return List.copyOf(out);
    }

    /**
     * The seed's {@code aggregate_over_t_is}: for each (site, block) of {@link #neighbours}, the k
     * best across its positions merged into one list, by score, ties to the earlier position, then
     * the lower row. The embedding entry has no positions and is left out.
     *
     * @throws InvalidArgumentException when {@code string} is not in the sample
     */
    public List<Merged> aggregateOverPositions(int string, Set<Integer> positions) {
        Map<String, List<Neighbours>> groups = new LinkedHashMap<>();
        for (Neighbours n : neighbours(string, positions)) {
            if (n.entry().position() != null) {
                groups.computeIfAbsent(n.entry().site() + "\0" + n.entry().block(), x -> new ArrayList<>()).add(n);
            }
        }
        Metric m = metric();
        List<Merged> out = new ArrayList<>();
        for (List<Neighbours> g : groups.values()) {
            List<List<Aggregate.Item>> lists = new ArrayList<>();
            Map<Long, Hit> byKey = new LinkedHashMap<>();
            List<Integer> ps = new ArrayList<>();
            for (Neighbours n : g) {
                int p = n.entry().position();
                ps.add(p);
                List<Aggregate.Item> items = new ArrayList<>();
                for (Hit h : n.hits()) {
                    items.add(new Aggregate.Item(p, h.row(), h.score()));
                    byKey.put(((long) p << 32) | h.row(), h);
                }
                lists.add(items);
            }
            List<PositionHit> hits = new ArrayList<>();
            for (Aggregate.Item it : Aggregate.merge(lists, k(), m)) {
                hits.add(new PositionHit(it.position(), byKey.get(((long) it.position() << 32) | it.row())));
            }
            SimilarStrings.Entry e = g.get(0).entry();
            out.add(new Merged(e.site(), e.block(), List.copyOf(ps), List.copyOf(hits)));
        }
        return List.copyOf(out);
    }

    private int sampleRow(int string) {
        int row = reader.sampleRowOf(string);
        if (row < 0) {
            throw new InvalidArgumentException("string " + string + " ('" + store.string(string) + "') is not in the"
                    + " sample of results " + reader.dir() + " (" + reader.manifest().sampleSize() + " strings)");
        }
        return row;
    }

    /** Unmaps the results; the store stays open. Idempotent. */
    @Override
    public void close() {
        reader.close();
    }
}
