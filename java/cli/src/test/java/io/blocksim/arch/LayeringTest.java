package io.blocksim.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module table of the README, enforced on the compiled main classes of every module: core
 * (io.blocksim, text, store, spi, search, similars, api) depends on no other module and on none of the CLI's,
 * the model's or CUDA's libraries; model and cuda depend on core only; no two packages depend on
 * each other, directly or through others.
 */
class LayeringTest {
    static final String[] CORE = {"io.blocksim", "io.blocksim.text..", "io.blocksim.store..", "io.blocksim.spi..",
        "io.blocksim.search..", "io.blocksim.similars..", "io.blocksim.api.."};
    static final String[] CLI = {"io.blocksim.cli..", "io.blocksim.demo..", "io.blocksim.bench.."};
    static final String[] CLI_LIBS = {"picocli..", "org.jfree..", "me.tongfei.."};

    static JavaClasses classes;

    @BeforeAll
    static void load() {
        // the other modules' test jars (core's, model's) are on this class path too: main classes only
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("io.blocksim");
    }

    @Test
    void noPackageCycles() {
        slices().matching("io.blocksim.(**)").should().beFreeOfCycles().check(classes);
    }

    @Test
    void coreDependsOnNoOtherModuleOrTheirLibraries() {
        noClasses().that().resideInAnyPackage(CORE).should().dependOnClassesThat()
                .resideInAnyPackage(concat(CLI, CLI_LIBS, new String[] {"io.blocksim.model..", "io.blocksim.cuda..",
                    "ai.onnxruntime..", "jcuda.."}))
                .check(classes);
    }

    @Test
    void modelAndCudaDependOnCoreOnly() {
        noClasses().that().resideInAPackage("io.blocksim.model..").should().dependOnClassesThat()
                .resideInAnyPackage(concat(CLI, CLI_LIBS, new String[] {"io.blocksim.cuda..", "jcuda.."}))
                .check(classes);
        noClasses().that().resideInAPackage("io.blocksim.cuda..").should().dependOnClassesThat()
                .resideInAnyPackage(concat(CLI, CLI_LIBS, new String[] {"io.blocksim.model..", "ai.onnxruntime.."}))
                .check(classes);
    }

    @Test
    void theVocabularyAndThePluginContractStandAlone() {
        noClasses().that().resideInAPackage("io.blocksim").should().dependOnClassesThat()
                .resideInAnyPackage("io.blocksim.(*)..").check(classes);
        noClasses().that().resideInAPackage("io.blocksim.spi").should().dependOnClassesThat()
                .resideInAnyPackage("io.blocksim.text..", "io.blocksim.store..", "io.blocksim.search..",
                        "io.blocksim.api..", "io.blocksim.model..", "io.blocksim.cuda..")
                .check(classes);
    }

    @Test
    void onlyTheCliAndTheApiSitAboveTheSearch() {
        noClasses().that().resideInAnyPackage("io.blocksim.text..", "io.blocksim.store..").should()
                .dependOnClassesThat().resideInAnyPackage("io.blocksim.search..", "io.blocksim.api..")
                .check(classes);
        noClasses().that().resideInAnyPackage("io.blocksim.search..").should().dependOnClassesThat()
                .resideInAnyPackage("io.blocksim.api..", "io.blocksim.similars..").check(classes);
    }

    /** The similar-strings job sits between the search and the API: it uses the store, never the API. */
    @Test
    void theSimilarsJobSitsBelowTheApi() {
        noClasses().that().resideInAnyPackage("io.blocksim.text..", "io.blocksim.store..", "io.blocksim.spi..")
                .should().dependOnClassesThat().resideInAPackage("io.blocksim.similars..").check(classes);
        noClasses().that().resideInAPackage("io.blocksim.similars..").should().dependOnClassesThat()
                .resideInAnyPackage("io.blocksim.api..").check(classes);
    }

    /**
     * The CLI's own error type stays in the CLI: the library (and the CLI's library-like demo and
     * bench packages) throws the typed kinds of io.blocksim, which the CLI maps to exit codes.
     */
    @Test
    void onlyTheCliThrowsItsOwnErrors() {
        String cliError = "io.blocksim.cli.CliError";
        assertTrue(classes.contain(cliError), cliError + " exists");
        noClasses().that().resideOutsideOfPackage("io.blocksim.cli").should().dependOnClassesThat()
                .haveFullyQualifiedName(cliError).check(classes);
    }

    private static String[] concat(String[]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
    }
}
