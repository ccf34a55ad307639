#!/usr/bin/env bash
# The prepared check for a lent GPU machine (short: about 3-6 minutes; rerunnable).
#
#   bash tools/gpu-check.sh            (from the repository root, or anywhere)
#
# 1. environment: nvidia-smi, nvcc, cmake, CPU, PyTorch
# 2. the committed fatbin: staleness check, cuobjdump --list-elf / --list-ptx
# 3. builds native/ with CMake into native/build (the harness only; the committed fatbin is used)
# 4. runs the harness: every kernel vs the float64 reference, then the timing table
#    (scan at Q = 1, 2, 8, 64, 512, 1024, k = 10, N = 858,923, D = 384, vs D2D copy bandwidth;
#    SGEMM path when a libcublas is found)
# 5. compute-sanitizer memcheck and racecheck on a few small cases (if present)
# 6. if java (or ./build/jre/bin/java) is present: the Java GPU tests (io.blocksim.cuda, through
#    mvn when it is installed, else GpuTestMain from carried classes), then
#    blocksim bench search --device cuda. Prepare on a CPU machine and carry the outputs:
#      mvn -o -q -DskipTests -pl java/cli -am package dependency:copy-dependencies -DincludeScope=test \
#        -DexcludeArtifactIds=onnxruntime,junit-jupiter-engine,junit-jupiter-params,junit-platform-engine \
#        -DoutputDirectory="$PWD/target/gpu-lib"
#      (the other modules' jars, core's test jar and every library land in target/gpu-lib)
#      carry: java/cli/target/classes java/cuda/target/test-classes target/gpu-lib build/jre
# 7. tools/bench/torch_gpu.py: torch.topk(X @ Q.T) for the same sizes
# Everything goes to one file: $OUT/gpu-check.txt ($OUT is set by the device runner), else
# ./build/gpu-results/gpu-check.txt. The exit status is the harness's (0 = all PASS).
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
outdir="${OUT:-$root/build/gpu-results}"
mkdir -p "$outdir"
results="$outdir/gpu-check.txt"
exec > >(tee "$results") 2>&1
start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-450}   # stop starting optional steps after this many seconds
elapsed() { echo $(( $(date +%s) - start )); }
section() { echo; echo "===== $* (t=$(elapsed)s, $(date -u +%H:%M:%S) UTC) ====="; }
left() { echo $(( budget - $(elapsed) )); }
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
jobs=$(nproc 2>/dev/null || echo 4)

section "environment"
echo "repo: $root  commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | wc -l) changed files"
nvidia-smi || echo "nvidia-smi: not available"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv 2>/dev/null
nvcc --version 2>/dev/null || echo "nvcc: not found"
cmake --version 2>/dev/null | head -1 || echo "cmake: not found"
echo "CPU cores: $jobs"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>/dev/null || echo "torch: not importable"

section "fatbin"
fatbin=java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin
ls -l "$fatbin"
bash tools/check-fatbin.sh || echo "WARNING: the committed fatbin is stale against kernels/ (the harness still tests the committed one)"
if command -v cuobjdump >/dev/null 2>&1; then
    cuobjdump --list-elf "$fatbin"
    cuobjdump --list-ptx "$fatbin"
else
    echo "cuobjdump: not found"
fi
python3 native/fatbin_list.py "$fatbin" --require-elf 80,86,89,90 --require-ptx 90 || true

section "build native/ (cmake -> native/build)"
cmake -S . -B native/build -DCMAKE_BUILD_TYPE=Release -DBLOCKSIM_BUILD_FATBIN=OFF \
      -DBLOCKSIM_BUILD_EMU=OFF -DBLOCKSIM_BUILD_HARNESS=ON > native/build-configure.log 2>&1 \
    || { cat native/build-configure.log; echo "FATAL: cmake configure failed"; exit 2; }
tail -n 3 native/build-configure.log
rm -f native/build-configure.log
cmake --build native/build -j "$jobs" 2>&1 | tail -n 5
if [ ! -x native/build/blocksim_check ]; then echo "FATAL: native/build/blocksim_check was not built"; exit 2; fi

# cuBLAS for the SGEMM path: the toolkit's, the system's, or the one PyTorch ships
cublas_dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    ls "$d"/libcublas.so* >/dev/null 2>&1 && cublas_dirs="$cublas_dirs:$d"
done
pyd=$(python3 -c "import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) if hasattr(nvidia,'__path__') else '')" 2>/dev/null || true)
if [ -n "$pyd" ]; then
    for f in $(find "$pyd/nvidia" -name 'libcublas.so*' 2>/dev/null | head -n 4); do
        cublas_dirs="$cublas_dirs:$(dirname "$f")"
    done
