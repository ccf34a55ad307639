package io.blocksim.spark;

import io.blocksim.model.Target;
import io.blocksim.model.Site;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What an executor needs to compute shards of an extraction, broadcast once per job: the store
 * folder and the model file (paths every executor sees), the model's SHA-256 (an executor whose
 * file differs refuses), the engine's settings, the strings (uint8 [N, L] token ids, the same
 * table the driver stored) and the targets. Executors rebuild the extraction plan from it, a pure
 * function of these values, so every executor computes a shard exactly as the driver's process
 * would.
 */
record ExtractJob(String id, String store, String model, String modelSha256, String device, int threads, int workers,
        int batchRows, long cacheBytes, byte[] tokens, int stringLength, String[] sites, int[] blocks, int[] positions,
        int shardStrings) implements Serializable {

    List<Target> targets() {
        List<Target> out = new ArrayList<>();
        for (int i = 0; i < sites.length; i++) {
            out.add(new Target(Site.parse(sites[i]), blocks[i], positions[i]));
        }
        return out;
    }

    static ExtractJob of(String id, String store, String model, String modelSha256, String device, int threads, int workers,
            int batchRows, long cacheBytes, byte[] tokens, int stringLength, List<Target> targets, int shardStrings) {
        String[] s = new String[targets.size()];
        int[] b = new int[s.length];
        int[] p = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = targets.get(i).site().cliName();
            b[i] = targets.get(i).block();
            p[i] = targets.get(i).position();
        }
        return new ExtractJob(id, store, model, modelSha256, device, threads, workers, batchRows, cacheBytes, tokens,
                stringLength, s, b, p, shardStrings);
    }
}
