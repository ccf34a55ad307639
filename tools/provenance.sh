# Sourced by tools/check-fatbin.sh and tools/cpu-native.sh: the check that a committed binary is
# the one built from the committed sources, by the hashes its stamp file records.
#
#   provenance_check NAME STAMP KEY BINARY SOURCES_HASH REBUILD
# STAMP holds the lines "sources HASH" and "KEY HASH"; fails (status 1, reasons on stderr, prefixed
# with NAME) when either differs from SOURCES_HASH or from BINARY's sha256; REBUILD says how to fix.
provenance_check() {
    local name="$1" stamp="$2" key="$3" bin="$4" have_src="$5" rebuild="$6" rc=0
    if [ ! -f "$stamp" ] || [ ! -f "$bin" ]; then
        echo "$name: FAIL: $stamp or $bin missing" >&2
        return 1
    fi
    local want_src want_bin have_bin
    want_src="$(awk '$1=="sources"{print $2}' "$stamp")"
    want_bin="$(awk -v k="$key" '$1==k{print $2}' "$stamp")"
    have_bin="$(sha256sum < "$bin" | cut -d' ' -f1)"
    if [ "$want_src" != "$have_src" ]; then
        echo "$name: FAIL: the sources changed since $bin was built" >&2
        echo "  recorded $want_src, now $have_src" >&2
        echo "  rebuild: $rebuild" >&2
        rc=1
    fi
    if [ "$want_bin" != "$have_bin" ]; then
        echo "$name: FAIL: $bin is not the file recorded in $stamp" >&2
        echo "  recorded $want_bin, now $have_bin" >&2
        rc=1
    fi
    return $rc
}
