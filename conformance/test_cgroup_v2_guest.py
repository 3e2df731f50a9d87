"""Pure cgroup v2: boots a qemu guest (cgroup_no_v1=all) with the built
glassrun and runs tools/v2guest/checks.sh there; every check must pass.

Skipped (with the reason printed) only when qemu or a kernel image cannot be
had on this machine. GLASSRUN_BUILD names the build dir (default: build).
"""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
RUN_SH = REPO / "tools" / "v2guest" / "run.sh"
# The guest's own timeout (run.sh) plus time to build the initramfs.
GUEST_TIMEOUT = int(os.environ.get("V2GUEST_TIMEOUT", "600"))


def test_cgroup_v2_guest_checks_pass():
    env = dict(os.environ, V2GUEST_TIMEOUT=str(GUEST_TIMEOUT))
    proc = subprocess.run(
        ["bash", str(RUN_SH), str(BUILD)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=GUEST_TIMEOUT + 300,
    )
    out = proc.stdout
    print(out)
    if proc.returncode == 77:
        reason = next((l for l in out.splitlines() if l.startswith("V2GUEST SKIP")), "qemu or kernel unavailable")
        print(reason)
        pytest.skip(reason)
    lines = out.splitlines()
    failures = [l for l in lines if l.startswith("V2GUEST FAIL")]
    passes = [l for l in lines if l.startswith("V2GUEST PASS")]
    assert not failures, "\n".join(failures)
    assert proc.returncode == 0, f"run.sh exited {proc.returncode}:\n{out[-3000:]}"
    assert passes, "no check reported PASS"
    assert any(l.startswith("V2GUEST DONE") for l in lines), "guest did not finish its checks"
