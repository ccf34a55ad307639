#!/usr/bin/env python3
"""Lists the entries of a CUDA fatbin (kind, arch, sizes, compression) without cuobjdump.

Usage: native/fatbin_list.py FILE [--require-elf 80,86,89,90] [--require-ptx 90]
Exits 1 when a required SASS or PTX arch is missing. Layout (reverse-engineered, stable since
CUDA 4): a 16-byte header (magic 0xBA55ED50, version, header size, payload size) followed by
entries, each with a header of: kind u16 (1 PTX, 2 ELF), version u16, header size u32, padded
payload size u64, ..., compute arch u32 at offset 28, flags u64 at offset 40, uncompressed size
u64 at offset 56."""
import struct
import sys


def entries(data):
    off = 0
    while off + 16 <= len(data):
        magic, ver, hsize, fsize = struct.unpack_from("<IHHQ", data, off)
        if magic != 0xBA55ED50:
            break
        pos, end = off + hsize, off + hsize + fsize
        while pos < end:
            kind, ever, ehsize, padded = struct.unpack_from("<HHIQ", data, pos)
            arch = struct.unpack_from("<I", data, pos + 28)[0]
            flags = struct.unpack_from("<Q", data, pos + 40)[0] if ehsize >= 48 else 0
            unc = struct.unpack_from("<Q", data, pos + 56)[0] if ehsize >= 64 else 0
            yield {"kind": {1: "ptx", 2: "elf"}.get(kind, str(kind)), "arch": arch,
                   "size": padded, "flags": flags, "uncompressed": unc}
            pos += ehsize + padded
        off = end


def main():
    path = sys.argv[1]
    req = {"elf": set(), "ptx": set()}
    args = sys.argv[2:]
    for i, a in enumerate(args):
        if a in ("--require-elf", "--require-ptx"):
            req[a[10:]] = {int(x) for x in args[i + 1].split(",")}
    data = open(path, "rb").read()
    found = {"elf": set(), "ptx": set()}
    print(f"{path}: {len(data)} bytes")
    for e in entries(data):
        found.setdefault(e["kind"], set()).add(e["arch"])
        comp = e["uncompressed"] if e["uncompressed"] else e["size"]
        print(f"  {e['kind']:4s} sm_{e['arch']:<3d} stored {e['size']:8d} B"
              f"  uncompressed {comp:8d} B  flags 0x{e['flags']:x}")
    bad = [f"{k} sm_{a}" for k in req for a in sorted(req[k]) if a not in found.get(k, set())]
    if bad:
        print("MISSING: " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
