"""The first-exec audit (glasstrace's `exec_audit` record, docs/TRACE_SCHEMA.md)
reduced to what two runtimes must agree on for the same bundle. One place,
used by the conformance audit check (checks.audit_diffs, test_audit.py) and
by tracer/tests/test_glasstrace.py.

The result is a flat dict: field name -> value, the names being the keys of
the audit check (`fds.3`, `caps.effective`, `namespaces.ipc`,
`rlimits.RLIMIT_NOFILE`). What is per run (inode numbers, pids, the
per-run directories given as tokens) is left out or replaced."""
from __future__ import annotations

import re

CAP_SETS = ("effective", "permitted", "inheritable", "bounding", "ambient")


def first_audit(events):
    """The trace's first exec_audit, or None: glasstrace audits the first
    exec in each new mount namespace, the container's program or a hook run
    there before it (createContainer). Not the traced command's own (a
    wrapper such as `unshare --mount` made the namespace the runtime runs in)."""
    root_pid = next((e.get("root_pid") for e in events if e.get("type") == "meta"), None)
    return next((e for e in events if e.get("type") == "exec_audit" and e.get("pid") != root_pid), None)


def _runtime_cgroup(events):
    """The cgroup id of the traced command (its first record carrying one)."""
    return next((e["cgroup"] for e in events if e.get("type") != "meta" and "cgroup" in e), None)


def _audited_exec(a, events):
    """The exec event the audit was taken at (same pid, the last before it)."""
    found = None
    for e in events:
        if e.get("type") == "exec" and e.get("pid") == a.get("pid") and e.get("ts", 0) <= a.get("ts", 0):
            found = e
    return found


def _target(text, tokens):
    # per-run directories first, longest first (the bundle lies in the base)
    for value, token in sorted(((str(v), t) for t, v in tokens.items() if v), key=lambda x: -len(x[0])):
        text = text.replace(value, token)
    # pipe/socket inodes and O_TMPFILE names (#INODE) are per run
    return re.sub(r"(pipe|socket):\[\d+\]", r"\1:[<ino>]", re.sub(r"/#\d+\b", "/#<ino>", text))


def comparable_audit(a, events=(), tokens=None, stdio=True):
    """The fields of audit `a` two runtimes must agree on. events: the trace
    it comes from (the exec audited; the cgroup: the runtime's or not);
    tokens: {token: per-run path} replaced in paths; stdio=False leaves
    out what fds 0-2 are (a foreground `run`: runc forwards the caller's
    stdio through pipes, crun and glassrun hand it on) but keeps their
    numbers and O_CLOEXEC."""
    tokens = tokens or {}
    out = {}
    ex = _audited_exec(a, events)
    if ex is not None:
        # the container's program, or a hook run in its mount namespace first
        out["exec"] = _target(ex["filename"], tokens)
    for f in a["fds"]:
        v = {"cloexec": f["cloexec"]}
        if stdio or f["fd"] > 2:
            v.update(type=f["type"], target=_target(f["target"], tokens), inside_root=f["inside_root"])
        out[f"fds.{f['fd']}"] = v
    if a.get("fds_truncated"):
        out["fds.open"] = a["open_fds"]
    out["cwd"] = dict(a["cwd"], path=_target(a["cwd"]["path"], tokens))
    out["root"] = dict(a["root"], path=_target(a["root"]["path"], tokens))
    for ids in ("uid", "gid"):
        out[ids] = a[ids]
    out["groups"] = sorted(a["groups"])
    for s in CAP_SETS:
        out[f"caps.{s}"] = sorted(a["caps"][s])
    out["no_new_privs"] = a["no_new_privs"]
    out["securebits"] = a["securebits"]
    out["seccomp.mode"] = a["seccomp"]["mode"]
    out["seccomp.filters"] = a["seccomp"]["filters"]
    for name, v in a["rlimits"].items():
        out[f"rlimits.{name}"] = v
    # inodes are per run: whether each is the host's (pid 1's) is not
    for name, v in a["namespaces"].items():
        out[f"namespaces.{name}"] = "host's" if v["same_as_host"] else "not the host's"
    runtime_cg = _runtime_cgroup(events)
    if runtime_cg is not None and "cgroup" in a:
        out["cgroup"] = "the runtime's" if a["cgroup"] == runtime_cg else "not the runtime's"
    out["dumpable"] = a["dumpable"]
    return out
