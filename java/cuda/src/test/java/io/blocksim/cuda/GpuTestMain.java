package io.blocksim.cuda;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/**
 * Runs {@link CudaSearchBackendGpuTest} without Maven or the JUnit launcher (which the lent GPU
 * machines lack): {@code java -cp classes:test-classes:lib/*:test-lib/* io.blocksim.cuda.GpuTestMain [CLASS [METHOD]]}
 * (a method name part runs only the tests whose names contain it; {@code @TempDir} fields get a
 * fresh folder under the system's temp folder, left there).
 * Only the annotations that test uses are honoured. Exit status 0 when nothing failed.
 */
public final class GpuTestMain {
    private GpuTestMain() {
    }

    public static void main(String[] args) throws Exception {
        Class<?> c = args.length > 0 ? Class.forName(args[0]) : CudaSearchBackendGpuTest.class;
        int passed = 0;
        int skipped = 0;
        int failed = 0;
        invokeStatic(c, BeforeAll.class);
        try {
            for (Method m : c.getDeclaredMethods()) {
                if (!m.isAnnotationPresent(Test.class) || (args.length > 1 && !m.getName().contains(args[1]))) {
                    continue;
                }
                Object instance = newInstance(c);
                long t0 = System.nanoTime();
                String outcome;
                try {
                    for (Method b : c.getDeclaredMethods()) {
                        if (b.isAnnotationPresent(BeforeEach.class)) {
                            b.setAccessible(true);
                            b.invoke(instance);
                        }
                    }
                    m.setAccessible(true);
                    m.invoke(instance);
                    outcome = "PASS";
                    passed++;
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof TestAbortedException a) {
                        outcome = "SKIP (" + a.getMessage() + ")";
                        skipped++;
                    } else {
                        outcome = "FAIL";
                        failed++;
                        e.getCause().printStackTrace(System.out);
                    }
                }
                System.out.printf("%-45s %s %.1f s%n", m.getName(), outcome, (System.nanoTime() - t0) / 1e9);
            }
        } finally {
            invokeStatic(c, AfterAll.class);
        }
        System.out.printf("%s: %d passed, %d skipped, %d failed%n", c.getSimpleName(), passed, skipped, failed);
        System.exit(failed == 0 ? 0 : 1);
    }

    private static Object newInstance(Class<?> c) throws ReflectiveOperationException {
        var ctor = c.getDeclaredConstructor();
        ctor.setAccessible(true);
        Object o = ctor.newInstance();
        for (java.lang.reflect.Field f : c.getDeclaredFields()) {  // @TempDir fields: a fresh folder each
            if (f.isAnnotationPresent(org.junit.jupiter.api.io.TempDir.class) && !Modifier.isStatic(f.getModifiers())) {
                f.setAccessible(true);
                try {
                    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("blocksim-gpu-test");
                    dir.toFile().deleteOnExit();
                    f.set(o, dir);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return o;
    }

    private static void invokeStatic(Class<?> c, Class<? extends java.lang.annotation.Annotation> a)
            throws ReflectiveOperationException {
        for (Method m : c.getDeclaredMethods()) {
            if (m.isAnnotationPresent(a) && Modifier.isStatic(m.getModifiers())) {
                m.setAccessible(true);
                m.invoke(null);
            }
        }
    }
}