fi
torchlib=$(python3 -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))" 2>/dev/null || true)
[ -n "$torchlib" ] && ls "$torchlib"/libcublas.so* >/dev/null 2>&1 && cublas_dirs="$cublas_dirs:$torchlib"
if [ -n "$cublas_dirs" ]; then
    export LD_LIBRARY_PATH="${cublas_dirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "libcublas search path: ${cublas_dirs#:}"
else
    echo "libcublas: none found (the SGEMM path is checked with host-made score tiles, not timed)"
fi

section "harness: correctness vs float64 reference, then timing"
timeout 360 native/build/blocksim_check --fatbin "$fatbin"
harness_rc=$?
echo "harness exit status: $harness_rc"

if command -v compute-sanitizer >/dev/null 2>&1 && [ "$(left)" -gt 120 ]; then
    section "compute-sanitizer memcheck (small cases)"
    timeout 100 compute-sanitizer --tool memcheck --error-exitcode 9 \
        native/build/blocksim_check --fatbin "$fatbin" --quick --no-timing --filter "N=1000 " 2>&1 | tail -n 25
    echo "memcheck exit status: ${PIPESTATUS[0]}"
    if [ "$(left)" -gt 90 ]; then
        section "compute-sanitizer racecheck (one small scan and one select)"
        for f in "scan cos N=777" "gemm l2  N=777"; do
            timeout 60 compute-sanitizer --tool racecheck --error-exitcode 9 \
                native/build/blocksim_check --fatbin "$fatbin" --quick --no-timing --no-cublas --filter "$f" 2>&1 | tail -n 12
            echo "racecheck ($f) exit status: ${PIPESTATUS[0]}"
        done
    fi
else
    echo "(compute-sanitizer skipped: not found or out of time)"
fi

section "java: GPU tests (io.blocksim.cuda) and blocksim bench search --device cuda"
javabin=""   # a Java 25+: the carried ./build/jre first, then the usual places
for c in "$root/build/jre" "${BLOCKSIM_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ]; then javabin="$c/bin/java"; export JAVA_HOME="$c"; break; fi
done
jflags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
jcp="java/cli/target/classes:java/cuda/target/test-classes:target/gpu-lib/*"
if [ -z "$javabin" ]; then
    echo "(skipped: no Java 25+ and no ./build/jre)"
elif [ "$(left)" -lt 60 ]; then
    echo "(skipped: out of time)"
else
    export PATH="$(dirname "$javabin"):$PATH"
    "$javabin" -version 2>&1 | head -n 1
    if [ -f java/cuda/target/test-classes/io/blocksim/cuda/GpuTestMain.class ] && [ -d target/gpu-lib ]; then
        timeout $(( $(left) > 200 ? 200 : $(left) )) "$javabin" $jflags -Xmx8g -cp "$jcp" io.blocksim.cuda.GpuTestMain
        echo "java GPU tests exit status: $?"
    elif command -v mvn >/dev/null 2>&1; then
        timeout $(( $(left) > 240 ? 240 : $(left) )) mvn -o -B -ntp -pl java/cuda -am -Dtest='Cuda*' -Dsurefire.failIfNoSpecifiedTests=false test 2>&1 \
            | grep -E "Tests run|FAIL|GPU test on|Assumption" | tail -n 20
    else
        echo "(GPU tests skipped: neither carried test classes (target/gpu-lib) nor mvn)"
    fi
    bench="--queries 1,8,64,512 --repeats 3 --warmups 1"
    if [ "$(left)" -lt 40 ]; then
        echo "(bench skipped: out of time)"
    elif [ -d java/cli/target/classes ] && [ -d target/gpu-lib ]; then
        timeout $(( $(left) > 150 ? 150 : $(left) )) "$javabin" $jflags -cp "$jcp" io.blocksim.cli.Main bench search --device cuda $bench \
            || echo "blocksim bench search --device cuda failed (exit $?)"
    elif [ -x ./blocksim ] && [ -f java/cli/target/blocksim.jar ]; then
        timeout $(( $(left) > 150 ? 150 : $(left) )) ./blocksim bench search --device cuda $bench \
            || echo "blocksim bench search --device cuda failed (exit $?)"
    else
        echo "(bench skipped: no java/cli/target/classes + target/gpu-lib and no java/cli/target/blocksim.jar)"
    fi
fi

section "torch comparison (tools/bench/torch_gpu.py)"
if [ "$(left)" -gt 30 ] && python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    timeout $(( $(left) > 120 ? 120 : $(left) )) python3 tools/bench/torch_gpu.py \
        || echo "torch_gpu.py failed (exit $?)"
else
    echo "(skipped: no CUDA PyTorch or out of time)"
fi

section "done: harness exit status $harness_rc, results in $results"
exit $harness_rc
