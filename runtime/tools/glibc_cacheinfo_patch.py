#!/usr/bin/python3
"""Point a static glibc binary's cache probe at glassrun's (linux/glibc_cacheinfo.h).

  glibc_cacheinfo_patch.py BINARY           patch in place (the build's post-link step)
  glibc_cacheinfo_patch.py --check BINARY   exit 0 if patched, 1 if not

glibc's start-up calls its local handle_intel.constprop.0 twelve times, each
a `call rel32` shortly after `mov $NAME,%edi`, NAME one of _SC_LEVEL1_ICACHE_SIZE
(185) ... _SC_LEVEL4_CACHE_SIZE (197). The patch points exactly those twelve
calls at glassrun_glibc_handle_intel_entry and stores the original's address
in glassrun_glibc_handle_intel_original, for the cases the entry hands back.
When the binary does not have exactly that shape (another glibc, a dynamic
or sanitizer build, no entry linked in) it is left as built, with one line
saying why, and the build goes on: the patch only saves time.
"""
import re
import struct
import sys

CALLS = 12
GLIBC = "handle_intel.constprop.0"
ENTRY = "glassrun_glibc_handle_intel_entry"
ORIGINAL = "glassrun_glibc_handle_intel_original"
UNPATCHED = 0x676c61737372756e  # glibc_cacheinfo.h kUnpatched
CALL = re.compile(rb"(?=\xe8.{4})", re.S)  # call rel32, overlapping
MOV_NAME = re.compile(rb"\xbf[\xb9-\xc5]\x00\x00\x00")  # mov $185..197,%edi


class Skip(Exception):
    pass


def sections(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise Skip("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    out = []
    for i in range(shnum):
        name, typ, flags, addr, off, size, link = struct.unpack_from("<IIQQQQI", elf, shoff + i * shentsize)
        out.append({"type": typ, "flags": flags, "addr": addr, "off": off, "size": size, "link": link, "nobits": typ == 8})
    return out


def symbols(elf, secs):
    """{name: (value, size)} from .symtab (SHT_SYMTAB)."""
    symtab = next((s for s in secs if s["type"] == 2), None)
    if not symtab:
        raise Skip("no symbol table (stripped)")
    strtab = secs[symtab["link"]]
    out = {}
    for off in range(symtab["off"], symtab["off"] + symtab["size"], 24):
        name, _info, _other, _shndx, value, size = struct.unpack_from("<IBBHQQ", elf, off)
        end = elf.index(b"\0", strtab["off"] + name)
        out.setdefault(elf[strtab["off"] + name:end].decode(errors="replace"), (value, size))
    return out


def file_offset(secs, addr, length):
    for s in secs:
        if not s["nobits"] and s["addr"] and s["addr"] <= addr and addr + length <= s["addr"] + s["size"]:
            return s["off"] + addr - s["addr"]
    raise Skip(f"address {addr:#x} is in no section with file contents")


def call_sites(elf, secs, target):
    """Addresses of every `call rel32` of target in executable sections that
    a `mov $NAME,%edi` precedes closely (the compiler schedules a few moves
    between them)."""
    sites = []
    for s in secs:
        if s["type"] != 1 or not s["flags"] & 0x4:  # SHT_PROGBITS, SHF_EXECINSTR
            continue
        code = bytes(elf[s["off"]:s["off"] + s["size"]])
        for m in CALL.finditer(code):
            rel, = struct.unpack_from("<i", code, m.start() + 1)
            at = s["addr"] + m.start()
            if at + 5 + rel == target and MOV_NAME.search(code, max(0, m.start() - 32), m.start()):
                sites.append(at)
    return sites


def containing(syms, addr):
    """The smallest sized symbol that holds addr, as its name."""
    best = None
    for name, (value, size) in syms.items():
        if size and value <= addr < value + size and (best is None or size < best[1]):
            best = (name, size)
    return best[0] if best else "?"


def main(argv):
    check = argv[1:2] == ["--check"]
    paths = argv[2:] if check else argv[1:]
    if len(paths) != 1:
        sys.exit("usage: glibc_cacheinfo_patch.py [--check] BINARY")
    path = paths[0]
    try:
        return patch(path, check)
    except OSError as e:
        print(f"glibc cacheinfo: {path}: {e.strerror}", file=sys.stderr)
        return 1


def patch(path, check):
    elf = bytearray(open(path, "rb").read())
    try:
        secs = sections(elf)
        syms = symbols(elf, secs)
        for need in (GLIBC, ENTRY, ORIGINAL):
            if need not in syms:
                raise Skip(f"no symbol {need}")
        glibc, entry, var = syms[GLIBC][0], syms[ENTRY][0], syms[ORIGINAL][0]
        var_off = file_offset(secs, var, 8)
        stored, = struct.unpack_from("<Q", elf, var_off)
        patched = stored == glibc
        if not patched and stored != UNPATCHED:
            raise Skip(f"{ORIGINAL} holds {stored:#x}, neither the marker nor {GLIBC}")
        sites = call_sites(elf, secs, entry if patched else glibc)
        callers = sorted({containing(syms, site) for site in sites})
        if len(sites) != CALLS or len(callers) != 1:
            raise Skip(f"{len(sites)} `mov $NAME,%edi; call` of {GLIBC} in {', '.join(callers) or 'no function'}, "
                       f"not {CALLS} in one")
        if patched:
            print(f"glibc cacheinfo: {path}: patched ({CALLS} calls in {callers[0]})")
            return 0
        if check:
            print(f"glibc cacheinfo: {path}: not patched")
            return 1
        for site in sites:
            struct.pack_into("<i", elf, file_offset(secs, site + 1, 4), entry - (site + 5))
        struct.pack_into("<Q", elf, var_off, glibc)
        with open(path, "r+b") as f:
            f.write(elf)
        print(f"glibc cacheinfo: {path}: {CALLS} calls of {GLIBC} in {callers[0]} now go to {ENTRY}")
        return 0
    except Skip as why:
        print(f"glibc cacheinfo: {path}: left as built: {why}")
        return 1 if check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
