"""Check 3 (issue 5): syscall order, from glasstrace traces.

How the traces are taken: conformance/tracing.py.

What is checked:

- test_milestone_order: the milestone sequence of `create` of glassrun and
  crun against runc's, compared by glasstrace alone (`glasstrace diff
  --changes`, tracer/src/compare.cpp, tested in tracer/tests/compare_test.cpp):
  it normalises (per-run paths and ids given as tokens, fd and pid numbers,
  random suffixes, cgroup v1 controller order, runc's second bounding-set
  pass, masks through an O_PATH fd of /dev/null), aligns, and names each
  differing step moved, absent or extra with its step number. The check
  applies the entries of check "milestones" in accepted_differences.toml
  (checks.milestone_diffs); any change not accepted fails with glasstrace's
  side-by-side and the first divergent step, and goes to the suite's report
  (rtlib.COLLECTOR).
- test_ordering_rule: the runtime-spec's ordering rules on every runtime
  (trace_rules.RULES). The hooks bundle is the catalogue's with each hook
  replaced by its own /bin/sh script NAME.sh (startContainer's inside the
  rootfs), found in the traces by its exec event. A rule whose moments are
  not in a runtime's traces is skipped with the reason.
- test_rule_* (no runtime): each rule on hand-made event lists, each shown
  to fail.

Bundles: default, hooks, seccomp-mkdir-eperm, ns-user-mapped,
mount-idmapped (the session's directories are 0711 so the mapped root can
reach the rootfs), ns-mount-absent (create runs in a private mount namespace,
catalogue.WRAP), ns-user-joined and seccomp-notify; runc and glassrun must run
each (or xfail strictly on a known glassrun bug), another runtime that cannot
is skipped with its error."""
from __future__ import annotations

import pytest

import checks
import rtlib
import trace_rules as tr

BUNDLES = ["default", "hooks", "seccomp-mkdir-eperm", "ns-user-mapped", "mount-idmapped", "ns-mount-absent",
           "ns-user-joined", "seccomp-notify"]
CHECK = "milestones"

# (runtime, bundle[, rule]) -> reason: known glassrun bugs, strict xfail.
XFAIL_ORDER: dict[tuple, str] = {}
XFAIL_RULE: dict[tuple, str] = {
    ("runc", "hooks", "poststart"): "runc 1.1.5 runs poststart hooks during `create`, before `start` and the user "
                                    "execve (opencontainers/runc#1710; moved to `start` by runc PR #5186)",
    ("crun", "hooks", "poststart"): "crun 1.8.1 runs poststart hooks in `start` right after releasing the container, "
                                    "without waiting for its execve (containers/crun#1562)",
}


def traced_or_skip(tracer, rt_name, bundle):
    res = tracer.get(rt_name, bundle)
    if res.error:
        # runc (the reference) and glassrun must run every bundle here
        if rt_name not in ("glassrun", rtlib.REFERENCE):
            pytest.skip(f"{rt_name} cannot be traced on bundle {bundle} here: {res.error[:400]}")
        raise AssertionError(f"{rt_name} / {bundle}: {res.error}")
    return res


# --------------------------------------------------------------------------
# 2. the milestone sequence against runc's

@pytest.mark.parametrize("bundle_name", BUNDLES)
def test_milestone_order(request, tracer, accepted, runtime_name, bundle_name):
    if runtime_name == rtlib.REFERENCE:
        res = traced_or_skip(tracer, runtime_name, bundle_name)
        assert res.create_ms, f"runc: no milestones in the trace of create ({bundle_name})"
        return
    reason = XFAIL_ORDER.get((runtime_name, bundle_name))
    if reason:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    ref = tracer.get(rtlib.REFERENCE, bundle_name)
    if ref.error:
        pytest.skip(f"the runc reference cannot be traced on {bundle_name}: {ref.error[:400]}")
    res = traced_or_skip(tracer, runtime_name, bundle_name)
    diffs = checks.milestone_diffs(runtime_name, bundle_name, ref, res)
    note = checks.first_divergence(rtlib.unaccepted(list(diffs), accepted))
    rtlib.assert_no_unaccepted(diffs, accepted, (CHECK, runtime_name, bundle_name),
                               note=f"first divergent step (glasstrace diff): {note}" if note else None)


