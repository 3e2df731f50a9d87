"""glibc's cache probe, answered from one walk of CPUID leaf 4
(runtime/src/linux/glibc_cacheinfo.h, runtime/tools/glibc_cacheinfo_patch.py;
issue 18).

The static glassrun (and glasstrace) is patched after linking so that glibc's
start-up asks glassrun's handle_intel instead of its own (12 calls, ~45 `cpuid`s, each a VM
exit here). These tests check that the built glassrun is patched, that a
patched program's glibc computes exactly what the unpatched one computes,
and that a binary of another shape is left as built."""
import shutil
import struct
import subprocess
import sys

import pytest

from conftest import BUILD, GLASSRUN, REPO

PATCH = REPO / "runtime" / "tools" / "glibc_cacheinfo_patch.py"
PROBE = BUILD / "runtime" / "cacheinfo_probe"


def patch(*args):
    return subprocess.run([sys.executable, str(PATCH), *map(str, args)], capture_output=True, text=True, timeout=60)


def static(path):
    """No PT_INTERP program header: no dynamic loader starts it."""
    elf = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    return all(struct.unpack_from("<I", elf, phoff + i * phentsize)[0] != 3 for i in range(phnum))


@pytest.mark.parametrize("binary", [GLASSRUN, BUILD / "tracer" / "glasstrace"], ids=["glassrun", "glasstrace"])
def test_the_built_binaries_have_glibcs_cache_probe_pointed_at_glassruns(binary):
    """glassrun, and glasstrace, which every traced command starts."""
    assert binary.exists(), f"{binary} not built"
    if not static(binary):
        pytest.skip(f"{binary} is linked dynamically (a sanitizer build): glibc's start-up is ld.so's, not patched")
    r = patch("--check", binary)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "patched (12 calls" in r.stdout


def test_a_patched_start_up_computes_what_glibc_computes(tmp_path):
    assert PROBE.exists(), f"{PROBE} not built"
    patched = tmp_path / "probe"
    shutil.copy(PROBE, patched)
    r = patch(patched)
    assert r.returncode == 0 and "now go to glassrun_glibc_handle_intel_entry" in r.stdout, r.stdout + r.stderr
    assert patch("--check", patched).returncode == 0
    assert patch("--check", PROBE).returncode == 1  # the control really is glibc's own
    want = subprocess.run([str(PROBE)], capture_output=True, text=True, timeout=30, check=True).stdout
    got = subprocess.run([str(patched)], capture_output=True, text=True, timeout=30, check=True).stdout
    # Not vacuous: glibc found an L1 data cache and derived its thresholds.
    assert "sysconf 188 0\n" not in want and "sysconf 188 -1\n" not in want, want
    assert got == want


def test_a_binary_of_another_shape_is_left_as_built(tmp_path):
    # glassrun-seal is static glibc too, but has no glassrun entry linked in.
    other = tmp_path / "glassrun-seal"
    shutil.copy(BUILD / "runtime" / "glassrun-seal", other)
    before = other.read_bytes()
    r = patch(other)
    assert r.returncode == 0, r.stderr  # the build goes on
    assert r.stdout.strip() == f"glibc cacheinfo: {other}: left as built: no symbol glassrun_glibc_handle_intel_entry"
    assert other.read_bytes() == before
    r = patch("--check", other)
    assert r.returncode == 1 and "left as built" in r.stdout


def test_the_entry_needs_nothing_from_libc():
    """It runs inside glibc's start-up, before IFUNCs and TLS are set up (as
    early_reexec.cpp does before it): its object file needs no symbol."""
    obj = BUILD / "runtime" / "CMakeFiles" / "glassrun_core.dir" / "src" / "linux" / "glibc_cacheinfo.cpp.o"
    assert obj.exists(), f"{obj} is not built (make build)"
    r = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [], r.stdout


def test_a_binary_that_cannot_be_read_is_one_line_and_a_failed_build(tmp_path):
    r = patch(tmp_path / "missing")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip() == f"glibc cacheinfo: {tmp_path / 'missing'}: No such file or directory"
