package io.blocksim.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blocksim.Metric;
import io.blocksim.api.BlocksimStore;
import io.blocksim.api.SimilarStrings;
import io.blocksim.search.CpuSearchBackend;
import io.blocksim.store.EntrySpec;
import io.blocksim.store.TestStores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code similars --device cuda}: the same job through the CUDA backend gives the CPU's rows and
 * scores, with query batches that take the scan (Q <= 8) and the SGEMM path. Skips without a device.
 */
class SimilarStringsGpuTest {
    @TempDir
    Path tmp;

    @Test
    void cudaJobEqualsCpuJob() {
        CudaProbe.Outcome o = CudaProbe.probe();
        Assumptions.assumeTrue(o.verdict().usable(), "no usable CUDA device: " + o.verdict().reason());
        Path dir = TestStores.build(tmp.resolve("store"), 8, 20_000, 6_000, List.of(
                new EntrySpec("proj_output", 0, 7, 384), new EntrySpec("proj_output", 0, 3, 384)), 31);
        try (BlocksimStore store = BlocksimStore.open(dir);
                CudaSearchBackend gpu = CudaSearchBackend.open(o.device());
                CpuSearchBackend cpu = new CpuSearchBackend()) {
            for (Metric m : Metric.values()) {
                for (int batch : new int[] {7, 100}) {
                    List<SimilarStrings.Batch> a = run(store, gpu, m, batch);
                    List<SimilarStrings.Batch> b = run(store, cpu, m, batch);
                    assertEquals(b.size(), a.size());
                    for (int i = 0; i < a.size(); i++) {
                        for (int q = 0; q < a.get(i).rows().length; q++) {
                            assertArrayEquals(b.get(i).rows()[q], a.get(i).rows()[q], m + " batch " + batch);
                            assertArrayEquals(b.get(i).scores()[q], a.get(i).scores()[q], 1e-5f);
                        }
                    }
                }
            }
        }
    }

    private static List<SimilarStrings.Batch> run(BlocksimStore store, io.blocksim.spi.SearchBackend backend, Metric m,
            int batch) {
        List<SimilarStrings.Batch> out = new ArrayList<>();
        try (SimilarStrings job = SimilarStrings.builder(store).backend(backend).sites("proj_output").blocks(0)
                .positions(-1, 3).sample(300, 5).k(10).metric(m).queryBatch(batch).build()) {
            job.run(out::add);
        }
        return out;
    }
}