# --------------------------------------------------------------------------
# 3. the runtime-spec's ordering rules, on every runtime

COMMON = ["exec_after_start", "capabilities", "seccomp"]
RULE_CASES = ([("hooks", r) for r in list(tr.HOOK_RULES) + COMMON]
              + [(b, r) for b in ("default", "seccomp-mkdir-eperm", "ns-user-mapped", "ns-mount-absent",
                                  "ns-user-joined", "seccomp-notify") for r in COMMON])
RULE_CASES = sorted(RULE_CASES, key=lambda c: (BUNDLES.index(c[0]), list(tr.RULES).index(c[1])))


@pytest.mark.parametrize("bundle_name,rule", RULE_CASES)
def test_ordering_rule(request, tracer, runtime_name, bundle_name, rule):
    # a runtime that cannot run the bundle (XFAIL_ORDER) cannot be checked either
    reason = XFAIL_RULE.get((runtime_name, bundle_name, rule)) or XFAIL_ORDER.get((runtime_name, bundle_name))
    if reason:
        # crun's is a race (hook vs. the init's execve): not strict
        request.node.add_marker(pytest.mark.xfail(strict=runtime_name != "crun", reason=reason))
    res = traced_or_skip(tracer, runtime_name, bundle_name)
    tl = res.timeline()
    try:
        bad = tr.check(rule, tl, res.cfg)
    except tr.CannotCheck as e:
        pytest.skip(f"{runtime_name} / {bundle_name}: rule {rule} cannot be checked: {e}")
    assert bad is None, f"{runtime_name} / {bundle_name}: {tr.RULES[rule].__doc__.strip()}\n  violated: {bad}"


# --------------------------------------------------------------------------
# unit tests of trace_rules on hand-made events

def sc(name, ts, pid=10, ret=0, dur=10, **decoded):
    return {"v": 1, "type": "syscall", "name": name, "ts": ts, "pid": pid, "tid": pid, "ns_pid": 1,
            "decoded": decoded, "ret": ret, "dur_ns": dur, "complete": True}


def ex(ts, pid, argv, filename=None, ns_pid=1):
    return {"v": 1, "type": "exec", "ts": ts, "pid": pid, "tid": pid, "ns_pid": ns_pid,
            "filename": filename or argv[0], "argv": argv}


def ms(kind, detail, ts, pid=10):
    return {"kind": kind, "detail": detail, "syscall": "", "count": 1, "pid": pid, "tid": pid, "ns_pid": 1, "ts": ts}


