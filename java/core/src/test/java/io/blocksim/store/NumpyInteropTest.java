package io.blocksim.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proves our files are numpy's files both ways, by running python3 with numpy. */
class NumpyInteropTest {
    private static String python;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findNumpy() {
        for (String candidate : new String[] {"/usr/bin/python3", "python3"}) {
            try {
                if (run(candidate, "import numpy").exit == 0) {
                    python = candidate;
                    return;
                }
            } catch (IOException e) {
                // not installed here; try the next
            }
        }
    }

    private record Ran(int exit, String output) {
    }

    private static Ran run(String py, String script) throws IOException {
        Process p = new ProcessBuilder(py, "-c", script).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(py + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return new Ran(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private String python(String script) throws IOException {
        assumeTrue(python != null, "no python3 with numpy here");
        Ran r = run(python, script);
        assertEquals(0, r.exit, r.output);
        return r.output;
    }

    @Test
    void numpyReadsOurFilesMappedWithRightDtypeShapeValuesAndAlignment() throws IOException {
        assumeTrue(python != null, "no python3 with numpy here");
        float[] f = new float[7 * 3];
        for (int i = 0; i < f.length; i++) {
            f[i] = i * 0.5f - 3f;
        }
        Npy.writeFloats(tmp.resolve("f4.npy"), f, 7, 3);
        byte[] u = new byte[4 * 10];
        for (int i = 0; i < u.length; i++) {
            u[i] = (byte) (i * 7);
        }
        Npy.writeBytes(tmp.resolve("u1.npy"), u, 4, 10);
        int[] ints = new int[1000];
        for (int i = 0; i < ints.length; i++) {
            ints[i] = i * 3 - 500;
        }
        Npy.writeInts(tmp.resolve("i4.npy"), ints);
        Npy.write(tmp.resolve("i8.npy"), NpyDtype.INT64, new long[] {2}, MemorySegment.ofArray(new long[] {-5, 1L << 40}));
        Npy.writeFloats(tmp.resolve("empty.npy"), new float[0], 0, 384);

        String out = python("""
                import numpy as np
                def load(name, dtype, shape):
                    a = np.load(%s + '/' + name, mmap_mode='r')
                    assert isinstance(a, np.memmap), type(a)
                    assert a.dtype == np.dtype(dtype), (name, a.dtype)
                    assert a.shape == shape, (name, a.shape)
                    assert a.flags['C_CONTIGUOUS']
                    assert a.offset %% 64 == 0, (name, a.offset)
                    return a
                f4 = load('f4.npy', '<f4', (7, 3))
                assert (f4 == (np.arange(21, dtype=np.float32) * 0.5 - 3).reshape(7, 3)).all()
                u1 = load('u1.npy', 'u1', (4, 10))
                assert (u1 == ((np.arange(40) * 7) %% 256).astype(np.uint8).reshape(4, 10)).all()
                i4 = load('i4.npy', '<i4', (1000,))
                assert (i4 == np.arange(1000) * 3 - 500).all()
                i8 = np.load(%s + '/i8.npy')
                assert i8.dtype == np.int64 and list(i8) == [-5, 1 << 40]
                e = np.load(%s + '/empty.npy')
                assert e.shape == (0, 384) and e.dtype == np.float32
                print('ok')
                """.formatted(q(tmp), q(tmp), q(tmp)));
        assertTrue(out.contains("ok"), out);
    }

    @Test
    void weReadNumpyWrittenFiles() throws IOException {
        assumeTrue(python != null, "no python3 with numpy here");
        python("""
                import numpy as np
                d = %s
                np.save(d + '/f4.npy', (np.arange(12, dtype=np.float32) / 4 - 1).reshape(3, 4))
                np.save(d + '/u1.npy', np.arange(30, dtype=np.uint8).reshape(10, 3))
                np.save(d + '/i4.npy', np.arange(5, dtype=np.int32) - 2)
                np.save(d + '/i8.npy', np.array([7, -(1 << 50)], dtype=np.int64))
                np.save(d + '/f8.npy', np.zeros(3))
                np.save(d + '/fortran.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))
                np.save(d + '/big.npy', np.ones(3, dtype='>f4'))
                """.formatted(q(tmp)));
        try (Arena arena = Arena.ofConfined()) {
            NpyArray f4 = Npy.map(tmp.resolve("f4.npy"), arena);
            assertEquals(NpyDtype.FLOAT32, f4.dtype());
            assertArrayEquals(new long[] {3, 4}, f4.shape());
            float[] expect = new float[12];
            for (int i = 0; i < 12; i++) {
                expect[i] = i / 4f - 1;
            }
            assertArrayEquals(expect, f4.data().toArray(Npy.FLOAT32));

            NpyArray u1 = Npy.map(tmp.resolve("u1.npy"), arena);
            assertEquals(NpyDtype.UINT8, u1.dtype());
            assertArrayEquals(new long[] {10, 3}, u1.shape());
            assertEquals(29, u1.data().get(Npy.UINT8, 29));

            assertArrayEquals(new int[] {-2, -1, 0, 1, 2}, Npy.map(tmp.resolve("i4.npy"), arena).toIntArray());
            assertArrayEquals(new long[] {7, -(1L << 50)}, Npy.map(tmp.resolve("i8.npy"), arena).data().toArray(Npy.INT64));

            List<String> errors = new ArrayList<>();
            for (String bad : new String[] {"f8.npy", "fortran.npy", "big.npy"}) {
                errors.add(assertThrows(NpyFormatException.class, () -> Npy.map(tmp.resolve(bad), arena)).problem());
            }
            assertTrue(errors.get(0).contains("float64"), errors.get(0));
            assertTrue(errors.get(1).contains("Fortran"), errors.get(1));
            assertTrue(errors.get(2).contains("big-endian"), errors.get(2));
        }
    }

    @Test
    void numpyOpensAStoreShardAndItsNorms() throws IOException {
        assumeTrue(python != null, "no python3 with numpy here");
        Path store = Fixtures.modelStore(tmp.resolve("store"));
        Manifest m = Manifest.read(store);
        Manifest.Shard s = m.entries().get(0).shards().get(0);
        String out = python("""
                import numpy as np
                v = np.load(%s, mmap_mode='r')
                n = np.load(%s, mmap_mode='r')
                s = np.load(%s, mmap_mode='r')
                assert v.shape == (%d, 8) and n.shape == (%d,), (v.shape, n.shape)
                assert np.allclose(np.linalg.norm(v.astype(np.float64), axis=1), n, rtol=1e-6)
                assert s.dtype == np.uint8 and s.shape == (%d, %d)
                print('ok')
                """.formatted(q(store.resolve(s.file())), q(store.resolve(s.norms())), q(store.resolve("strings.npy")),
                s.rows(), s.rows(), Fixtures.N, Fixtures.L));
        assertTrue(out.contains("ok"), out);
    }

    /** Issue 16: the codes are numpy files too, and numpy confirms |x - s c| <= E on every row. */
    @Test
    void numpyOpensAShardsCodesAndTheirBoundHolds() throws IOException {
        assumeTrue(python != null, "no python3 with numpy here");
        Path store = TestStores.build(tmp.resolve("store"), 5, 200, 64, List.of(new EntrySpec("proj_output", 0, 4, 40)), 3);
        Manifest.Shard s = Manifest.read(store).entries().get(0).shards().get(1);
        String out = python("""
                import numpy as np
                v = np.load(%s, mmap_mode='r').astype(np.float64)
                c = np.load(%s, mmap_mode='r')
                sc = np.load(%s, mmap_mode='r')
                assert c.dtype == np.int8 and c.shape == (%d, 40), (c.dtype, c.shape)
                assert sc.dtype == np.float32 and sc.shape == (%d, 2), (sc.dtype, sc.shape)
                assert np.abs(c.astype(np.int32)).max() <= 127
                err = np.linalg.norm(v - c.astype(np.float64) * sc[:, :1].astype(np.float64), axis=1)
                assert (err <= sc[:, 1]).all(), (err - sc[:, 1]).max()
                print('ok', float((sc[:, 1] / np.linalg.norm(v, axis=1)).mean()))
                """.formatted(q(store.resolve(s.file())), q(store.resolve(s.codes().file())),
                q(store.resolve(s.codes().scales())), s.rows(), s.rows()));
        assertTrue(out.contains("ok"), out);
    }

    /** A Python string literal of a path. */
    private static String q(Path p) {
        return "'" + p.toAbsolutePath().toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
