"""The code and data glassrun's and glasstrace's commands touch, laid out
first (runtime/hot-text.txt and tracer/hot-text.txt, written by
runtime/tools/hot_text_profile.py; linked with lld's --symbol-ordering-file,
runtime/CMakeLists.txt; issue 18).

Each page of the binary a process touches costs a page fault the first time,
~12 us on this PVM guest; the kernel maps 16 pages around each fault of code.
Laid out together, the pieces a command runs take a few such windows instead
of one each (`exec`: 192 -> 156 page faults, `run` 225 -> 184, `state` 88 -> 61;
`glasstrace --session -- CMD`: 86 -> 68 page faults of its own)."""
import subprocess

import pytest

from conftest import BUILD, GLASSRUN, REPO

GLASSTRACE = BUILD / "tracer" / "glasstrace"
TEXT_TYPES = set("tTWwi")
# binary, its list, functions its hot paths run (start-up and commands), and
# how far past the listed functions' total size they may spread: 1.3 for
# alignment padding and a few sections holding more than one of them; 1.8 for
# glasstrace, whose libbpf and libelf archives have no function sections (a
# listed function brings the text of its whole object file along).
PROGRAMS = {
    "glassrun": (GLASSRUN, REPO / "runtime" / "hot-text.txt",
                 ["glassrun_entry", "main", "_ZN8glassrun9container3runERKNS0_13CreateOptionsEbb",
                  "_ZN8glassrun9container4execERKNS0_11ExecOptionsE"], 1.3),
    "glasstrace": (GLASSTRACE, REPO / "tracer" / "hot-text.txt",
                   ["main", "_ZN8glassrun13trace_session6Client5startEiRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKSt6vectorIS7_SaIS7_EEiSE_b",
                    "_ZN8glassrun13trace_session7receiveB5cxx11EiPNS_8UniqueFdE"], 1.8),
}


def listed(hot):
    return [line.strip() for line in open(hot) if line.strip() and not line.startswith("#")]


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


@pytest.fixture(scope="module", params=sorted(PROGRAMS))
def program(request):
    """(binary, its list, names that must be listed, spread, its symbols)."""
    binary, hot, required, spread = PROGRAMS[request.param]
    assert binary.exists(), f"{binary} not built"
    if not linked_by_lld(binary):
        pytest.skip(f"{binary.name} was not linked by lld (no lld, or a sanitizer build): the default layout, as built")
    return binary, hot, required, spread, symbols(binary)


def test_the_list_names_what_the_binary_has(program):
    """A list gone stale (code renamed or moved) lays out nothing: most of its
    names must still be symbols of the binary."""
    binary, hot, _, _, syms = program
    names = listed(hot)
    assert len(names) > 300, f"{hot}: {len(names)} names"
    found = [n for n in names if n in syms]
    assert len(found) >= 0.9 * len(names), \
        f"{len(names) - len(found)} of {len(names)} names in {hot.name} are not in {binary.name}: " \
        f"run runtime/tools/hot_text_profile.py --binary {binary.name} again"


def test_the_listed_code_comes_first_and_together(program):
    binary, hot_list, required, spread, syms = program
    start, size = text_section(binary)
    hot = {n: syms[n] for n in listed(hot_list) if n in syms and syms[n][2] in TEXT_TYPES}
    total = sum(s for _, s, _ in hot.values())
    assert total < size / 2, f"the listed code is {total} of {size} bytes of text: not a hot part"
    limit = start + int(total * spread) + 16384
    outside = sorted((a, n) for n, (a, _, _) in hot.items() if a >= limit)
    assert not outside, f"{len(outside)} listed functions lie past {limit:#x} (text {start:#x}+{size:#x}, " \
                        f"listed {total} bytes): {outside[:5]}"
    # The start-up and the commands' own paths are in it.
    for name in required:
        assert name in hot, f"{name} is not in {hot_list.name}"
