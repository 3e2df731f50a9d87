"""C++ exceptions in the static executables find their unwind tables through
the binary's own search table (runtime/src/util/eh_frame_registry.cpp).

A -static link registers the whole .eh_frame with libgcc at start, and the
first exception thrown then sorts every FDE of the binary (~1.3 ms in
glassrun: most of an error's cost). glassrun and glasstrace are linked with
--eh-frame-hdr and with crtbeginT.o's registration calls wrapped into
no-ops. These tests check both, and that errors are still caught and
reported (an unwinder that found no table would abort instead)."""
import subprocess
import uuid

import pytest

from conftest import BUILD, GLASSRUN

BINARIES = [GLASSRUN, BUILD / "tracer" / "glasstrace"]


def program_headers(binary):
    return subprocess.run(["readelf", "-lW", str(binary)], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("binary", BINARIES, ids=["glassrun", "glasstrace"])
def test_static_binaries_find_unwind_tables_by_header(binary):
    assert binary.exists(), f"{binary} not built"
    headers = program_headers(binary)
    if "INTERP" in headers:
        pytest.skip(f"{binary} is linked dynamically (a sanitizer build): the loader's way already")
    assert "GNU_EH_FRAME" in headers
    # The C runtime's start-up code (frame_dummy) calls the no-op, not libgcc.
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--disassemble=frame_dummy", str(binary)],
                         capture_output=True, text=True, check=True).stdout
    calls = [line for line in dis.splitlines() if "call" in line]
    assert any("<__wrap___register_frame_info>" in c for c in calls), dis
    assert not any("<__register_frame_info>" in c for c in calls), dis


def test_errors_are_still_caught_and_reported(tmp_path):
    """Each throws inside glassrun and is caught where errors are printed."""
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "root"
    r = subprocess.run([str(GLASSRUN), "--root", str(root), "state", missing], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr == "glassrun: state: container does not exist\n", r
    r = subprocess.run([str(GLASSRUN), "--root", str(root), "delete", "--force", missing], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r
    r = subprocess.run([str(GLASSRUN), "--root", str(root), "run", "--bundle", str(tmp_path / "none"), missing],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("glassrun: run: bundle ") and "no such file" in r.stderr, r
    assert not (root / missing).exists()
