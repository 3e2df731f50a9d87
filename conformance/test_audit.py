"""Check 5 (issue 19): what the container's first program inherited.

The audit is the first `exec_audit` record (docs/TRACE_SCHEMA.md) of the
trace of `create` the syscall-order check records (tracing.Tracer: one trace
per runtime and bundle, shared; nothing is traced twice). glassrun's and
crun's are compared with runc's field by field (audit.comparable_audit,
checks.audit_diffs): the fd table (number, type, target with per-run paths
as tokens, O_CLOEXEC, inside the root), cwd and root, uid/gid/groups, the
five capability sets, no_new_privs, securebits, seccomp mode and filter
count, rlimits, each namespace (the host's or not), the cgroup (the
runtime's or not) and dumpable. Differences go through
accepted_differences.toml (check = "audit", key = the field: `fds.3`,
`caps.effective:+CAP_X`, `namespaces.ipc`).

Bundles: those the syscall-order check traces (test_syscall_order.BUNDLES);
CONFORMANCE_AUDIT_ALL=1 (`make audit-all`) traces and audits every
catalogue bundle (about 3 s per runtime and bundle)."""
from __future__ import annotations

import os

import pytest

import audit
import catalogue
import checks
import rtlib
from test_syscall_order import BUNDLES as TRACED
from test_syscall_order import traced_or_skip

CHECK = "audit"
AUDIT_ALL = os.environ.get("CONFORMANCE_AUDIT_ALL") == "1"
BUNDLES = list(catalogue.CATALOGUE) if AUDIT_ALL else TRACED


def traced(tracer, rt_name, bundle):
    res = tracer.get(rt_name, bundle)
    reason = catalogue.XFAIL.get((rt_name, bundle))
    if res.error and reason:
        pytest.xfail(f"{rt_name} cannot run {bundle}: {reason}")
    return traced_or_skip(tracer, rt_name, bundle)


@pytest.mark.parametrize("bundle_name", BUNDLES)
def test_audit(tracer, accepted, runtime_name, bundle_name):
    res = traced(tracer, runtime_name, bundle_name)
    own_mnt = any(n.get("type") == "mount" and not n.get("path")
                  for n in res.cfg.get("linux", {}).get("namespaces", []))
    # glasstrace audits the first exec in a new mount namespace
    assert audit.first_audit(res.create_ev) or not own_mnt, \
        f"{runtime_name} / {bundle_name}: no exec_audit in the trace of create ({res.create_trace})"
    if runtime_name == rtlib.REFERENCE:
        return
    ref = tracer.get(rtlib.REFERENCE, bundle_name)
    if ref.error:
        pytest.skip(f"no runc reference on {bundle_name}: {ref.error[:400]}")
    diffs = checks.audit_diffs(runtime_name, bundle_name, ref, res)
    rtlib.assert_no_unaccepted(diffs, accepted, (CHECK, runtime_name, bundle_name))


if not AUDIT_ALL:
    def test_audit_of_every_catalogue_bundle():
        others = [b for b in catalogue.CATALOGUE if b not in BUNDLES]
        pytest.skip(f"the audit check ran on the {len(BUNDLES)} traced bundles; CONFORMANCE_AUDIT_ALL=1 "
                    f"(make audit-all) also traces and audits the other {len(others)} (~3 s per runtime and bundle)")


# --------------------------------------------------------------------------
# the comparison on hand-made audits (no runtime): each field can fail

def hand_audit(**change):
    a = {"type": "exec_audit", "pid": 5, "ts": 10, "cgroup": 7,
         "fds": [{"fd": n, "type": "file", "target": "/base/create.out", "inside_root": False, "cloexec": False}
                 for n in range(3)],
         "open_fds": 3, "fds_truncated": False,
         "cwd": {"path": "/", "inside_root": True}, "root": {"path": "/", "is_mount_ns_root": True},
         "uid": {"real": 0, "effective": 0, "saved": 0, "fs": 0},
         "gid": {"real": 0, "effective": 0, "saved": 0, "fs": 0}, "groups": [],
         "caps": {s: ["CAP_KILL"] for s in audit.CAP_SETS}, "no_new_privs": True, "securebits": 0,
         "seccomp": {"mode": "disabled", "filters": 0}, "dumpable": 1,
         "rlimits": {"RLIMIT_NOFILE": {"soft": 1024, "hard": 1024}},
         "namespaces": {"ipc": {"inode": 11, "same_as_host": False}, "user": {"inode": 12, "same_as_host": True}}}
    a.update(change)
    return a


