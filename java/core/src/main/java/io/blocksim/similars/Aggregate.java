package io.blocksim.similars;

import io.blocksim.Metric;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The seed's {@code aggregate_over_t_is}: one string's k best neighbours at several positions of
 * one (site, block) merged into one list of the k best, by score (larger cosine, smaller L2 first),
 * ties to the earlier position, then to the lower row. No row is merged away: the same string's
 * prefix at two positions is two candidates. Stateless.
 */
public final class Aggregate {
    private Aggregate() {
    }

    /** One candidate: its position, its row among that position's candidates, and its score. */
    public record Item(int position, int row, float score) {
    }

    /**
     * The k best of {@code perPosition} (each list best first), merged.
     */
    public static List<Item> merge(List<List<Item>> perPosition, int k, Metric metric) {
        List<Item> all = new ArrayList<>();
        perPosition.forEach(all::addAll);
        Comparator<Item> byScore = Comparator.comparingDouble(Item::score);
        if (metric.largerIsBetter()) {
            byScore = byScore.reversed();
        }
        all.sort(byScore.thenComparingInt(Item::position).thenComparingInt(Item::row));
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }
}
