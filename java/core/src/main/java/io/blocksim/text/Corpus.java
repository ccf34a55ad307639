package io.blocksim.text;

import io.blocksim.FileAccessException;
import io.blocksim.InvalidDataException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/** A corpus text with its sha256 and where it came from. */
public record Corpus(String text, String sha256, Path source) {
    public static final String TINYSHAKESPEARE_URL =
            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";
    public static final String TINYSHAKESPEARE_SHA256 =
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";
    public static final String ENV_DATASET = "BLOCKSIM_DATASET";

    /**
     * The corpus to use: {@code explicit} when given, else {@code $BLOCKSIM_DATASET}, else
     * TinyShakespeare from the per-user cache, downloaded (sha256-checked) when not cached.
     *
     * @throws FileAccessException when the file does not exist or cannot be read, or the download
     *     fails
     * @throws InvalidDataException for a file that is empty or not UTF-8, or a download whose
     *     sha256 does not match
     */
    public static Corpus resolve(Path explicit) {
        if (explicit != null) {
            return read(explicit);
        }
        String env = System.getenv(ENV_DATASET);
        if (env != null && !env.isBlank()) {
            return read(Path.of(env));
        }
        return tinyShakespeare(cacheDir().resolve("tinyshakespeare").resolve("input.txt"));
    }

    /**
     * Any UTF-8 text file.
     *
     * @throws FileAccessException when the file does not exist or cannot be read
     * @throws InvalidDataException for a file that is empty or not UTF-8 text
     */
    public static Corpus read(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new FileAccessException("dataset " + path + " does not exist or is not a file");
        }
        try {
            byte[] raw = Files.readAllBytes(path);
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(raw)).toString();
            if (text.isEmpty()) {
                throw new InvalidDataException("dataset " + path + " is empty");
            }
            return new Corpus(text, sha256(raw), path);
        } catch (CharacterCodingException e) {
            throw new InvalidDataException("dataset " + path + " is not valid UTF-8 text");
        } catch (IOException e) {
            throw new FileAccessException("cannot read dataset " + path + ": " + e.getMessage(), e);
        }
    }

    static Corpus tinyShakespeare(Path cached) {
        if (Files.isRegularFile(cached)) {
            Corpus c = read(cached);
            if (c.sha256.equals(TINYSHAKESPEARE_SHA256)) {
                return c;
            }
            System.err.println("blocksim: cached corpus " + cached + " has the wrong sha256; downloading again");
        }
        download(cached);
        return read(cached);
    }

    private static void download(Path target) {
        System.err.println("blocksim: downloading TinyShakespeare to " + target);
        try {
            Files.createDirectories(target.getParent());
            // not createTempFile: its 0600 would stay on the cached corpus after the rename; Files.copy
            // creates the file as a plain create would, under the caller's umask
            Path tmp = target.resolveSibling(target.getFileName() + ".part-" + ProcessHandle.current().pid() + "-"
                    + System.nanoTime());
            try {
                HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(15))
                        .followRedirects(HttpClient.Redirect.NORMAL).build();
                HttpResponse<InputStream> resp = client.send(
                        HttpRequest.newBuilder(URI.create(TINYSHAKESPEARE_URL)).timeout(Duration.ofSeconds(60)).build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                if (resp.statusCode() != 200) {
                    throw new IOException("HTTP " + resp.statusCode());
                }
                try (InputStream in = resp.body()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                String got = sha256(Files.readAllBytes(tmp));
                if (!got.equals(TINYSHAKESPEARE_SHA256)) {
                    throw new InvalidDataException("downloaded corpus has sha256 " + got + ", expected "
                            + TINYSHAKESPEARE_SHA256 + "; use a good local copy of input.txt instead");
                }
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw offline(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()
                    + (e.getCause() != null ? ": " + e.getCause() : ""));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw offline("interrupted");
        }
    }

    private static FileAccessException offline(String why) {
        return new FileAccessException("cannot download the TinyShakespeare corpus (" + why + "): use a local copy of"
                + " input.txt, or set " + ENV_DATASET + "=PATH");
    }

    /** The per-user cache folder: $BLOCKSIM_CACHE, else $XDG_CACHE_HOME/blocksim, else ~/.cache/blocksim. */
    public static Path cacheDir() {
        String own = System.getenv("BLOCKSIM_CACHE");
        if (own != null && !own.isBlank()) {
            return Path.of(own);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("blocksim");
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
