"""Syscall-order analysis of glasstrace traces (issue 5, check 3).

Pure functions over event lists, so each rule can be unit-tested with
hand-made events (conformance/test_syscall_order.py):

- milestone normalisation: what is per-run (pids, container ids, tmp paths,
  fd numbers, random suffixes) becomes a token, and orderings without meaning
  (the cgroup v1 controllers, runc's second bounding-set pass) get one form;
- the runtime-spec's ordering rules, checked on moments taken from the
  traces of `create`, `start` and `delete` (all `ts` are CLOCK_MONOTONIC ns
  from bpf_ktime_get_ns, so the three traces share one clock).

Events are the JSONL records of docs/TRACE_SCHEMA.md (dicts); milestones are
the entries of `glasstrace milestones FILE --json` (kind, detail, syscall,
count, pid, tid, ns_pid, ts)."""
from __future__ import annotations

import dataclasses
import json
import re
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


def ok(e):
    """A syscall record that completed successfully."""
    return e.get("type") == "syscall" and e.get("complete", True) and (e.get("ret") or 0) >= 0


def end_ts(e):
    return e["ts"] + (e.get("dur_ns") or 0)


# --------------------------------------------------------------------------
# fd resolution (what `glasstrace milestones` does for targets, here for the
# source of a bind mount, so a mask done by binding an O_PATH fd of
# /dev/null — `mount("/proc/self/fd/5", "/proc/self/fd/7", MS_BIND)` — is
# still recognised as a mask)

_FD_RE = re.compile(r"^/proc/(?:self|thread-self|\d+)/fd/(\d+)$")


def fd_paths_at(events, pid, ts):
    """pid's fd table just before ts, replayed from open/openat/dup/close
    (only what is in the trace; fds inherited before it started are unknown)."""
    fds = {}
    for e in events:
        if e.get("pid") != pid or e.get("ts", 0) >= ts or not ok(e):
            continue
        name, d = e["name"], e.get("decoded") or {}
        if name in ("open", "openat", "openat2", "open_tree") and isinstance(d.get("pathname"), str):
            path = d["pathname"]
            dirfd = d.get("dirfd", "AT_FDCWD")
            if not path.startswith("/") and dirfd != "AT_FDCWD" and dirfd in fds:
                path = fds[dirfd].rstrip("/") + "/" + path
            fds[e["ret"]] = path
        elif name in ("dup", "dup2", "dup3"):
            old = d.get("oldfd", d.get("fd"))
            if old in fds:
                fds[e["ret"]] = fds[old]
        elif name == "close":
            fds.pop(d.get("fd"), None)
    return fds


def mount_source(events, m):
    """The source path of the mount syscall behind milestone m, fd resolved."""
    for e in events:
        if e.get("type") == "syscall" and e.get("ts") == m.get("ts") and e.get("tid") == m.get("tid") \
                and e.get("name") == "mount":
            src = (e.get("decoded") or {}).get("source")
            mt = _FD_RE.match(src or "")
            if mt:
                return fd_paths_at(events, e["pid"], e["ts"]).get(int(mt.group(1)), src)
            return src
    return None


def resolve_masks(milestones, events):
    """`mount T (bind)` whose source is /dev/null (through an fd) is a mask."""
    out = []
    for m in milestones:
        if m["kind"] == "mount" and m["detail"].endswith(" (bind)") and mount_source(events, m) == "/dev/null":
            m = dict(m, kind="mask", detail=m["detail"][: -len(" (bind)")])
        out.append(m)
    return out


# --------------------------------------------------------------------------
# normalising milestone keys

def substitutions(**tokens):
    """{'<root>': '/tmp/x/root', '<id>': 'cf-...'} → list of (value, token),
    longest value first so a path is replaced before a prefix of it."""
    pairs = [(str(v), k) for k, v in tokens.items() if v]
    return sorted(pairs, key=lambda p: -len(p[0]))


_RAND = [
    (re.compile(r"\b(runc|crun)\.[A-Za-z0-9]{6}\b"), r"\1.<rand>"),    # mkstemp/mkdtemp suffixes
    (re.compile(r"/proc/\d+/"), "/proc/<pid>/"),
    (re.compile(r"/proc/self/fd/\d+"), "/proc/self/fd/<fd>"),
    (re.compile(r"\bfd=\d+"), "fd=<fd>"),
]


def norm_text(s, subst=()):
    for value, token in subst:
        s = s.replace(value, token)
    for rx, rep in _RAND:
        s = rx.sub(rep, s)
    return s


def milestone_key(m, subst=()):
    key = f"{m['kind']} {norm_text(m['detail'], subst)}"
    if m["kind"] == "exec":
        key = key.split("\n", 1)[0]   # argv of a script: its first line says enough
    if (m.get("count") or 1) > 1:
        key += f" (x{m['count']})"
    return key


def _cgroup_target(key):
    mt = re.match(r"^mount (/sys/fs/cgroup/[^ ]+) \(", key)
    return mt.group(1) if mt else None


def sort_cgroup_runs(keys):
    """The order in which a runtime mounts the cgroup v1 controllers under
    /sys/fs/cgroup carries no meaning (it follows /proc/self/mountinfo or the
    runtime's own list): each run of such mounts is sorted by target, stably,
    so bind stays before bind-remount."""
    out, run = [], []
    for k in keys + [None]:
        if k is not None and _cgroup_target(k):
            run.append(k)
            continue
        out += sorted(run, key=_cgroup_target)
        run = []
        if k is not None:
            out.append(k)
    return out


def fold_repeated_capbset(keys):
    """runc 1.1 drops the bounding set twice in a row (once in its Go init,
    once more through its capabilities library): a run of capbset.drop lines
    whose second half repeats the first becomes the first half followed by
    one line saying so. Any other shape is left as it is, so a missing or an
    extra capability still shows."""
    out, i = [], 0
    while i < len(keys):
        if not keys[i].startswith("capbset.drop "):
            out.append(keys[i])
            i += 1
            continue
        j = i
        while j < len(keys) and keys[j].startswith("capbset.drop "):
            j += 1
        run = keys[i:j]
        half = len(run) // 2
        if len(run) % 2 == 0 and half and run[:half] == run[half:]:
            out += run[:half] + [f"capbset.drop <second pass repeating the {half} drops above>"]
        else:
            out += run
        i = j
    return out


def gather_cgroup_attach(milestones):
    """A runtime's parent writes the child's pid to cgroup.procs while the
    child goes on with its own steps (runc's init clones its binary
    meanwhile): how the writes interleave with the child's milestones is a
    race. All cgroup.attach milestones of one basename become one, at the
    first, with the total count."""
    out, at = [], {}
    for m in milestones:
        if m["kind"] == "cgroup.attach":
            if m["detail"] in at:
                first = out[at[m["detail"]]]
                out[at[m["detail"]]] = dict(first, count=(first.get("count") or 1) + (m.get("count") or 1))
                continue
            at[m["detail"]] = len(out)
        out.append(m)
    return out


def normalise(milestones, events=None, subst=()):
    """Milestones → the ordered, normalised keys compared between runtimes."""
    if events is not None:
        milestones = resolve_masks(milestones, events)
    milestones = gather_cgroup_attach(milestones)
    keys = [milestone_key(m, subst) for m in milestones]
    return fold_repeated_capbset(sort_cgroup_runs(keys))


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
