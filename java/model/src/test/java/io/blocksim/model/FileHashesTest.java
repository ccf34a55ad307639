package io.blocksim.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The remembered model hash holds only while the file's stamp is unchanged. */
class FileHashesTest {
    @TempDir
    Path tmp;

    @Test
    void rememberedWhileTheStampHoldsRecomputedAfter() throws Exception {
        String home = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("home").toString());  // the cache under a fresh home
        try {
            Path f = tmp.resolve("model.onnx");
            Files.writeString(f, "model bytes v1");
            byte[] v1 = Files.readAllBytes(f);
            String stamp = FileHashes.stamp(f);
            String sha = FileHashes.sha256(f, stamp, v1);
            assertEquals(FileHashes.hash(v1), sha);
            Path entry = FileHashes.entry(f);
            if (System.getenv("XDG_CACHE_HOME") == null) {
                assertEquals(tmp.resolve("home/.cache/blocksim/sha256"), entry.getParent());
            }
            // plant another value for the same stamp: it is what comes back (the hash is not recomputed)
            Files.writeString(entry, stamp + "\n" + "0".repeat(64));
            assertEquals("0".repeat(64), FileHashes.sha256(f, stamp, v1));
            // a new modification time: hashed again, and remembered anew
            Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(5)));
            String stamp2 = FileHashes.stamp(f);
            assertEquals(FileHashes.hash(v1), FileHashes.sha256(f, stamp2, v1));
            assertEquals(stamp2 + "\n" + FileHashes.hash(v1), Files.readString(entry));
            // bytes read while the file changed (no stamp): always hashed
            assertEquals(FileHashes.hash("other".getBytes()), FileHashes.sha256(f, null, "other".getBytes()));
        } finally {
            System.setProperty("user.home", home);
        }
    }
}
