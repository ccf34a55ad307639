#!/usr/bin/env bash
# Per-kernel profile of the cases the GPU goals are held to (a lent GPU machine; about 1-2 minutes):
# the select chunk sweep of the SGEMM path (PROFILE_NCU=0: only that), then Nsight Compute (ncu) on the SGEMM + select path at Q = 1,024 and on the fused scan at Q = 8, with
# the GPU's own clocks (--clock-control none). Writes $OUT/gpu-profile.txt (else build/gpu-results/).
#   bash tools/gpu-profile.sh
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
outdir="${OUT:-$root/build/gpu-results}"
mkdir -p "$outdir"
exec > >(tee "$outdir/gpu-profile.txt") 2>&1
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
fatbin=java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin
cmake -S . -B native/build -DCMAKE_BUILD_TYPE=Release -DBLOCKSIM_BUILD_FATBIN=OFF -DBLOCKSIM_BUILD_EMU=OFF \
      -DBLOCKSIM_BUILD_HARNESS=ON > /dev/null && cmake --build native/build -j "$(nproc)" 2>&1 | tail -n 1
# the harness dlopens libcublas.so.13 by name: the wheel's folder next to PyTorch
for d in $(python3 -c "import nvidia, os; [print(p) for p in nvidia.__path__]" 2>/dev/null); do
    for f in "$d"/cu13/lib "$d"/cublas/lib; do [ -e "$f/libcublas.so.13" ] && export LD_LIBRARY_PATH="$f:${LD_LIBRARY_PATH:-}"; done
done
echo "===== select chunk sweep (blocksim_check --select-sweep) ====="
timeout 200 native/build/blocksim_check --fatbin "$fatbin" --select-sweep | sed -n '/select chunk sweep/,$p'
[ "${PROFILE_NCU:-1}" = 0 ] && exit 0
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
[ -n "$ncu" ] || { echo "ncu: not found"; exit 2; }
prof() {  # $1 = harness case filter, $2 = kernel regex
    echo; echo "===== ncu: $1 (kernels /$2/) ====="
    timeout 150 "$ncu" --clock-control none --section SpeedOfLight --section Occupancy --section LaunchStats \
        -k "regex:$2" --launch-count 12 native/build/blocksim_check --fatbin "$fatbin" --no-timing --filter "$1" 2>&1 \
        | grep -E "^  [a-z_A-Z0-9]|Duration|DRAM Throughput|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Grid Size|Dynamic Shared|Waves Per SM|PASS|FAIL"
}
prof "gemm cos N=100003 D=384 Q=1024 k=10" "gemm|Kernel|select|merge|cutlass|sm90"
prof "scan cos N=858923 D=384 Q=8 k=10" "scan"
prof "scan cos N=100003 D=384 Q=1024 k=10" "scan"
