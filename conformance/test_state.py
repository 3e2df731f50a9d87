"""Checks 1 and 2: `state` through the lifecycle, and <root>/<id>/state.json,
compared with runc."""
import json
import pathlib
import subprocess

import pytest

import catalogue
import rtlib
from conftest import apply_xfail, result_or_fail

STEPS = ["created", "running", "paused", "running-again", "stopped"]


def lifecycle(rt, root):
    """create → start → pause → resume → kill → (stopped); `state` at each step."""
    cid = rtlib.unique_id(rt.name, "lifecycle")
    bdir = rtlib.bundle_from_template(root.parent, root.parent / f"lc-{rt.name}", ["sleep", "1000"])
    states = {}
    try:
        for step, cmd in (("created", ["create", "--bundle", bdir, cid]), ("running", ["start", cid]),
                          ("paused", ["pause", cid]), ("running-again", ["resume", cid]),
                          ("stopped", ["kill", cid, "KILL"])):
            # the container inherits create's stdio: no pipes, or run() waits for it
            errf = root.parent / f"{cid}.{step}.err"
            with open(errf, "w") as ef:
                p = rtlib._run(rt.cmd(root, *cmd), capture_output=False, stdout=subprocess.DEVNULL, stderr=ef)
            if p.returncode != 0:
                msg = errf.read_text().strip()
                if "not implemented" in msg.lower() or "unknown" in msg.lower():
                    pytest.xfail(f"{rt.name} {cmd[0]}: {msg}")
                raise AssertionError(f"{rt.name} {' '.join(map(str, cmd))} exited {p.returncode}: {msg}")
            want = "running" if step == "running-again" else step
            states[step] = rtlib.wait_status(rt, root, cid, want)
        p = rtlib._run(rt.cmd(root, "delete", cid))
        assert p.returncode == 0, f"{rt.name} delete: {p.stderr}"
        assert not (root / cid).exists(), f"{rt.name} left {root / cid} after delete"
    finally:
        rtlib.force_delete(rt, root, cid)
    return states


@pytest.fixture(scope="session")
def lifecycles(runner):
    cache = {}

    def get(name):
        if name not in cache:
            rt = runner.rt(name)
            cache[name] = lifecycle(rt, runner.root(name))
        return cache[name]
    return get


def test_state_lifecycle(lifecycles, accepted, runtime_name):
    states = lifecycles(runtime_name)
    for step in STEPS:
        want = "running" if step == "running-again" else step
        assert states[step].get("status") == want, f"{runtime_name} after {step}: {states[step]}"
    if runtime_name == rtlib.REFERENCE:
        return
    ref = lifecycles(rtlib.REFERENCE)
    diffs = []
    for step in STEPS:
        a = {"keys": sorted(ref[step]), "status": ref[step].get("status")}
        b = {"keys": sorted(states[step]), "status": states[step].get("status")}
        diffs += rtlib.compare_docs("state", runtime_name, "lifecycle", {step: a}, {step: b})
    rtlib.assert_no_unaccepted(diffs, accepted)


# ---- state.json --------------------------------------------------------------
CONFIG_FIELDS = ["rootfs", "hostname", "namespaces", "mounts", "mask_paths", "readonly_paths", "capabilities"]
MOUNT_FIELDS = ["destination", "device", "flags", "data"]


def state_json_doc(res):
    sj = res.state_json
    doc = {"top_level": {k: type(v).__name__ for k, v in sj.items()}}
    doc["cgroup_paths"] = rtlib.norm_value(sj.get("cgroup_paths"), res)
    ns = sj.get("namespace_paths") or {}
    doc["namespace_paths"] = rtlib.norm_value(ns, res)
    cfg = sj.get("config") or {}
    c = {}
    for f in CONFIG_FIELDS:
        v = cfg.get(f)
        if f == "mounts" and isinstance(v, list):
            v = [{k: m.get(k) for k in MOUNT_FIELDS} for m in v]
        c[f] = rtlib.norm_value(v, res)
    doc["config"] = c
    return doc


@pytest.mark.parametrize("bundle_name", ["default", "hooks", "ns-cgroup-new", "ns-ipc-joined", "mount-bind-ro",
                                         "masked-readonly-paths", "process-capabilities", "hostname-domainname"])
def test_state_json(request, runner, accepted, runtime_name, bundle_name):
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    if res.state_json is None:
        if runtime_name not in ("runc", "glassrun"):
            pytest.skip(f"{runtime_name} keeps no runc-style state.json under its --root")
        raise AssertionError(f"{runtime_name}: no {res.cid}/state.json under its root after create")
    doc = state_json_doc(res)
    assert doc["namespace_paths"], f"{runtime_name}: state.json has no namespace_paths"
    if runtime_name == rtlib.REFERENCE:
        return
    ref = state_json_doc(result_or_fail(runner, rtlib.REFERENCE, bundle_name))
    diffs = rtlib.compare_docs("state_json", runtime_name, bundle_name, ref, doc)
    rtlib.assert_no_unaccepted(diffs, accepted, catalogue.BUGS, ("state_json", runtime_name, bundle_name))


@pytest.mark.parametrize("bundle_name", ["default"])
def test_state_created(runner, accepted, runtime_name, bundle_name):
    """`state` of a created container: same keys and status as runc's."""
    res = result_or_fail(runner, runtime_name, bundle_name)
    st = res.states["created"]
    assert st.get("status") == "created", st
    assert st.get("id") == res.cid, st
    if runtime_name == rtlib.REFERENCE:
        return
    ref = result_or_fail(runner, rtlib.REFERENCE, bundle_name).states["created"]
    diffs = rtlib.compare_docs("state", runtime_name, bundle_name, {"keys": sorted(ref)}, {"keys": sorted(st)})
    rtlib.assert_no_unaccepted(diffs, accepted)
