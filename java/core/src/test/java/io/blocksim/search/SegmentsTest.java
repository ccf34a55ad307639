package io.blocksim.search;

import io.blocksim.spi.VectorShard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentsTest {
    @TempDir
    Path dir;

    @Test
    void aMappedShardBecomesAPlainNativeViewWithTheSameMemoryAndLifetime() throws IOException {
        Path file = dir.resolve("v.bin");
        byte[] bytes = new byte[3 * 4096];
        bytes[4100] = 42;
        Files.write(file, bytes);
        Class<?> nativeClass = Arena.ofAuto().allocate(8).getClass();
        Arena arena = Arena.ofShared();
        MemorySegment mapped;
        try (FileChannel ch = FileChannel.open(file)) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena).asSlice(4);
        }
        VectorShard shard = new VectorShard(mapped, mapped, 0, 1);
        MemorySegment v = shard.vectors();
        assertEquals(nativeClass, v.getClass(), "one segment class for the kernels' loads");
        assertEquals(mapped.address(), v.address());
        assertEquals(mapped.byteSize(), v.byteSize());
        assertTrue(v.isReadOnly());
        assertEquals(42, v.get(ValueLayout.JAVA_BYTE, 4096));
        arena.close();
        assertThrows(IllegalStateException.class, () -> v.get(ValueLayout.JAVA_BYTE, 0), "closing the store still unmaps");
    }

    @Test
    void heapSegmentsAndMissingNormsAreLeftAlone() {
        MemorySegment heap = MemorySegment.ofArray(new float[16]);
        VectorShard shard = new VectorShard(heap, null, 0, 1);
        assertSame(heap, shard.vectors());
        assertEquals(null, shard.norms());
    }
}
