"""Syscall-order analysis of glasstrace traces (issue 5, check 3): the
runtime-spec's ordering rules, checked on moments taken from the traces of
`create`, `start` and `delete` (all `ts` are CLOCK_MONOTONIC ns from
bpf_ktime_get_ns, so the three traces share one clock). Pure functions over
event lists, so each rule can be unit-tested with hand-made events
(conformance/test_syscall_order.py).

Milestone extraction and the comparison with runc (normalisation, alignment,
moved/absent/extra) are glasstrace's alone: `glasstrace milestones --json`
and `glasstrace diff --changes` (tracer/src/milestones.cpp, compare.cpp).

Events are the JSONL records of docs/TRACE_SCHEMA.md (dicts); milestones are
the entries of `glasstrace milestones FILE --json` (kind, detail, syscall,
count, pid, tid, ns_pid, ts)."""
from __future__ import annotations

import dataclasses
import json
import subprocess

# --------------------------------------------------------------------------
# reading

def load_events(path):
    """The records of a JSONL trace; checks the schema version."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            e = json.loads(line)
            if e.get("v") != 1:
                raise ValueError(f"{path}: record of schema version {e.get('v')!r}, want 1")
            out.append(e)
    return out


def load_milestones(glasstrace, path):
    p = subprocess.run([str(glasstrace), "milestones", str(path), "--json"], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"glasstrace milestones {path} exited {p.returncode}: {p.stderr.strip()}")
    doc = json.loads(p.stdout)
    if doc.get("v") != 1:
        raise ValueError(f"milestones of version {doc.get('v')!r}, want 1")
    return doc


def end_ts(e):
    return e["ts"] + (e.get("dur_ns") or 0)


# --------------------------------------------------------------------------
# moments

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
SETUP_KINDS = {"mount", "mask", "umount", "pivot_root", "chroot"}


@dataclasses.dataclass
class Timeline:
    """Moments of one container's life, in ns (None: not seen)."""
    ns_created: int | None = None
    config_mounts_done: int | None = None     # end of the last mount of config.mounts
    missing_mounts: list = dataclasses.field(default_factory=list)
    pivot_root: int | None = None
    setup_done: int | None = None             # end of the last mount/mask/umount/pivot_root before exec
    seccomp: list = dataclasses.field(default_factory=list)
    capset: list = dataclasses.field(default_factory=list)     # by the process that execs the user program
    start_begin: int | None = None
    user_exec: int | None = None
    user_pid: int | None = None
    user_exit: int | None = None
    delete_begin: int | None = None
    hooks: dict = dataclasses.field(default_factory=dict)       # name -> [exec ts]


def first_exec(events):
    ex = [e for e in events if e.get("type") == "exec"]
    return min((e["ts"] for e in ex), default=None)


def find_user_exec(events, argv0):
    """The container's execve of the user program: the last exec event by a
    task that is pid 1 of its pid namespace (a container with a new pid
    namespace), else the last exec whose argv[0] is the config's."""
    ex = sorted((e for e in events if e.get("type") == "exec"), key=lambda e: e["ts"])
    ones = [e for e in ex if e.get("ns_pid") == 1]
    if ones:
        return ones[-1]
    named = [e for e in ex if (e.get("argv") or [None])[0] == argv0]
    return named[-1] if named else None


def hook_execs(events, name):
    """exec events of the hook script NAME.sh (by filename or argv)."""
    want = f"{name}.sh"
    out = []
    for e in events:
        if e.get("type") != "exec":
            continue
        fn = e.get("filename") or ""
        argv = e.get("argv") or []
        if fn.endswith("/" + want) or fn == want or any(a.endswith("/" + want) or a == want for a in argv[:3]):
            out.append(e["ts"])
    return sorted(out)