CFG = {"process": {"args": ["sh", "-c", "x"]}, "mounts": [{"destination": "/proc"}, {"destination": "/dev"}],
       "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}


def good_world():
    """A container set up in the order the runtime-spec asks."""
    create_ms = [ms("ns.create", "mnt,pid", 100, pid=9), ms("mount", "/proc (proc)", 200), ms("mount", "/dev (tmpfs)", 210),
                 ms("pivot_root", "/", 400), ms("mask", "/proc/kcore", 410), ms("capset", "effective=3", 500),
                 ms("seccomp", "filter", 600), ms("exec", "/bin/sh sh -c x", 1000)]
    create_ev = [ex(50, 9, ["glassrun", "create"], ns_pid=9),
                 ex(150, 20, ["/bin/sh", "/h/prestart.sh"], "/h/prestart.sh", ns_pid=20),
                 ex(160, 21, ["/bin/sh", "/h/createRuntime.sh"], "/h/createRuntime.sh", ns_pid=21),
                 ex(300, 22, ["/bin/sh", "/h/createContainer.sh"], "/h/createContainer.sh", ns_pid=22),
                 ex(950, 23, ["/bin/sh", "/hookbin/startContainer.sh"], "/hookbin/startContainer.sh", ns_pid=2),
                 ex(1000, 10, ["sh", "-c", "x"]),
                 {"v": 1, "type": "exit", "ts": 1500, "pid": 10, "tid": 10, "group_dead": True}]
    start_ev = [ex(900, 30, ["glassrun", "start"], ns_pid=30),
                ex(1100, 31, ["/bin/sh", "/h/poststart.sh"], "/h/poststart.sh", ns_pid=31)]
    delete_ev = [ex(2000, 40, ["glassrun", "delete"], ns_pid=40),
                 ex(2100, 41, ["/bin/sh", "/h/poststop.sh"], "/h/poststop.sh", ns_pid=41)]
    return create_ms, create_ev, start_ev, delete_ev


def world_timeline(mutate=None):
    w = list(map(list, good_world()))
    if mutate:
        mutate(*w)
    return tr.build_timeline(CFG, *w)


def test_rules_pass_on_a_good_world():
    tl = world_timeline()
    for rule in tr.RULES:
        assert tr.check(rule, tl, CFG) is None, rule


def _move_hook(name, ts):
    def m(create_ms, create_ev, start_ev, delete_ev):
        for evs in (create_ev, start_ev, delete_ev):
            for e in evs:
                if e.get("filename", "").endswith(f"/{name}.sh"):
                    e["ts"] = ts
    return m


@pytest.mark.parametrize("rule,hook,ts", [
    ("prestart", "prestart", 50),             # before the namespaces exist
    ("createRuntime", "createRuntime", 450),  # after pivot_root
    ("createRuntime", "createRuntime", 90),
    ("createContainer", "createContainer", 205),  # between two config mounts
    ("createContainer", "createContainer", 420),  # after pivot_root
    ("startContainer", "startContainer", 850),    # before start
    ("startContainer", "startContainer", 1050),   # after the user execve
    ("poststart", "poststart", 990),
    ("poststop", "poststop", 1900),               # before delete
])
def test_rule_hook_fails(rule, hook, ts):
    tl = world_timeline(_move_hook(hook, ts))
    assert tr.check(rule, tl, CFG) is not None


def test_rule_poststop_before_container_exit_fails():
    def m(create_ms, create_ev, start_ev, delete_ev):
        create_ev[-1]["ts"] = 2200   # the container's process outlives the hook
    assert tr.check("poststop", world_timeline(m), CFG) is not None


def test_rule_exec_before_start_fails():
    def m(create_ms, create_ev, start_ev, delete_ev):
        start_ev[0]["ts"] = 1001
    assert "exec'd" in tr.check("exec_after_start", world_timeline(m), CFG)


@pytest.mark.parametrize("ts", [405, 1200])   # before the masks / after the execve
def test_rule_seccomp_fails(ts):
    def m(create_ms, create_ev, start_ev, delete_ev):
        next(x for x in create_ms if x["kind"] == "seccomp")["ts"] = ts
    assert tr.check("seccomp", world_timeline(m), CFG) is not None


def test_rule_seccomp_missing_or_unexpected():
    def drop(create_ms, *_):
        create_ms[:] = [x for x in create_ms if x["kind"] != "seccomp"]
    assert "no seccomp" in tr.check("seccomp", world_timeline(drop), CFG)
    assert "has none" in tr.check("seccomp", world_timeline(), {"process": CFG["process"]})


def test_rule_capabilities_fails():
    def late(create_ms, *_):
        next(x for x in create_ms if x["kind"] == "capset")["ts"] = 1100
    assert tr.check("capabilities", world_timeline(late), CFG) is not None

    def other_pid(create_ms, *_):
        next(x for x in create_ms if x["kind"] == "capset")["pid"] = 9
    assert "no capset" in tr.check("capabilities", world_timeline(other_pid), CFG)


def test_rule_cannot_check_without_the_hook():
    def m(create_ms, create_ev, start_ev, delete_ev):
        create_ev[:] = [e for e in create_ev if "createRuntime" not in e.get("filename", "")]
    with pytest.raises(tr.CannotCheck):
        tr.check("createRuntime", world_timeline(m), CFG)


def test_user_exec_is_the_last_exec_of_pid1():
    evs = [ex(1, 5, ["runc", "init"], ns_pid=5), ex(2, 6, ["sh", "-c", "x"]), ex(3, 7, ["ls"], ns_pid=3)]
    assert tr.find_user_exec(evs, "sh")["ts"] == 2
