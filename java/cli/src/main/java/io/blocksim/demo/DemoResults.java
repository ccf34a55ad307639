package io.blocksim.demo;

import io.blocksim.api.NormRow;
import io.blocksim.api.SearchResponse;
import java.util.List;
import java.util.Locale;

/**
 * Everything one demo run computed, in the order it printed it: what the console shows, the
 * report's Markdown, its chart and its JSON are all made from this.
 *
 * @param store          the store folder
 * @param strings        how many strings the store holds
 * @param stringLength   L
 * @param model          the model file's name
 * @param quick          whether this is the {@code --quick} store (said in every heading)
 * @param prompts        the prompts, each with its row among the stored strings (-1: not stored)
 * @param k              results per prompt
 * @param sections       norm tables and search tables, in printed order
 * @param backendReason  which search backend ran and why
 * @param extractSeconds how long building the store took, or null when an existing store was reused
 * @param seconds        the demo's wall time up to the last table
 */
public record DemoResults(String store, int strings, int stringLength, String model, boolean quick,
        List<Prompt> prompts, int k, List<Section> sections, String backendReason, Double extractSeconds,
        double seconds) {

    public DemoResults {
        prompts = List.copyOf(prompts);
        sections = List.copyOf(sections);
    }

    /** A prompt and its row among the store's strings, or -1 when the store does not hold it. */
    public record Prompt(String text, int row) {
        public boolean stored() {
            return row >= 0;
        }
    }

    /** One printed table. */
    public sealed interface Section permits NormTable, SearchTable {
    }

    /**
     * The notebook's norm table of one site: per block the mean and sample std of the
     * last-position norms of the first strings, and what that says.
     */
    public record NormTable(String site, List<NormRow> layers, String conclusion) implements Section {
        public NormTable {
            layers = List.copyOf(layers);
        }

        /** How many strings each block's statistics cover (the same for every block). */
        public int rows() {
            return layers.isEmpty() ? 0 : layers.get(0).rows();
        }
    }

    /**
     * One top-k table. {@code position} is the stored position searched (0..L-1), or null for the
     * embeddings table, which compares all positions concatenated; {@code ti} is the notebook's
     * {@code t_i} as asked (-1 for the last position), null likewise.
     */
    public record SearchTable(String title, String site, int block, Integer position, Integer ti, String querySite,
            int queryBlock, SearchResponse result) implements Section {
    }

    /** The heading suffix that marks a quick run; empty for the full store. */
    public String scope() {
        return scope(quick, strings);
    }

    static String scope(boolean quick, int strings) {
        return quick ? String.format(Locale.ROOT, " [quick: %,d strings]", strings) : "";
    }

    public List<NormTable> norms() {
        return sections.stream().filter(NormTable.class::isInstance).map(NormTable.class::cast).toList();
    }

    public List<SearchTable> searches() {
        return sections.stream().filter(SearchTable.class::isInstance).map(SearchTable.class::cast).toList();
    }
}
