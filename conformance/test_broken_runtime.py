"""The suite must be able to fail: run tools/broken-runtime (glassrun with
the hostname dropped and two mounts swapped) through the behaviour check's
comparison and check those differences ARE reported. (Each check failing on
its own: test_planted_defects.py.)"""
import os

import pytest

import checks
import rtlib

BROKEN = rtlib.REPO / "tools" / "broken-runtime"


def test_broken_runtime_differences_are_reported(runner):
    real = runner.rt("glassrun")
    runner.rt(rtlib.REFERENCE)
    broken = rtlib.Runtime("glassrun", str(BROKEN), version="broken")
    os.environ["GLASSRUN"] = real.path
    res = runner.get("glassrun", "default", rt=broken)
    assert not res.error, res.error
    ref = runner.get(rtlib.REFERENCE, "default")
    # a fresh copy of the entries: this run must not count as using one
    entries = rtlib.load_accepted()
    diffs = checks.behaviour_diffs("glassrun", "default", ref, res)
    bad = {d.key for d in rtlib.unaccepted(diffs, entries)}
    assert "hostname" in bad, f"dropped hostname not reported: {bad}"
    assert any(k.startswith("mountinfo:") and "/dev/mqueue" in k for k in bad) or \
        any(k.startswith("mountinfo:") and "/dev/shm" in k for k in bad), f"swapped mounts not reported: {bad}"
    # and the check's assertion does fail, naming the field first
    with pytest.raises(AssertionError, match=r"^\d+ difference\(s\) from runc .*behaviour\.hostname"):
        rtlib.assert_no_unaccepted(diffs, entries, ("selftest", "broken-runtime", "default"))
