#!/usr/bin/env bash
# Fails when the committed CUDA fatbin is stale against its sources.
#
#   tools/check-fatbin.sh           check (CI): the hash of kernels/*.cu, kernels/*.cuh and
#                                   kernels/nvcc.flags, and the hash of the committed fatbin, must
#                                   both equal what kernels/fatbin.sha256 records
#   tools/check-fatbin.sh --write   record both hashes (run by the CMake fatbin build)
#
# The sources hash is over the files' contents with CR removed, in C-locale order of their paths,
# so it does not depend on the platform's line endings or on the nvcc that built the fatbin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tools/provenance.sh
. tools/provenance.sh
fatbin=java/cuda/src/main/resources/io/blocksim/cuda/blocksim_kernels.fatbin
stamp=kernels/fatbin.sha256

sources_hash() {
    local f
    for f in $(LC_ALL=C ls kernels/*.cu kernels/*.cuh kernels/nvcc.flags | LC_ALL=C sort); do
        printf '%s  %s\n' "$(tr -d '\r' < "$f" | sha256sum | cut -d' ' -f1)" "$f"
    done | sha256sum | cut -d' ' -f1
}
file_hash() { sha256sum < "$1" | cut -d' ' -f1; }

case "${1:-}" in
--write)
    [ -f "$fatbin" ] || { echo "check-fatbin: $fatbin does not exist: build it first" >&2; exit 1; }
    nv="unknown"
    if command -v nvcc >/dev/null 2>&1; then nv="$(nvcc --version | tail -n 2 | tr '\n' ' ')";
    elif [ -x /usr/local/cuda/bin/nvcc ]; then nv="$(/usr/local/cuda/bin/nvcc --version | tail -n 2 | tr '\n' ' ')"; fi
    {
        echo "# Provenance of $fatbin: written by tools/check-fatbin.sh --write (the CMake fatbin"
        echo "# build), checked by tools/check-fatbin.sh in CI. Rebuild: cmake -S . -B build/cmake && cmake --build build/cmake"
        echo "sources $(sources_hash)"
        echo "fatbin $(file_hash "$fatbin")"
        echo "built-with $nv"
    } > "$stamp"
    echo "check-fatbin: recorded $stamp"
    ;;
"")
    have_src="$(sources_hash)"
    provenance_check check-fatbin "$stamp" fatbin "$fatbin" "$have_src" \
        "cmake -S . -B build/cmake && cmake --build build/cmake --target fatbin"
    echo "check-fatbin: OK (fatbin matches kernels/ sources $have_src)"
    ;;
*)
    echo "usage: tools/check-fatbin.sh [--write]" >&2
    exit 2
    ;;
esac
