#!/usr/bin/env bash
# Prepares, on a CPU machine, what tools/gpu-check.sh's Java half needs on a lent GPU machine
# (which has no Java), in ONE ignored folder to carry: build/gpu-carry/
#
#   bash tools/gpu-pack.sh            (from the repository root, or anywhere; JDK 25 + Maven offline)
#
#   build/gpu-carry/jre.tar.xz   a jlinked Java 25 runtime (xz -9), unpacked there to /tmp/blocksim-jre
#   build/gpu-carry/lib/         only the jars GpuTestMain and `blocksim bench search --device cuda` load
#
# What travels (the working tree: tracked + untracked-not-ignored files, plus the carried paths)
# must stay under 64 MiB, so archunit, jfreechart, onnxruntime, jqwik and the JUnit engines are
# left out. The script then smoke-runs both entry points with that runtime and class path (without
# a GPU they skip / report no device; a missing class fails the script), and fails when the
# working tree plus the carry would not fit 64 MiB less a 2 MiB margin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jdk="${BLOCKSIM_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
carry=build/gpu-carry
limit=$(( 64 * 1024 * 1024 ))
margin=$(( 2 * 1024 * 1024 ))
jflags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
[ -x "$jdk/bin/jlink" ] || { echo "gpu-pack: no JDK 25 at $jdk (set BLOCKSIM_JDK)" >&2; exit 1; }

echo "== build (mvn -o) and copy every dependency to a temp folder"
mvn -o -q -DskipTests -pl java/cli -am package dependency:copy-dependencies -DincludeScope=test \
    -DexcludeArtifactIds=onnxruntime,junit-jupiter-engine,junit-jupiter-params,junit-platform-engine \
    -DoutputDirectory="$tmp/deps"

rm -rf "$carry"
mkdir -p "$carry/lib"
# The jars that are loaded (checked with -Xlog:class+load and jdeps below), and why:
keep=(
    'blocksim-core-*.jar'                 # core; its -tests jar too (test helpers GPU tests may use)
    'blocksim-cuda-*.jar'
    'blocksim-model-*.jar'                # BenchCommand names model types (no onnxruntime needed)
    'jackson-core-*.jar' 'jackson-databind-*.jar' 'jackson-annotations-*.jar'   # bench report, manifests
    'picocli-*.jar'
    'progressbar-*.jar' 'jline-terminal-*.jar' 'jline-native-*.jar'   # the cli's progress bars
    'jcuda-[0-9]*.jar' 'jcuda-natives-*-linux-x86_64.jar'
    'jcublas-[0-9]*.jar' 'jcublas-natives-*-linux-x86_64.jar'
    'junit-jupiter-api-*.jar' 'opentest4j-*.jar' 'junit-platform-commons-*.jar' 'apiguardian-api-*.jar'  # GpuTestMain, assertions
)
for g in "${keep[@]}"; do
    n=0
    for f in "$tmp"/deps/$g; do [ -f "$f" ] && cp "$f" "$carry/lib/" && n=$((n + 1)); done
    [ "$n" -gt 0 ] || { echo "gpu-pack: no jar matches $g" >&2; exit 1; }
done
rm -f "$carry"/lib/blocksim-model-*-tests.jar
# the cli's classes and the cuda test classes as jars (no Class-Path manifest: lib/* is the class path)
"$jdk/bin/jar" --create --file "$carry/lib/blocksim-cli.jar" -C java/cli/target/classes .
"$jdk/bin/jar" --create --file "$carry/lib/blocksim-cuda-tests.jar" -C java/cuda/target/test-classes .
ls -l "$carry/lib" | tail -n +2

echo "== jdeps: classes the GPU path needs must all be on the class path"
# strict for core, cuda and the cuda tests; cli and model may miss only the parts left out on purpose
jdeps=("$jdk/bin/jdeps" --multi-release 25)
bad=0
for j in "$carry"/lib/blocksim-*.jar; do
    case "$(basename "$j")" in
        blocksim-cli.jar) allowed='^(org\.jfree|ai\.onnxruntime)\.' ;;       # demo chart, extraction
        blocksim-model-*) allowed='^ai\.onnxruntime\.' ;;
        blocksim-core-*-tests.jar) allowed='^(net\.jqwik|org\.junit\.jupiter\.params)\.' ;;
        *) allowed='^$' ;;
    esac
    missing=$("${jdeps[@]}" --missing-deps --class-path "$carry/lib/*" "$j" | awk '$2=="->" && $3!="not" && $NF=="found" {print $3}' \
        | grep -Ev "$allowed" | sort -u || true)
    if [ -n "$missing" ]; then echo "gpu-pack: $(basename "$j") needs classes not carried:"; echo "$missing" | head -n 20; bad=1; fi
