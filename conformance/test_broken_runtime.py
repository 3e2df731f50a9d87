"""The suite must be able to fail: run tools/broken-runtime (glassrun with
the hostname dropped and two mounts swapped) through the comparison
functions and check those differences ARE reported."""
import pathlib

import pytest

import rtlib

BROKEN = rtlib.REPO / "tools" / "broken-runtime"


def test_broken_runtime_differences_are_reported(runner, accepted):
    real = runner.rt("glassrun")
    runner.rt(rtlib.REFERENCE)
    broken = rtlib.Runtime("glassrun", str(BROKEN), version="broken")
    import os
    os.environ["GLASSRUN"] = real.path
    res = runner.get("glassrun", "default", rt=broken)
    assert not res.error, res.error
    ref = runner.get(rtlib.REFERENCE, "default")
    diffs = rtlib.compare_docs("behaviour", "glassrun", "default", rtlib.behaviour_doc(ref), rtlib.behaviour_doc(res))
    rtlib.accept(diffs, accepted)
    bad = {d.key for d in diffs if not d.accepted}
    assert "hostname" in bad, f"dropped hostname not reported: {bad}"
    assert any(k.startswith("mountinfo:") and "/dev/mqueue" in k for k in bad) or \
        any(k.startswith("mountinfo:") and "/dev/shm" in k for k in bad), f"swapped mounts not reported: {bad}"
    # and the suite's assertion does fail with a side-by-side diff
    with pytest.raises(AssertionError, match="hostname"):
        rtlib.assert_no_unaccepted(diffs, accepted)
