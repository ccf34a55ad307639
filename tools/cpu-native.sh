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
    [ -f "$stamp" ] && [ -f "$lib" ] || { echo "cpu-native: FAIL: $stamp or $lib missing" >&2; exit 1; }
    rc=0
    if [ "$(awk '$1=="sources"{print $2}' "$stamp")" != "$(sources_hash)" ]; then
        echo "cpu-native: FAIL: $src or the flags changed since the library was built; run tools/cpu-native.sh" >&2
        rc=1
    fi
    if [ "$(awk '$1=="library"{print $2}' "$stamp")" != "$(file_hash "$lib")" ]; then
        echo "cpu-native: FAIL: $lib is not the file recorded in $stamp" >&2
        rc=1
    fi
    [ $rc -eq 0 ] && echo "cpu-native: OK (library matches $src)"
    exit $rc
    ;;
*)
    echo "usage: tools/cpu-native.sh [--check]" >&2
    exit 2
    ;;
esac
