#!/usr/bin/env bash
# The prepared check for a lent GPU machine (at most about 9 minutes; rerunnable).
#
#   bash tools/gpu-check.sh            (from the repository root, or anywhere)
#
# Prepare on a CPU machine first:  bash tools/gpu-pack.sh   and carry the one folder it fills,
# build/gpu-carry (a jlinked Java 25 runtime, jre.tar.xz, and the jars the Java steps load, lib/):
# the lent machines have no Java.
#
# The steps, in this order so that a hang on real hardware cannot eat the Java step; each runs
# under its own timeout, and none starts after GPU_CHECK_BUDGET_S seconds (default 510; the device
# command's limit is 600):
# 1. environment: nvidia-smi, nvcc, cmake, CPU, PyTorch
# 2. the committed fatbin: staleness check, cuobjdump --list-elf / --list-ptx
# 3. builds native/ with CMake into native/build (the harness only; the committed fatbin is used)
# 4. the harness's quick correctness pass (--quick --no-timing, seconds)
# 5. Java: the GPU tests (io.blocksim.cuda.GpuTestMain), then blocksim bench search --device cuda,
#    with the carried runtime and build/gpu-carry/lib/* (else the older layout: ./build/jre,
#    java/cli/target/classes, java/cuda/target/test-classes, target/gpu-lib/*; else mvn)
# 6. the full harness: every kernel vs the float64 reference, then the timing table
#    (scan at Q = 1, 2, 8, 64, 512, 1024, k = 10, N = 858,923, D = 384, vs D2D copy bandwidth;
#    the compressed scan against the float scan at Q = 1, 2, 8; SGEMM path when a libcublas is found)
# 7. compute-sanitizer memcheck, racecheck, synccheck, initcheck on small cases (output tails)
# 8. tools/bench/torch_gpu.py: torch.topk(X @ Q.T) for the same sizes
# Output: $OUT/gpu-check.txt (everything) and $OUT/bench-search-cuda.jsonl ($OUT is set by the
# device runner, else ./build/gpu-results). The exit status is the harness's (0 = all PASS): the
# full run's when it ran, else the quick pass's; 2 when the harness was not built.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
outdir="${OUT:-$root/build/gpu-results}"
mkdir -p "$outdir"
results="$outdir/gpu-check.txt"
exec > >(tee "$results") 2>&1
teepid=$!
start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-510}   # no step starts, and no timeout reaches, past this
elapsed() { echo $(( $(date +%s) - start )); }
section() { echo; echo "===== $* (t=$(elapsed)s, $(date -u +%H:%M:%S) UTC) ====="; }
left() { echo $(( budget - $(elapsed) )); }
cap() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; echo $(( $1 < l ? $1 : l )); }   # a step's timeout
# KILL 10 s after TERM: a process stuck in the driver may not end on TERM
tmo() { local t=$1; shift; timeout -k 10 "$t" "$@"; }
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
[ -d /usr/local/cuda/compute-sanitizer ] && export PATH="$PATH:/usr/local/cuda/compute-sanitizer"
jobs=$(nproc 2>/dev/null || echo 4)
fatbin=java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin
gpu=no          # a GPU seen by nvidia-smi or PyTorch: else the GPU-only steps are skipped
torch_cuda=no

section "environment"
echo "repo: $root  commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | wc -l) changed files"
if command -v nvidia-smi >/dev/null 2>&1 && tmo 20 nvidia-smi; then
    tmo 20 nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
    tmo 20 nvidia-smi -L | grep -q '^GPU ' && gpu=yes
else
    echo "nvidia-smi: not available"
fi
nvcc --version 2>/dev/null || echo "nvcc: not found"
cmake --version 2>/dev/null | head -1 || echo "cmake: not found"
echo "CPU cores: $jobs"
py=python3      # the first that imports torch (on the lent machines: /opt/torch/.venv/bin/python3)
for p in python3 /opt/torch/.venv/bin/python3; do
    line=$(tmo 60 "$p" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>/dev/null) || continue
    py=$p; echo "$p: $line"
    case "$line" in *"available True"*) torch_cuda=yes; gpu=yes ;; esac
    break
done
[ "$py" = python3 ] && [ -z "${line:-}" ] && echo "torch: not importable"
echo "GPU: $gpu"

section "fatbin"
ls -l "$fatbin"
tmo 30 bash tools/check-fatbin.sh || echo "WARNING: the committed fatbin is stale against kernels/ (the harness still tests the committed one)"
if command -v cuobjdump >/dev/null 2>&1; then
    tmo 30 cuobjdump --list-elf "$fatbin"
    tmo 30 cuobjdump --list-ptx "$fatbin"