def build_timeline(cfg, create_ms, create_ev, start_ev, delete_ev=None, rootfs=None):
    """cfg: the bundle's config.json (dict). create_ms: create's milestones
    (already mask-resolved or not, only kinds and ts are used)."""
    tl = Timeline()
    argv0 = (cfg.get("process") or {}).get("args", [None])[0]
    ue = find_user_exec(create_ev + start_ev, argv0)
    if ue:
        tl.user_exec, tl.user_pid = ue["ts"], ue["pid"]
        exits = [e["ts"] for e in create_ev + start_ev
                 if e.get("type") == "exit" and e.get("pid") == ue["pid"] and e.get("group_dead", True)]
        tl.user_exit = max(exits) if exits else None
    before = [m for m in create_ms if tl.user_exec is None or m["ts"] < tl.user_exec]
    ns = [m["ts"] for m in before if m["kind"] == "ns.create"]
    tl.ns_created = min(ns) if ns else None
    piv = [m["ts"] for m in before if m["kind"] in ("pivot_root", "chroot")]
    tl.pivot_root = min(piv) if piv else None

    # the milestone ts is the syscall's entry: take its end from the event
    ends = {(e["tid"], e["ts"]): end_ts(e) for e in create_ev if e.get("type") == "syscall"}

    def m_end(m):
        return ends.get((m["tid"], m["ts"]), m["ts"])

    setup = [m_end(m) for m in before if m["kind"] in SETUP_KINDS]
    tl.setup_done = max(setup) if setup else None
    done = []
    for mnt in cfg.get("mounts") or []:
        dest = mnt["destination"].rstrip("/") or "/"
        hits = [m for m in before if m["kind"] in ("mount", "mask")
                and m["detail"].split(" (")[0] == dest
                and (tl.pivot_root is None or m["ts"] < tl.pivot_root)]
        if hits:
            done.append(m_end(hits[0]))
        else:
            tl.missing_mounts.append(dest)
    tl.config_mounts_done = max(done) if done else None
    tl.seccomp = sorted(m_end(m) for m in create_ms if m["kind"] == "seccomp")
    tl.capset = sorted(m_end(m) for m in create_ms if m["kind"] == "capset"
                       and (tl.user_pid is None or m["pid"] == tl.user_pid))
    tl.start_begin = first_exec(start_ev)
    tl.delete_begin = first_exec(delete_ev) if delete_ev else None
    every = create_ev + start_ev + (delete_ev or [])
    for h in HOOKS:
        tl.hooks[h] = hook_execs(every, h)
    return tl


# --------------------------------------------------------------------------
# the runtime-spec's ordering rules

class CannotCheck(Exception):
    """A moment the rule needs is not in the traces: the rule is skipped."""


def _need(tl, **names):
    for label, v in names.items():
        if v is None:
            raise CannotCheck(f"no {label} in the traces")


def _hook(tl, name):
    ts = tl.hooks.get(name) or []
    if not ts:
        raise CannotCheck(f"no execve of the {name} hook in the traces")
    return ts


def _t(ns, ref):
    """A moment relative to another, readable."""
    return "?" if ns is None else f"{(ns - ref) / 1e6:+.3f} ms" if ref is not None else str(ns)


def rule_create_runtime(tl, name="createRuntime"):
    """createRuntime (and prestart) hooks: after the namespaces exist, before pivot_root."""
    hs = _hook(tl, name)
    _need(tl, namespace_creation=tl.ns_created, pivot_root=tl.pivot_root)
    bad = [h for h in hs if not (tl.ns_created < h < tl.pivot_root)]
    if bad:
        return (f"{name} hook at {_t(bad[0], tl.pivot_root)} from pivot_root, ns.create at "
                f"{_t(tl.ns_created, tl.pivot_root)}: must be after ns.create and before pivot_root")
    return None


def rule_prestart(tl):
    return rule_create_runtime(tl, "prestart")


