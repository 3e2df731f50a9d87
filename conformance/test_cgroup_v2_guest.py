"""Pure cgroup v2: boots a qemu guest (cgroup_no_v1=all) carrying the built
glassrun and Debian's runc, runs tools/v2guest/checks.sh there once, then
checks which named guest checks passed and compares, with the same code as
the host's checks (checks.py), what runc and glassrun left in the guest:
`state`, state.json and the cgroup paths.

Skipped (with the reason printed) only when qemu or a kernel image cannot be
had on this machine. GLASSRUN_BUILD names the build dir (default: build).
"""
import json
import os
import pathlib
import subprocess

import pytest

import checks
import rtlib

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
RUN_SH = REPO / "tools" / "v2guest" / "run.sh"
# The guest's own timeout (run.sh) plus time to build the initramfs.
GUEST_TIMEOUT = int(os.environ.get("V2GUEST_TIMEOUT", "600"))
# Every check checks.sh runs by default: each must print PASS.
NAMED_CHECKS = ["pure_v2", "glassrun_version", "cgroup_unit_tests", "lifecycle", "limits", "memory_limit",
                "pids_limit", "cpu_limit", "device_program", "freeze_thaw", "delete",
                "reference_runc", "dump_runc", "dump_glassrun"]
BUNDLE = "v2-guest"


@pytest.fixture(scope="module")
def guest():
    env = dict(os.environ, V2GUEST_TIMEOUT=str(GUEST_TIMEOUT))
    proc = subprocess.run(["bash", str(RUN_SH), str(BUILD)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, timeout=GUEST_TIMEOUT + 300)
    out = proc.stdout
    if proc.returncode == 77:
        reason = next((l for l in out.splitlines() if l.startswith("V2GUEST SKIP")), "qemu or kernel unavailable")
        pytest.skip(reason)
    return proc.returncode, out


def guest_data(out):
    """runtime -> {"state": doc, "state_json": doc, "cgroup": [lines]} from the DATA lines."""
    data = {}
    for line in out.splitlines():
        if not line.startswith("V2GUEST DATA "):
            continue
        rt, what, rest = (line[len("V2GUEST DATA "):].split(" ", 2) + ["", ""])[:3]
        data.setdefault(rt, {})[what] = rest.split() if what == "cgroup" else json.loads(rest)
    return data


def result(data, rt):
    d = data.get(rt) or {}
    if "state" not in d or "state_json" not in d:
        pytest.fail(f"the guest printed no state/state.json of {rt} (see the dump_{rt} check)")
    return rtlib.RunResult(rt, BUNDLE, cid="cmp", bundle_dir=f"/tmp/b-cmp-{rt}", states={"created": d["state"]},
                           state_json=d["state_json"])


def test_v2_guest_named_checks_pass(guest):
    rc, out = guest
    lines = out.splitlines()
    print("\n".join(l for l in lines if not l.startswith("V2GUEST DATA")))
    passed = {l.split()[2] for l in lines if l.startswith("V2GUEST PASS ")}
    failures = [l for l in lines if l.startswith("V2GUEST FAIL")]
    assert not failures, "\n".join(failures)
    missing = [c for c in NAMED_CHECKS if c not in passed]
    assert not missing, f"guest checks that did not pass (did not run): {missing}"
    assert any(l.startswith("V2GUEST DONE") for l in lines), "guest did not finish its checks"
    assert rc == 0, f"run.sh exited {rc}:\n{out[-3000:]}"


def test_v2_state_against_runc(guest, accepted):
    data = guest_data(guest[1])
    ref, res = result(data, "runc"), result(data, "glassrun")
    assert res.states["created"].get("status") == "created", res.states["created"]
    diffs = checks.state_diffs("glassrun", ref.states, res.states, bundle=BUNDLE)
    rtlib.assert_no_unaccepted(diffs, accepted, ("state", "glassrun", BUNDLE))


def test_v2_state_json_against_runc(guest, accepted):
    data = guest_data(guest[1])
    diffs = checks.state_json_diffs("glassrun", BUNDLE, result(data, "runc"), result(data, "glassrun"))
    diffs = [d for d in diffs if not d.key.startswith("cgroup_paths")]
    rtlib.assert_no_unaccepted(diffs, accepted, ("state_json", "glassrun", BUNDLE))


def test_v2_cgroup_paths_against_runc(guest, accepted):
    """state.json's cgroup_paths and the init's /proc/PID/cgroup."""
    data = guest_data(guest[1])
    ref, res = result(data, "runc"), result(data, "glassrun")
    assert checks.state_json_doc(ref)["cgroup_paths"], f"runc's state.json has no cgroup_paths: {ref.state_json}"
    diffs = [d for d in checks.state_json_diffs("glassrun", BUNDLE, ref, res) if d.key.startswith("cgroup_paths")]
    diffs += rtlib.compare_sequences("state_json", "glassrun", BUNDLE, data["runc"].get("cgroup", []),
                                     data["glassrun"].get("cgroup", []), prefix="proc_cgroup:")
    rtlib.assert_no_unaccepted(diffs, accepted, ("state_json", "glassrun", BUNDLE))
