package io.blocksim.model;

import io.blocksim.text.Tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.blocksim.InvalidArgumentException;
import io.blocksim.ModelException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a model file says about itself (its ONNX metadata_props, written by tools/train/export.py),
 * plus the sha256 of the file's bytes, which a store records to refuse another model's vectors.
 *
 * @param vocab        the characters of the vocabulary; token id = index
 * @param nLayer       number of blocks
 * @param nEmbed       width of every site vector
 * @param nHead        attention heads per block
 * @param blockSize    the longest sequence the model accepts
 * @param corpusSha256 sha256 of the training corpus text
 * @param modelSha256  sha256 of the .onnx file
 * @param version      the exporter's model version string
 */
public record ModelSpec(String vocab, int nLayer, int nEmbed, int nHead, int blockSize,
                        String corpusSha256, String modelSha256, String version) {

    public ModelSpec {
        if (vocab.isEmpty() || nLayer <= 0 || nEmbed <= 0 || nHead <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("bad model spec: vocab " + vocab.length() + ", n_layer " + nLayer
                    + ", n_embed " + nEmbed + ", n_head " + nHead + ", block_size " + blockSize);
        }
    }

    /**
     * Reads the exporter's metadata; {@code source} names the file in messages.
     *
     * @throws ModelException when a field is missing or malformed (not a model blocksim's exporter
     *     wrote)
     */
    public static ModelSpec fromMetadata(Map<String, String> meta, String modelSha256, String source) {
        String vocabJson = required(meta, "vocab", source);
        String vocab;
        try {
            // JSON so that newline and quote characters survive the metadata round trip
            vocab = new ObjectMapper().readValue(vocabJson, String.class);
        } catch (JsonProcessingException e) {
            throw new ModelException(source + ": metadata 'vocab' is not a JSON string");
        }
        return new ModelSpec(vocab, intOf(meta, "n_layer", source), intOf(meta, "n_embed", source),
                intOf(meta, "n_head", source), intOf(meta, "block_size", source),
                meta.getOrDefault("corpus_sha256", ""), modelSha256, meta.getOrDefault("model_version", ""));
    }

    private static String required(Map<String, String> meta, String key, String source) {
        String v = meta.get(key);
        if (v == null) {
            throw new ModelException(source + " has no metadata '" + key + "': not a model exported by tools/train/export.py");
        }
        return v;
    }

    private static int intOf(Map<String, String> meta, String key, String source) {
        String v = required(meta, key, source);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new ModelException(source + ": metadata '" + key + "' is not an integer: " + v);
        }
    }

    public int vocabSize() {
        return vocab.length();
    }

    /**
     * Token ids of {@code text}, one per character. The simplest possible tokenizer, kept here until
     * io.blocksim.text's tokenizer replaces it; a character outside the vocabulary is a usage error.
     */
    public long[] encode(String text) {
        byte[] bytes = new Tokenizer(vocab).encode(text); // names an unknown character and its position
        long[] ids = new long[bytes.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = bytes[i] & 0xff;
        }
        return ids;
    }

    /** The text of token ids (inverse of {@link #encode}). */
    public String decode(long[] ids) {
        StringBuilder sb = new StringBuilder(ids.length);
        for (long id : ids) {
            sb.append(vocab.charAt(Math.toIntExact(id)));
        }
        return sb.toString();
    }

    /** The model's outputs in file order: embedding, block{b}.{heads,proj,ffwd,block}_output, logits. */
    public List<String> outputNames() {
        List<String> names = new ArrayList<>(2 + 4 * nLayer);
        names.add("embedding");
        for (int b = 0; b < nLayer; b++) {
            for (Site s : List.of(Site.HEADS_OUTPUT, Site.PROJ_OUTPUT, Site.FFWD_OUTPUT, Site.BLOCK_OUTPUT)) {
                names.add(s.outputName(b));
            }
        }
        names.add(LOGITS);
        return names;
    }

    /** Name of the logits output, [batch, seq, vocabSize]. */
    public static final String LOGITS = "logits";

    /**
     * {@link Site#outputName(int)} with the block checked against this model's depth.
     *
     * @throws InvalidArgumentException for a block outside 0..nLayer-1
     */
    public String outputName(Site site, int block) {
        if (site.perBlock() && (block < 0 || block >= nLayer)) {
            throw new InvalidArgumentException("block " + block + " is out of range: this model has blocks 0.." + (nLayer - 1));
        }
        return site.outputName(block);
    }

    /** Floats per position of an output: the vocabulary size for logits, else n_embed. */
    public int outputWidth(String outputName) {
        return LOGITS.equals(outputName) ? vocabSize() : nEmbed;
    }
}