else
    echo "cuobjdump: not found"
fi
tmo 30 "$py" native/fatbin_list.py "$fatbin" --require-elf 80,86,89,90 --require-ptx 90 || true

section "build native/ (cmake -> native/build)"
if tmo 90 cmake -S . -B native/build -DCMAKE_BUILD_TYPE=Release -DBLOCKSIM_BUILD_FATBIN=OFF \
        -DBLOCKSIM_BUILD_EMU=OFF -DBLOCKSIM_BUILD_HARNESS=ON > native/build-configure.log 2>&1; then
    tail -n 3 native/build-configure.log
    tmo "$(cap 150)" cmake --build native/build -j "$jobs" 2>&1 | tail -n 5
else
    cat native/build-configure.log; echo "ERROR: cmake configure failed"
fi
rm -f native/build-configure.log
harness=native/build/blocksim_check
[ -x "$harness" ] || { echo "ERROR: $harness was not built (the harness steps are skipped)"; harness=""; }

# cuBLAS for the harness's SGEMM path and for Java (by name, libcublas.so.13, through
# LD_LIBRARY_PATH): the toolkit's, the system's, or the nvidia-cublas wheel PyTorch uses
cublas_dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    ls "$d"/libcublas.so* >/dev/null 2>&1 && cublas_dirs="$cublas_dirs:$d"
done
# nvidia is a namespace package (no __init__.py): its __path__ is a _NamespacePath, so list() it
nvdirs=$(tmo 30 "$py" -c "import nvidia; print('\n'.join(list(nvidia.__path__)))" 2>/dev/null || true)
for f in $(find $nvdirs /opt/torch/.venv/lib/python3*/site-packages/nvidia -maxdepth 4 -name 'libcublas.so*' 2>/dev/null); do
    cublas_dirs="$cublas_dirs:$(dirname "$f")"