class FakeTraced:
    def __init__(self, a, base="/base"):
        self.bundle_dir, self.root, self.cid = f"{base}/bundle", f"{base}/root", "cf-x"
        self.create_ev = [{"type": "meta", "root_pid": 4}, {"type": "exec", "pid": 4, "ts": 1, "cgroup": 1, "filename": "/rt"},
                          {"type": "exec", "pid": 6, "ts": 9, "cgroup": 7, "filename": "/hook.sh"},
                          {"type": "exec", "pid": 5, "ts": 10, "cgroup": 7, "filename": "/bin/sh"}] + ([a] if a else [])


def hand_diffs(a):
    return {(d.name(), d.change) for d in checks.audit_diffs("glassrun", "b", FakeTraced(hand_audit()), FakeTraced(a))}


def test_equal_audits_have_no_difference():
    # per-run paths (the trace's directory) and inode numbers do not count
    ns = {"ipc": {"inode": 99, "same_as_host": False}, "user": {"inode": 12, "same_as_host": True}}
    fds = [dict(f, target="/other/create.out") for f in hand_audit()["fds"]]
    assert not checks.audit_diffs("glassrun", "b", FakeTraced(hand_audit()),
                                  FakeTraced(hand_audit(namespaces=ns, cgroup=8, fds=fds), base="/other"))


def test_a_leaked_fd_is_extra_and_a_missing_one_absent():
    leak = {"fd": 3, "type": "dir", "target": "/base/bundle", "inside_root": False, "cloexec": False}
    assert hand_diffs(hand_audit(fds=hand_audit()["fds"] + [leak])) == {("audit.fds.3", "extra")}
    assert hand_diffs(hand_audit(fds=hand_audit()["fds"][:2])) == {("audit.fds.2", "absent")}
    cloexec = [dict(f, cloexec=f["fd"] == 1) for f in hand_audit()["fds"]]
    assert hand_diffs(hand_audit(fds=cloexec)) == {("audit.fds.1", "changed")}


@pytest.mark.parametrize("change,name", [
    ({"caps": dict(hand_audit()["caps"], effective=["CAP_KILL", "CAP_SYS_PTRACE"])},
     ("audit.caps.effective:+CAP_SYS_PTRACE", "extra")),
    ({"caps": dict(hand_audit()["caps"], ambient=[])}, ("audit.caps.ambient:-CAP_KILL", "absent")),
    ({"namespaces": {"ipc": {"inode": 4, "same_as_host": True}, "user": {"inode": 12, "same_as_host": True}}},
     ("audit.namespaces.ipc", "changed")),
    ({"cgroup": 1}, ("audit.cgroup", "changed")),
    ({"pid": 6}, ("audit.exec", "changed")),   # another process (a hook) audited
    ({"cwd": {"path": "/tmp", "inside_root": False}}, ("audit.cwd", "changed")),
    ({"uid": {"real": 0, "effective": 0, "saved": 0, "fs": 1000}}, ("audit.uid", "changed")),
    ({"groups": [10]}, ("audit.groups", "changed")),
    ({"no_new_privs": False}, ("audit.no_new_privs", "changed")),
    ({"securebits": 0x2f}, ("audit.securebits", "changed")),
    ({"seccomp": {"mode": "filter", "filters": 1}}, ("audit.seccomp.filters", "changed")),
    ({"rlimits": {"RLIMIT_NOFILE": {"soft": 1024, "hard": 4096}}}, ("audit.rlimits.RLIMIT_NOFILE", "changed")),
    ({"dumpable": 0}, ("audit.dumpable", "changed")),
])
def test_each_field_is_compared(change, name):
    assert name in hand_diffs(hand_audit(**change))


def test_no_audit_is_a_difference():
    assert ("audit.exec", "changed") in hand_diffs(None)
    # the traced command's own exec (the runtime, in a namespace a wrapper
    # made) is not the container's
    assert ("audit.exec", "changed") in hand_diffs(hand_audit(pid=4))


def test_entries_accept_by_field_and_change_and_go_stale():
    leak = {"fd": 3, "type": "dir", "target": "/base/bundle", "inside_root": False, "cloexec": False}
    entry = {"check": "audit", "runtime": "glassrun", "bundle": "*", "key": "fds.3", "reason": "r"}
    extra, absent, other = dict(entry, change="extra"), dict(entry, change="absent"), dict(entry, key="fds.4")
    diffs = checks.audit_diffs("glassrun", "b", FakeTraced(hand_audit()),
                               FakeTraced(hand_audit(fds=hand_audit()["fds"] + [leak])))
    # an entry written for an fd runc hands on does not accept a leaked one
    assert rtlib.unaccepted(diffs, [absent, other]) == diffs
    assert rtlib.unaccepted(diffs, [extra, other]) == []
    assert rtlib.stale_entries([extra, absent, other], {("audit", "glassrun", "b")}) == [absent, other]
