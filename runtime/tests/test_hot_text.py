"""The code and data glassrun's commands touch, laid out first
(runtime/hot-text.txt, written by runtime/tools/hot_text_profile.py; linked
with lld's --symbol-ordering-file, runtime/CMakeLists.txt; issue 18).

Each page of the binary a process touches costs a page fault the first time,
~12 us on this PVM guest; the kernel maps 16 pages around each fault of code.
Laid out together, the pieces a command runs take a few such windows instead
of one each (`exec`: 192 -> 156 page faults, `run` 225 -> 184, `state` 88 -> 61)."""
import subprocess

import pytest

from conftest import GLASSRUN, REPO

HOT = REPO / "runtime" / "hot-text.txt"
TEXT_TYPES = set("tTWwi")


def listed():
    return [line.strip() for line in open(HOT) if line.strip() and not line.startswith("#")]


def symbols(binary):
    """name -> (address, size, nm type) of every defined symbol."""
    out = subprocess.run(["nm", "-S", "--defined-only", str(binary)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms.setdefault(f[3], (int(f[0], 16), int(f[1], 16), f[2]))
    return syms


def text_section(binary):
    out = subprocess.run(["readelf", "-SW", str(binary)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 5 and f[1] == ".text":
            return int(f[3], 16), int(f[5], 16)
    raise AssertionError(f"no .text in {binary}")


def linked_by_lld(binary):
    out = subprocess.run(["readelf", "-p", ".comment", str(binary)], capture_output=True, text=True).stdout
    return "LLD" in out


@pytest.fixture(scope="module")
def glassrun_syms():
    assert GLASSRUN.exists(), f"{GLASSRUN} not built"
    if not linked_by_lld(GLASSRUN):
        pytest.skip("glassrun was not linked by lld (no lld, or a sanitizer build): the default layout, as built")
    return symbols(GLASSRUN)


def test_the_list_names_what_the_binary_has(glassrun_syms):
    """A list gone stale (code renamed or moved) lays out nothing: most of its
    names must still be symbols of the binary."""
    names = listed()
    assert len(names) > 300, f"{HOT}: {len(names)} names"
    found = [n for n in names if n in glassrun_syms]
    assert len(found) >= 0.9 * len(names), \
        f"{len(names) - len(found)} of {len(names)} names in {HOT.name} are not in glassrun: " \
        "run runtime/tools/hot_text_profile.py again"


def test_the_listed_code_comes_first_and_together(glassrun_syms):
    start, size = text_section(GLASSRUN)
    hot = {n: glassrun_syms[n] for n in listed() if n in glassrun_syms and glassrun_syms[n][2] in TEXT_TYPES}
    total = sum(s for _, s, _ in hot.values())
    assert total < size / 2, f"the listed code is {total} of {size} bytes of text: not a hot part"
    # Room for the alignment padding between functions and for a few sections
    # holding more than one listed function.
    limit = start + int(total * 1.3) + 16384
    outside = sorted((a, n) for n, (a, _, _) in hot.items() if a >= limit)
    assert not outside, f"{len(outside)} listed functions lie past {limit:#x} (text {start:#x}+{size:#x}, " \
                        f"listed {total} bytes): {outside[:5]}"
    # The start-up and the commands' own paths are in it.
    for name in ["glassrun_entry", "main", "_ZN8glassrun9container3runERKNS0_13CreateOptionsEbb",
                 "_ZN8glassrun9container4execERKNS0_11ExecOptionsE"]:
        assert name in hot, f"{name} is not in {HOT.name}"
