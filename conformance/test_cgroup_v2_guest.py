"""Pure cgroup v2: boots a qemu guest (cgroup_no_v1=all) carrying the built
glassrun and Debian's runc, runs tools/v2guest/checks.sh there once, then
checks which named guest checks passed and compares, with the same code as
the host's checks (checks.py), what runc and glassrun left in the guest:
`state`, state.json and the cgroup paths; and, by JSON path, `events --stats`
and `events --interval` of a container with limits, and what `update` wrote.

Skipped (with the reason printed) only when qemu or a kernel image cannot be
had on this machine. GLASSRUN_BUILD names the build dir (default: build).
"""
import fnmatch
import json
import os
import pathlib
import re
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
                "reference_runc", "dump_runc", "dump_glassrun", "stats_runc", "stats_glassrun"]
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


# ---- events --stats / --interval and update (checks.sh's stats_for) ----------------------

# What the guest printed of each runtime, in order: the stats before any
# update, the first --interval line, then after each update step.
STATS_STEPS = ["stats", "interval", "stats_limits"]
UPDATE_STEPS = ["update_none", "update_limits", "update_invalid", "update_unlimited"]

# Paths (list indices as []) whose values are usage counters: two containers
# doing the same thing under emulation still differ in CPU time, kernel memory
# and page-fault counts, so only their type is compared. Everything else
# (limits, cpuset, pids, the io entries of the one dd, hugetlb page sizes,
# event type and id) must be equal. runc 1.1.5 reads no cpuset stats on v2
# (cpuset is all zeros, without cpus/mems lists) and no PSI: equal means the
# same here; the cpuset lists update writes are compared as files below.
COUNTER_VALUES = ["data.cpu.usage.*", "data.cpu.throttling.*", "data.memory.cache", "data.memory.usage.usage",
                  "data.memory.swap.usage", "data.memory.raw.*"]
# Go leaves a zero counter out (omitempty): whether the throttling counters are
# there depends on whether the quota bit while the container ran, which is
# timing. One side may lack them, but only under runc's names (types.Throttling).
COUNTER_PRESENCE = {"data.cpu.throttling": {"periods", "throttledPeriods", "throttledTime"}}


def matches(path, patterns):
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def json_diffs(ref, got, path=""):
    """Differences of got from ref (runc's), each naming its JSON path: keys
    missing or extra, key order, types, and values outside COUNTER_VALUES."""
    where = path or "(top)"
    if isinstance(ref, dict) and isinstance(got, dict):
        diffs = []
        may_lack = COUNTER_PRESENCE.get(path, set())
        for k in ref:
            if k not in got and k not in may_lack:
                diffs.append(f"{where}: glassrun has no {k!r} (runc: {json.dumps(ref[k])[:80]})")
        for k in got:
            if k not in ref and k not in may_lack:
                diffs.append(f"{where}: glassrun has {k!r} that runc has not ({json.dumps(got[k])[:80]})")
        common = [k for k in ref if k in got]
        if common != [k for k in got if k in ref]:
            diffs.append(f"{where}: key order {[k for k in got if k in ref]}, runc's {common}")
        for k in common:
            diffs += json_diffs(ref[k], got[k], f"{path}.{k}".lstrip("."))
        return diffs
    if isinstance(ref, list) and isinstance(got, list):
        diffs = [] if len(ref) == len(got) else [f"{where}: {len(got)} entries, runc {len(ref)}"]
        for r, g in zip(ref, got):
            diffs += json_diffs(r, g, f"{path}[]")
        return diffs
    if type(ref) is not type(got):
        return [f"{where}: {type(got).__name__} {json.dumps(got)[:80]}, runc {type(ref).__name__} {json.dumps(ref)[:80]}"]
    if ref != got and not matches(path, COUNTER_VALUES):
        return [f"{where}: {json.dumps(got)[:80]}, runc {json.dumps(ref)[:80]}"]
    return []


