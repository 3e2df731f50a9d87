"""Checks 1 and 2: `state` through the lifecycle, and <root>/<id>/state.json,
compared with runc."""
import pytest

import catalogue
import checks
import rtlib
from checks import STEPS
from conftest import apply_xfail, result_or_fail


def test_state_lifecycle(lifecycles, accepted, runtime_name):
    states = lifecycles(runtime_name)
    if runtime_name == rtlib.REFERENCE:
        for step in STEPS:
            want = "running" if step == "running-again" else step
            assert states[step].get("status") == want, f"{runtime_name} after {step}: {states[step]}"
        return
    # a wrong status is a difference from runc's, named state.<step>.status
    ref = lifecycles(rtlib.REFERENCE)
    diffs = checks.state_diffs(runtime_name, ref, states)
    rtlib.assert_no_unaccepted(diffs, accepted, ("state", runtime_name, "lifecycle"))


# ---- state.json --------------------------------------------------------------
@pytest.mark.parametrize("bundle_name", ["default", "hooks", "ns-cgroup-new", "ns-ipc-joined", "mount-bind-ro",
                                         "masked-readonly-paths", "process-capabilities", "hostname-domainname",
                                         "ns-user-mapped", "mount-idmapped", "ns-pid-joined", "ns-cgroup-joined",
                                         "ns-mount-absent", "ns-user-joined", "seccomp-notify"])
def test_state_json(request, runner, accepted, runtime_name, bundle_name):
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    if res.state_json is None:
        if runtime_name not in ("runc", "glassrun"):
            pytest.skip(f"{runtime_name} keeps no runc-style state.json under its --root")
        raise AssertionError(f"{runtime_name}: no {res.cid}/state.json under its root after create")
    doc = checks.state_json_doc(res)
    assert doc["namespace_paths"], f"{runtime_name}: state.json has no namespace_paths"
    if runtime_name == rtlib.REFERENCE:
        return
    ref = result_or_fail(runner, rtlib.REFERENCE, bundle_name)
    diffs = checks.state_json_diffs(runtime_name, bundle_name, ref, res)
    rtlib.assert_no_unaccepted(diffs, accepted, ("state_json", runtime_name, bundle_name), catalogue.BUGS)


@pytest.mark.parametrize("bundle_name", ["default", "ns-mount-absent", "ns-user-joined", "seccomp-notify"])
def test_state_created(request, runner, accepted, runtime_name, bundle_name):
    """`state` of a created container: same keys and status as runc's."""
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    st = res.states["created"]
    assert st.get("status") == "created", st
    assert st.get("id") == res.cid, st
    if runtime_name == rtlib.REFERENCE:
        return
    ref = result_or_fail(runner, rtlib.REFERENCE, bundle_name).states["created"]
    diffs = rtlib.compare_docs("state", runtime_name, bundle_name, {"keys": sorted(ref)}, {"keys": sorted(st)})
    rtlib.assert_no_unaccepted(diffs, accepted, ("state", runtime_name, bundle_name))
