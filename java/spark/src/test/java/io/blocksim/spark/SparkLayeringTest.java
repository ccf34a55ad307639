package io.blocksim.spark;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Spark stays in this module: no class of another module uses Spark, Scala or this module, and
 * the default launcher's jar (the cli's) lists no Spark or Scala library on its class path.
 */
class SparkLayeringTest {
    @Test
    void onlyThisModuleUsesSpark() {
        JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar")).importPackages("io.blocksim");
        assertTrue(classes.contain("io.blocksim.cli.Main") && classes.contain(SparkMain.class.getName()));
        noClasses().that().resideOutsideOfPackage("io.blocksim.spark..").should().dependOnClassesThat()
                .resideInAnyPackage("org.apache.spark..", "scala..", "io.blocksim.spark..").check(classes);
    }

    @Test
    void theDefaultJarListsNoSparkLibrary() throws Exception {
        Path root = Path.of(System.getenv().getOrDefault("BLOCKSIM_PROJECT_DIR", "../.."));
        Path jar = root.resolve("java/cli/target/blocksim.jar");
        Assumptions.assumeTrue(Files.isRegularFile(jar), "the cli jar is not built (mvn package builds it before this module)");
        try (JarFile f = new JarFile(jar.toFile())) {
            String cp = f.getManifest().getMainAttributes().getValue("Class-Path");
            assertTrue(cp.contains("blocksim-core"), cp);
            for (String lib : cp.split("\\s+")) {
                assertTrue(!lib.contains("spark") && !lib.contains("scala"), "the default jar lists " + lib);
            }
        }
    }
}
