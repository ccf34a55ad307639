#!/usr/bin/env bash
# The CPU's native code kernel (native/cpu/bs_cpu_codes.c), shipped compiled in blocksim-core's jar.
#
#   tools/cpu-native.sh           build java/core/src/main/resources/.../libblocksim_cpu.so with gcc
#                                 and record its provenance in native/cpu/build.sha256
#   tools/cpu-native.sh --check   (CI) fail when the committed library or its sources changed
#                                 since that record: the same rule as tools/check-fatbin.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tools/provenance.sh
. tools/provenance.sh
src=native/cpu/bs_cpu_codes.c
lib=java/core/src/main/resources/io/blocksim/search/native/linux-x86_64/libblocksim_cpu.so
stamp=native/cpu/build.sha256
flags="-O3 -ffp-contract=off -fno-math-errno -fPIC -shared -Wall -Wextra -Werror -fno-ident -Wl,--build-id=none -s"

sources_hash() { printf '%s\n%s\n' "$(tr -d '\r' < "$src" | sha256sum | cut -d' ' -f1)" "$flags" | sha256sum | cut -d' ' -f1; }
file_hash() { sha256sum < "$1" | cut -d' ' -f1; }

case "${1:-}" in
"")
    mkdir -p "$(dirname "$lib")"
    # shellcheck disable=SC2086
    gcc $flags -o "$lib" "$src"
    {
        echo "# Provenance of $lib: written by tools/cpu-native.sh, checked by tools/cpu-native.sh --check in CI."
        echo "sources $(sources_hash)"
        echo "library $(file_hash "$lib")"
        echo "built-with $(gcc --version | head -1)"
    } > "$stamp"
    echo "cpu-native: built $lib ($(wc -c < "$lib") bytes), recorded $stamp"
    ;;
--check)
    provenance_check cpu-native "$stamp" library "$lib" "$(sources_hash)" "tools/cpu-native.sh"
    echo "cpu-native: OK (library matches $src)"
    ;;
*)
    echo "usage: tools/cpu-native.sh [--check]" >&2
    exit 2
    ;;
esac