done
torchlib=$(tmo 30 "$py" -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))" 2>/dev/null || true)
[ -n "$torchlib" ] && ls "$torchlib"/libcublas.so* >/dev/null 2>&1 && cublas_dirs="$cublas_dirs:$torchlib"
cublas_dirs=$(echo "${cublas_dirs#:}" | tr ':' '\n' | awk 'NF && !seen[$0]++' | paste -sd: -)
if [ -n "$cublas_dirs" ]; then
    export LD_LIBRARY_PATH="$cublas_dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "libcublas search path (LD_LIBRARY_PATH, also for Java): $cublas_dirs"
    find ${cublas_dirs//:/ } -maxdepth 1 -name 'libcublas.so*' 2>/dev/null | head -n 6
else
    echo "libcublas: none found (the SGEMM path is checked with host-made score tiles, not timed)"
fi

harness_rc=2
section "harness: quick correctness pass (--quick --no-timing)"
if [ -n "$harness" ]; then
    tmo "$(cap 90)" "$harness" --fatbin "$fatbin" --quick --no-timing
    harness_rc=$?
    echo "quick harness exit status: $harness_rc"
fi
quick_rc=$harness_rc

section "java: GPU tests (io.blocksim.cuda) and blocksim bench search --device cuda"
carry=build/gpu-carry
jre=/tmp/blocksim-jre
if [ -f "$carry/jre.tar.xz" ]; then   # the carried runtime; without an xz binary, Python's lzma
    rm -rf "$jre" && mkdir -p "$jre"
    if command -v xz >/dev/null 2>&1; then tmo 60 tar -C "$jre" -xJf "$carry/jre.tar.xz"
    else tmo 60 "$py" -c 'import sys, tarfile; t = tarfile.open(sys.argv[1]); t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' "$carry/jre.tar.xz" "$jre"
    fi || echo "could not unpack $carry/jre.tar.xz"
fi
javabin=""   # a Java 25+: the carried one first, then the usual places
for c in "$jre" "$root/build/jre" "${BLOCKSIM_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ]; then javabin="$c/bin/java"; export JAVA_HOME="$c"; break; fi
done
jflags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
if [ -d "$carry/lib" ]; then
    jcp="$carry/lib/*"; tests_there=$([ -f "$carry/lib/blocksim-cuda-tests.jar" ] && echo yes)
else   # the older layout
    jcp="java/cli/target/classes:java/cuda/target/test-classes:target/gpu-lib/*"
    tests_there=$([ -f java/cuda/target/test-classes/io/blocksim/cuda/GpuTestMain.class ] && [ -d target/gpu-lib ] && echo yes)
fi
if [ -z "$javabin" ]; then
    echo "(skipped: no Java 25+: run bash tools/gpu-pack.sh and carry build/gpu-carry)"
elif [ "$(left)" -lt 60 ]; then
    echo "(skipped: out of time)"
else
    echo "java: $javabin ($("$javabin" -version 2>&1 | head -n 1)), class path $jcp"
    echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
    if [ -n "$tests_there" ]; then
        tmo "$(cap 150)" "$javabin" $jflags -Xmx8g -cp "$jcp" io.blocksim.cuda.GpuTestMain
        echo "java GPU tests exit status: $?"
    elif command -v mvn >/dev/null 2>&1; then
        tmo "$(cap 240)" mvn -o -B -ntp -pl java/cuda -am -Dtest='Cuda*' -Dsurefire.failIfNoSpecifiedTests=false test 2>&1 \
            | grep -E "Tests run|FAIL|GPU test on|Assumption" | tail -n 20
    else
        echo "(GPU tests skipped: no carried test classes and no mvn)"
    fi
    bench=(--queries 1,8,64,512,1024 --repeats 3 --warmups 1 --json "$outdir/bench-search-cuda.jsonl")
    if [ "$(left)" -lt 40 ]; then
        echo "(bench skipped: out of time)"
    elif [ ! -d "$carry/lib" ] && [ ! -d target/gpu-lib ]; then
        echo "(bench skipped: no carried jars: run bash tools/gpu-pack.sh and carry build/gpu-carry)"
    else
        tmo "$(cap 120)" "$javabin" $jflags -cp "$jcp" io.blocksim.cli.Main bench search --device cuda "${bench[@]}"
        echo "blocksim bench search --device cuda exit status: $?"
    fi
fi

section "harness: full correctness vs float64 reference, then timing"
if [ -z "$harness" ] || [ "$gpu" != yes ]; then
    echo "(skipped: no harness or no GPU)"
elif [ "$quick_rc" -ge 124 ]; then
    echo "(skipped: the quick pass timed out or was killed, exit $quick_rc)"
elif [ "$(left)" -lt 60 ]; then
    echo "(skipped: out of time)"
else
    tmo "$(cap 300)" "$harness" --fatbin "$fatbin"
    harness_rc=$?
    echo "full harness exit status: $harness_rc"
fi

section "compute-sanitizer (small cases, output tails)"
# sanitize: tool, timeout, lines of tail, filter, extra harness flags
sanitize() {
    local tool=$1 t=$2 n=$3 f=$4; shift 4
    if [ "$(left)" -lt 30 ]; then echo "($tool \"$f\" skipped: out of time)"; return; fi
    echo "--- $tool ($f)"
    tmo "$(cap "$t")" compute-sanitizer --tool "$tool" --error-exitcode 9 \
        "$harness" --fatbin "$fatbin" --quick --no-timing --filter "$f" "$@" 2>&1 | tail -n "$n"
    echo "$tool ($f) exit status: ${PIPESTATUS[0]}"
}
if [ -z "$harness" ] || [ "$gpu" != yes ] || ! command -v compute-sanitizer >/dev/null 2>&1; then
    echo "(skipped: no harness, no GPU or no compute-sanitizer)"
else
    sanitize memcheck 90 25 "N=1000 "
    sanitize racecheck 45 12 "scan cos N=777" --no-cublas
    sanitize racecheck 45 12 "gemm l2  N=777" --no-cublas
    sanitize synccheck 45 12 "scan cos N=777" --no-cublas
    sanitize initcheck 45 12 "scan cos N=777" --no-cublas
    sanitize memcheck 60 12 "codes l2  N=2500 D=384 Q=3"
    sanitize racecheck 60 12 "codes cos N=700"
    sanitize initcheck 45 12 "codes cos N=300 D=80 Q=9"
fi

section "torch comparison (tools/bench/torch_gpu.py)"
if [ "$torch_cuda" = yes ] && [ "$(left)" -gt 30 ]; then
    tmo "$(cap 90)" "$py" -u tools/bench/torch_gpu.py || echo "torch_gpu.py failed (exit $?)"
else
    echo "(skipped: no CUDA PyTorch or out of time)"
fi

section "done: harness exit status $harness_rc, results in $results"
exec >&- 2>&-
wait "$teepid" 2>/dev/null   # let tee finish writing the results file
exit $harness_rc