def rule_create_container(tl):
    """createContainer hooks: after the config's mounts, before pivot_root."""
    hs = _hook(tl, "createContainer")
    _need(tl, pivot_root=tl.pivot_root, config_mounts=tl.config_mounts_done)
    bad = [h for h in hs if not (tl.config_mounts_done < h < tl.pivot_root)]
    if bad:
        return (f"createContainer hook at {_t(bad[0], tl.pivot_root)} from pivot_root, the last config mount "
                f"done at {_t(tl.config_mounts_done, tl.pivot_root)}: must be after the mounts and before pivot_root")
    return None


def rule_start_container(tl):
    """startContainer hooks: after `start` begins, before the user program's execve."""
    hs = _hook(tl, "startContainer")
    _need(tl, start_begin=tl.start_begin, user_exec=tl.user_exec)
    bad = [h for h in hs if not (tl.start_begin < h < tl.user_exec)]
    if bad:
        return (f"startContainer hook at {_t(bad[0], tl.user_exec)} from the user execve, `start` began at "
                f"{_t(tl.start_begin, tl.user_exec)}: must be after start begins and before the execve")
    return None


def rule_exec_after_start(tl):
    """The user program never execs before `start`."""
    _need(tl, start_begin=tl.start_begin, user_exec=tl.user_exec)
    if tl.user_exec <= tl.start_begin:
        return f"the user program exec'd {_t(tl.user_exec, tl.start_begin)} from the beginning of `start`"
    return None


def rule_seccomp(tl, configured=True):
    """seccomp: loaded after the privileged set-up (mounts, pivot_root), before the execve."""
    _need(tl, user_exec=tl.user_exec, setup_done=tl.setup_done)
    if not configured:
        if tl.seccomp:
            return "a seccomp filter was loaded but the config has none"
        return None
    if not tl.seccomp:
        return "the config has linux.seccomp but no seccomp filter was loaded"
    bad = [s for s in tl.seccomp if not (tl.setup_done < s < tl.user_exec)]
    if bad:
        return (f"seccomp loaded at {_t(bad[0], tl.user_exec)} from the user execve, the privileged set-up ended "
                f"at {_t(tl.setup_done, tl.user_exec)}: must be after the set-up and before the execve")
    return None


def rule_capabilities(tl):
    """Capabilities are set (capset) by the container process before its execve."""
    _need(tl, user_exec=tl.user_exec)
    if not tl.capset:
        return "no capset by the process that exec'd the user program"
    if not any(c < tl.user_exec for c in tl.capset):
        return f"capset at {_t(tl.capset[0], tl.user_exec)} from the user execve: must be before it"
    return None


def rule_poststart(tl):
    """poststart hooks: after the user program's execve."""
    hs = _hook(tl, "poststart")
    _need(tl, user_exec=tl.user_exec)
    bad = [h for h in hs if h <= tl.user_exec]
    if bad:
        return f"poststart hook at {_t(bad[0], tl.user_exec)} from the user execve: must be after it"
    return None


def rule_poststop(tl):
    """poststop hooks: after `delete` begins (and after the container process is gone)."""
    hs = _hook(tl, "poststop")
    _need(tl, delete_begin=tl.delete_begin)
    bad = [h for h in hs if h <= tl.delete_begin or (tl.user_exit is not None and h <= tl.user_exit)]
    if bad:
        return (f"poststop hook at {_t(bad[0], tl.delete_begin)} from the beginning of `delete` (container exit at "
                f"{_t(tl.user_exit, tl.delete_begin)}): must be after both")
    return None


RULES = {
    "prestart": rule_prestart,
    "createRuntime": rule_create_runtime,
    "createContainer": rule_create_container,
    "startContainer": rule_start_container,
    "exec_after_start": rule_exec_after_start,
    "seccomp": rule_seccomp,
    "capabilities": rule_capabilities,
    "poststart": rule_poststart,
    "poststop": rule_poststop,
}
HOOK_RULES = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}


def check(rule, tl, cfg):
    """Run one rule: (None | violation message). Raises CannotCheck."""
    if rule == "seccomp":
        return rule_seccomp(tl, configured=bool((cfg.get("linux") or {}).get("seccomp")))
    return RULES[rule](tl)