done
[ "$bad" -eq 0 ] || exit 1

# JDK modules: what jdeps lists for the carried jars (the modular ones are read through the class
# path), less three only optional parts use: java.desktop (the demo's chart, jackson's java.beans),
# java.sql and java.xml (picocli's and jackson's `requires static`)
plain=()
for j in "$carry"/lib/*.jar; do "$jdk/bin/jar" tf "$j" | grep 'module-info\.class' > /dev/null || plain+=("$j"); done
found=$("${jdeps[@]}" --ignore-missing-deps --list-deps --class-path "$carry/lib/*" "${plain[@]}" \
    | sed 's/^ *//; s|/.*||' | grep -E '^[a-z][a-z0-9.]*$' | sort -u)
modules=$(printf '%s\n' $found java.base java.logging jdk.incubator.vector jdk.management | sort -u \
    | grep -Evx 'java\.desktop|java\.sql|java\.xml' | paste -sd, -)
echo "jdeps lists: $(echo $found | tr ' ' ,)"
echo "jlink --add-modules $modules"

echo "== jlink + xz -9 -> $carry/jre.tar.xz"
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --output "$tmp/jre" 2>&1 | grep -v 'incubator modules' || true
[ -x "$tmp/jre/bin/java" ] || { echo "gpu-pack: jlink failed" >&2; exit 1; }
tar -C "$tmp/jre" -cf - . | xz -9 > "$carry/jre.tar.xz"

echo "== smoke runs with the packed runtime and class path (no GPU here: skips / no device)"
mkdir "$tmp/jre2"
tar -C "$tmp/jre2" -xJf "$carry/jre.tar.xz"
java=("$tmp/jre2/bin/java" "${jflags[@]}" -Xlog:class+load=info:file="$tmp/load.%p.txt" -cp "$carry/lib/*")
smoke() {  # expected exit status, then the arguments; fails on any missing class
    local want=$1; shift
    local rc=0
    "${java[@]}" "$@" > "$tmp/out.txt" 2>&1 || rc=$?
    { grep -v 'incubator modules' "$tmp/out.txt" || true; } | tail -n 4 | sed 's/^/  | /'
    if grep -Eq 'NoClassDefFoundError|ClassNotFoundException|NoSuchMethodError|UnsatisfiedLinkError.*(libjava|libnio|libnet|libmanagement)' "$tmp/out.txt"; then
        echo "gpu-pack: FAIL: a class or JDK library is missing: $*" >&2; exit 1
    fi
    case " $want " in *" $rc "*) echo "  exit $rc: ok" ;; *) echo "gpu-pack: FAIL: exit $rc (want $want): $*" >&2; exit 1 ;; esac
}
smoke 0 io.blocksim.cuda.GpuTestMain
smoke "0 2" io.blocksim.cli.Main bench search --device cuda --queries 1 --repeats 1 --warmups 0
# the bench's own path (report, JSON, Vector API) on the cpu backend, small
smoke 0 io.blocksim.cli.Main bench search --device cpu --rows 20000 --dim 64 --queries 1,8 --repeats 1 \
    --warmups 0 --json "$tmp/bench.jsonl"
echo "jars loaded by the smoke runs (classes):"
cat "$tmp"/load.*.txt | sed -n 's|.*source: file:.*/lib/\([^/ ]*\.jar\).*|\1|p' | sort | uniq -c | sed 's/^/  /'

echo "== what would travel (limit 64 MiB = $limit bytes, margin 2 MiB)"
# regular files only: a submodule travels without its files, a symlink is a few bytes
tree=$( { git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat --printf '%F\t%s\n' 2>/dev/null || true; } \
    | awk -F'\t' '$1 ~ /^regular/ {s += $2} END {print s + 0}')
jre=$(stat -c %s "$carry/jre.tar.xz")
lib=$(find "$carry/lib" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
total=$(( tree + jre + lib ))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
printf '  %-40s %11d  %s\n' "working tree (tracked + untracked)" "$tree" "$(mib "$tree")" \
    "$carry/jre.tar.xz" "$jre" "$(mib "$jre")" "$carry/lib ($(ls "$carry/lib" | wc -l) jars)" "$lib" "$(mib "$lib")" \
    "total" "$total" "$(mib "$total")"
if [ "$total" -gt $(( limit - margin )) ]; then
    echo "gpu-pack: FAIL: $(mib "$total") is over 64 MiB less the 2 MiB margin" >&2
    exit 1
fi
echo "OK: $(mib $(( limit - total ))) to spare under 64 MiB"
echo "carry: $carry"
echo "run:   bash tools/gpu-check.sh   (in the repository root, carry [\"$carry\"])"