def stats_data(guest):
    data = guest_data(guest[1])
    for rt in ("runc", "glassrun"):
        missing = [s for s in STATS_STEPS + UPDATE_STEPS if s not in data.get(rt, {})]
        if missing:
            pytest.fail(f"the guest printed no {missing} of {rt} (see the stats_{rt} check)")
    return data["runc"], data["glassrun"]


def test_json_diffs_names_each_difference_by_path():
    """The comparison itself: it finds what the v2 stats once got wrong."""
    ref = {"data": {"cpu": {"throttling": {"periods": 3, "throttledPeriods": 1}},
                    "memory": {"usage": {"limit": 64, "usage": 5, "failcnt": 0}},
                    "blkio": {"ioServicedRecursive": [{"major": 1, "op": "Read", "value": 64}]}}}
    got = {"data": {"cpu": {"throttling": {"periods": 4, "throttled_periods": 1}},
                    "memory": {"usage": {"limit": 32, "usage": 7, "max": 9, "failcnt": 0}},
                    "blkio": {"ioServicedRecursive": [{"major": 1, "value": 64, "op": "Read"}]}}}
    assert json_diffs(ref, got) == [
        "data.cpu.throttling: glassrun has 'throttled_periods' that runc has not (1)",
        "data.memory.usage: glassrun has 'max' that runc has not (9)",
        "data.memory.usage.limit: 32, runc 64",
        "data.blkio.ioServicedRecursive[]: key order ['major', 'value', 'op'], runc's ['major', 'op', 'value']",
    ]
    assert json_diffs(ref, ref) == []


def test_v2_events_stats_against_runc(guest):
    """`events --stats`, the first `events --interval` line, and the stats after
    an update: glassrun's JSON against runc's, path by path."""
    runc, glassrun = stats_data(guest)
    # The reference saw what the container was given: the comparison below is
    # of a cgroup with limits and io, not of empty objects.
    first = runc["stats"]["data"]
    assert (first["memory"]["usage"]["limit"], first["pids"]["limit"]) == (64 << 20, 32), first
    assert first["blkio"].get("ioServiceBytesRecursive"), f"runc saw no io on /dev/ram0: {first['blkio']}"
    assert runc["stats_limits"]["data"]["pids"]["limit"] == 48, runc["stats_limits"]
    diffs = {step: json_diffs(runc[step], glassrun[step]) for step in STATS_STEPS}
    compared = {step: len(json.dumps(runc[step])) for step in STATS_STEPS}
    print(f"compared events JSON of runc and glassrun (bytes of runc's): {compared}")
    assert not any(diffs.values()), "\n".join(f"{step}: {d}" for step, ds in diffs.items() for d in ds)


def test_v2_update_against_runc(guest):
    """update --cpuset-cpus/--cpuset-mems/--memory/--memory-swap/--pids-limit/
    --cpu-quota; then swap below memory (refused); then --memory -1 with
    --pids-limit -1: exit code and the cgroup files after each as runc leaves
    them; stderr empty where runc's is, and on the refusal glassrun's one line
    carries runc's error message (runc's is a logrus line with a time)."""
    runc, glassrun = stats_data(guest)
    files = runc["update_limits"]["files"]
    assert (files["cpuset.cpus"], files["memory.max"], files["pids.max"]) == ("1", str(96 << 20), "48"), files
    assert runc["update_invalid"]["rc"] != 0, runc["update_invalid"]
    for step in UPDATE_STEPS:
        ref, got = runc[step], glassrun[step]
        assert (got["rc"], got["files"]) == (ref["rc"], ref["files"]), f"{step}: glassrun {got}, runc {ref}"
        if ref["rc"] == 0:
            assert got["stderr"] == ref["stderr"] == "", f"{step}: glassrun {got}, runc {ref}"
        else:
            errors = re.findall(r'level=error msg="([^"]*)"', ref["stderr"])
            assert errors and all(e in got["stderr"] for e in errors), f"{step}: glassrun {got}, runc {ref}"
