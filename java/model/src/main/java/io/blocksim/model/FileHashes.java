package io.blocksim.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * sha256 of a model file's bytes, remembered between processes: hashing the 22 MB model took
 * 40-130 ms of every {@code --prompt} search. The remembered value is used only while the file's
 * size, modification time (nanoseconds) and file key are what they were when it was hashed, as
 * make and git's index do; a file rewritten in place with the same size within the same
 * nanosecond would escape it. Kept in {@code $XDG_CACHE_HOME/blocksim/sha256} (else
 * {@code ~/.cache/blocksim/sha256}); any failure to read or write there only means hashing again.
 * Thread safe (each call reads or replaces one small file atomically).
 */
final class FileHashes {
    private FileHashes() {
    }

    /** The file's stamp: what must be unchanged for a remembered hash to hold. */
    static String stamp(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return a.size() + " " + a.lastModifiedTime().toInstant() + " " + a.fileKey();
    }

    /** sha256 of {@code bytes}, which were read from {@code file} between two equal stamps {@code stamp}. */
    static String sha256(Path file, String stamp, byte[] bytes) {
        Path entry = entry(file);
        if (entry != null && stamp != null) {
            try {
                String[] kept = Files.readString(entry, StandardCharsets.UTF_8).split("\n");
                if (kept.length == 2 && kept[0].equals(stamp) && kept[1].matches("[0-9a-f]{64}")) {
                    return kept[1];
                }
            } catch (IOException | RuntimeException e) {
                // nothing remembered (or unreadable): hash below
            }
        }
        String sha = hash(bytes);
        if (entry != null && stamp != null) {
            try {
                Files.createDirectories(entry.getParent());
                Path tmp = Files.createTempFile(entry.getParent(), entry.getFileName().toString(), ".tmp");
                Files.writeString(tmp, stamp + "\n" + sha, StandardCharsets.UTF_8);
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                // a read-only home: the next process hashes again
            }
        }
        return sha;
    }

    static String hash(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** The cache file for {@code file} (named by the hash of its absolute path), or null without a home. */
    static Path entry(Path file) {
        String base = System.getenv("XDG_CACHE_HOME");
        Path dir;
        if (base != null && !base.isBlank()) {
            dir = Path.of(base);
        } else {
            String home = System.getProperty("user.home");
            if (home == null || home.isBlank()) {
                return null;
            }
            dir = Path.of(home, ".cache");
        }
        String name = hash(file.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
        return dir.resolve("blocksim").resolve("sha256").resolve(name);
    }
}
