"""Shared machinery of the conformance suite: runtimes, running a catalogue
bundle once per runtime (cached), normalising what the container saw, and
comparing against runc with the accepted differences applied."""
from __future__ import annotations

import collections
import dataclasses
import difflib
import fnmatch
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
MKBUNDLE = REPO / "tools" / "mkbundle"
# GLASSRUN_ACCEPTED: another file (the suite's own test of --strict-accepted)
ACCEPTED_FILE = pathlib.Path(os.environ.get("GLASSRUN_ACCEPTED") or
                             pathlib.Path(__file__).with_name("accepted_differences.toml"))
REFERENCE = "runc"
STATE_DIRS = ["/run/glassrun", "/run/runc", "/run/crun"]


# --------------------------------------------------------------------------
# runtimes

@dataclasses.dataclass
class Runtime:
    name: str
    path: str
    version: str = ""
    skip_reason: str | None = None
    source: str = ""

    def cmd(self, root, *args):
        return [self.path, "--root", str(root), *map(str, args)]


def default_runtime_paths():
    paths = {
        "glassrun": str(BUILD / "runtime" / "glassrun"),
        "runc": shutil.which("runc") or "/usr/sbin/runc",
        "crun": shutil.which("crun") or "/usr/bin/crun",
    }
    youki = shutil.which("youki")
    if youki:
        paths["youki"] = youki
    return paths


def snapshot(path, tmp):
    """A runtime built in this repo may be rebuilt by someone else while the
    suite runs: test one copy of it for the whole session."""
    if not str(path).startswith(str(REPO)):
        return path
    end = time.monotonic() + 300
    while not os.access(path, os.X_OK) and time.monotonic() < end:
        time.sleep(1)   # being relinked right now
    dst = pathlib.Path(tmp) / "bin" / pathlib.Path(path).name
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(path, dst)
    except OSError:
        return path
    return str(dst)


def probe_runtime(name, path, tmp):
    """Fill version and, when it cannot run here, skip_reason."""
    rt = Runtime(name, path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        rt.skip_reason = f"{name}: no executable at {path}"
        return rt
    rt.source = path
    rt.path = path = snapshot(path, pathlib.Path(tmp) / name)
    try:
        p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        rt.version = (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr).strip() else "?"
    except Exception as e:  # noqa: BLE001
        rt.skip_reason = f"{name}: `{path} --version` failed: {e}"
        return rt
    if os.geteuid() != 0:
        rt.skip_reason = f"{name}: the conformance suite needs root"
        return rt
    # A smoke run: can this runtime run a container on this machine at all?
    bdir = pathlib.Path(tmp) / f"smoke-{name}"
    bundle_from_template(pathlib.Path(tmp).parent, bdir, ["true"])
    root = pathlib.Path(tmp) / f"smoke-root-{name}"
    root.mkdir(parents=True, exist_ok=True)
    cid = unique_id(name, "smoke")
    try:
        p = subprocess.run(rt.cmd(root, "run", "--bundle", bdir, cid), capture_output=True,
                           text=True, timeout=60, stdin=scratch_stdio())
        if p.returncode != 0:
            rt.skip_reason = f"{name} cannot run a container here: {(p.stderr or p.stdout).strip()[-400:]}"
    except subprocess.TimeoutExpired:
        rt.skip_reason = f"{name}: `run` of a trivial container timed out"
    finally:
        force_delete(rt, root, cid)
    return rt


def unique_id(runtime, what):
    what = "".join(c if c.isalnum() else "-" for c in what)[:24]
    return f"cf-{runtime}-{what}-{uuid.uuid4().hex[:6]}"


def force_delete(rt, root, cid):
    subprocess.run(rt.cmd(root, "delete", "-f", cid), capture_output=True, timeout=60)
    remove_cgroups(cid)


def remove_cgroups(cid):
    """Remove cgroup dirs named after the container id that a runtime left."""
    base = pathlib.Path("/sys/fs/cgroup")
    if not base.is_dir():
        return
    for dirpath, dirnames, _ in os.walk(base):
        for d in list(dirnames):
            if d == cid:
                full = pathlib.Path(dirpath) / d
                for sub in sorted(full.rglob("*"), reverse=True):
                    if sub.is_dir():
                        try:
                            sub.rmdir()
                        except OSError:
                            pass
                try:
                    full.rmdir()
                except OSError:
                    pass
                dirnames.remove(d)
        # Do not descend deep: runtimes make the cgroup at most a few levels down.
        if dirpath.count("/") > 7:
            dirnames[:] = []


# --------------------------------------------------------------------------
# bundles

def make_bundle(bdir, args, terminal=False):
    bdir = pathlib.Path(bdir)
    cmd = [str(MKBUNDLE), "-o", str(bdir)] + (["-t"] if terminal else []) + ["--", *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return bdir


_TEMPLATE = {}


def bundle_from_template(tmp, bdir, args):
    """mkbundle is slow (one process per busybox applet): make one template
    per session with it and copy that (cp -a keeps the applet symlinks)."""
    tmp = pathlib.Path(tmp)
    if "dir" not in _TEMPLATE or not pathlib.Path(_TEMPLATE["dir"]).is_dir():
        _TEMPLATE["dir"] = make_bundle(tmp / "template-bundle", ["sh"])
    bdir = pathlib.Path(bdir)
    bdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(_TEMPLATE["dir"] / "rootfs"), str(bdir / "rootfs")], check=True)
    cfg = load_config(_TEMPLATE["dir"])
    cfg["process"]["args"] = list(args)
    save_config(bdir, cfg)
    return bdir


def load_config(bdir):
    return json.loads((pathlib.Path(bdir) / "config.json").read_text())


def save_config(bdir, cfg):
    (pathlib.Path(bdir) / "config.json").write_text(json.dumps(cfg, indent=1))


# The probe: what the container sees, in sections the normaliser splits.
PROBE = r"""
sec() { echo "@@@ $1"; }
sec hostname; hostname
sec domainname; cat /proc/sys/kernel/domainname 2>&1
sec mountinfo; cat /proc/self/mountinfo
sec status; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
sec id; id
sec ulimit; ulimit -a
sec umask; umask
sec cwd; pwd
sec env; env | sort
sec oom_score_adj; cat /proc/self/oom_score_adj
sec ns; for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n 2>/dev/null)"; done
sec extra; %EXTRA%; echo
sec end
"""


def probe_args(extra="true"):
    return ["sh", "-c", PROBE.replace("%EXTRA%", extra)]


# --------------------------------------------------------------------------
# running a bundle once

@dataclasses.dataclass
class RunResult:
    runtime: str
    bundle: str
    cid: str = ""
    bundle_dir: str = ""
    error: str | None = None
    states: dict = dataclasses.field(default_factory=dict)   # step -> state doc
    state_json: dict | None = None
    output: str = ""
    sections: dict = dataclasses.field(default_factory=dict)
    cgroup_limits: dict = dataclasses.field(default_factory=dict)
    markers: list = dataclasses.field(default_factory=list)
    stderr: str = ""
    host_mounts_changed: list | None = None   # for a wrapped create: host mountinfo lines made or gone


def scratch_stdio():
    """An empty private file for a runtime's (and so its container's) stdin or
    stdout. Never the host's /dev/null: crun 1.8.1 chowns the container's
    stdio to the container's root, which in a user namespace is 100000 on
    the host."""
    return tempfile.TemporaryFile()


def _run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    kw.setdefault("stdin", scratch_stdio())
    return subprocess.run(list(map(str, cmd)), **kw)


def get_state(rt, root, cid):
    p = _run(rt.cmd(root, "state", cid))
    if p.returncode != 0:
        return {"__error__": (p.stderr or p.stdout).strip()}
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"__error__": "state output is not JSON: " + p.stdout[:200]}


def wait_status(rt, root, cid, want, limit=60.0):
    """Poll `state` until status is `want` (a liveness bound, not an assertion)."""
    end = time.monotonic() + limit
    st = {}
    while time.monotonic() < end:
        st = get_state(rt, root, cid)
        if st.get("status") == want:
            return st
        time.sleep(0.05)
    return st


CGROUP_FILES = {
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness"],
    "pids": ["pids.max"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
}


def read_cgroup_limits(pid):
    out = {}
    try:
        lines = pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError as e:
        return {"__error__": str(e)}
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        for ctrl in ctrls.split(","):
            for f in CGROUP_FILES.get(ctrl, []):
                p = pathlib.Path("/sys/fs/cgroup") / ctrl / path.lstrip("/") / f
                try:
                    out[f] = p.read_text().strip()
                except OSError:
                    pass
    return out


def execute(rt, root, bundle_dir, bundle_name, marker_dir=None, wrap=()):
    """create → state/state.json → start → wait stopped → delete, once.
    wrap: a command `create` runs under (catalogue.WRAP)."""
    res = RunResult(rt.name, bundle_name, bundle_dir=str(bundle_dir))
    res.cid = cid = unique_id(rt.name, bundle_name)
    outf = pathlib.Path(bundle_dir).parent / f"{cid}.out"
    errf = pathlib.Path(bundle_dir).parent / f"{cid}.err"
    try:
        with open(outf, "w") as o, open(errf, "w") as e:
            p = subprocess.run([*wrap, *rt.cmd(root, "create", "--bundle", bundle_dir, cid)], stdout=o,
                               stderr=e, stdin=scratch_stdio(), timeout=120)
        if p.returncode != 0:
            res.error = f"create exited {p.returncode}: {errf.read_text().strip()[-800:]}"
            return res
        res.states["created"] = get_state(rt, root, cid)
        sj = pathlib.Path(root) / cid / "state.json"
        if sj.exists():
            res.state_json = json.loads(sj.read_text())
        pid = res.states["created"].get("pid")
        if pid:
            res.cgroup_limits = read_cgroup_limits(pid)
        p = _run(rt.cmd(root, "start", cid))
        if p.returncode != 0:
            res.error = f"start exited {p.returncode}: {p.stderr.strip()[-800:]}"
            return res
        res.states["stopped"] = wait_status(rt, root, cid, "stopped")
        p = _run(rt.cmd(root, "delete", cid))
        if p.returncode != 0:
            res.error = f"delete exited {p.returncode}: {p.stderr.strip()[-800:]}"
    except subprocess.TimeoutExpired as ex:
        res.error = f"timed out: {ex.cmd}"
    finally:
        force_delete(rt, root, cid)
        res.output = outf.read_text() if outf.exists() else ""
        res.stderr = errf.read_text() if errf.exists() else ""
        res.sections = split_sections(res.output)
        if marker_dir and pathlib.Path(marker_dir).is_dir():
            f = pathlib.Path(marker_dir) / "order"
            res.markers = f.read_text().split() if f.exists() else []
    return res


def host_mounts(*paths):
    """The host's mountinfo lines (without the mount ids) of its root mount
    and of every mount under one of paths: what a runtime without a mount
    namespace of its own could change."""
    out = []
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        mnt = fields[4]
        if mnt == "/" or any(mnt == str(p) or mnt.startswith(str(p).rstrip("/") + "/") for p in paths):
            out.append(" ".join(fields[2:]))
    return sorted(out)


def lifecycle(rt, root, wait_limit=60.0):
    """create → start → pause → resume → kill → (stopped); `state` at each
    step (for the state check). wait_limit bounds each wait for a status."""
    import pytest
    cid = unique_id(rt.name, "lifecycle")
    bdir = bundle_from_template(root.parent, root.parent / f"lc-{rt.name}", ["sleep", "1000"])
    states = {}
    try:
        for step, cmd in (("created", ["create", "--bundle", bdir, cid]), ("running", ["start", cid]),
                          ("paused", ["pause", cid]), ("running-again", ["resume", cid]),
                          ("stopped", ["kill", cid, "KILL"])):
            # the container inherits create's stdio: no pipes, or run() waits for it
            errf = root.parent / f"{cid}.{step}.err"
            with open(errf, "w") as ef:
                p = _run(rt.cmd(root, *cmd), capture_output=False, stdout=scratch_stdio(), stderr=ef)
            if p.returncode != 0:
                msg = errf.read_text().strip()
                if "not implemented" in msg.lower() or "unknown" in msg.lower():
                    pytest.xfail(f"{rt.name} {cmd[0]}: {msg}")
                raise AssertionError(f"{rt.name} {' '.join(map(str, cmd))} exited {p.returncode}: {msg}")
            want = "running" if step == "running-again" else step
            states[step] = wait_status(rt, root, cid, want, wait_limit)
        p = _run(rt.cmd(root, "delete", cid))
        assert p.returncode == 0, f"{rt.name} delete: {p.stderr}"
        assert not (root / cid).exists(), f"{rt.name} left {root / cid} after delete"
    finally:
        force_delete(rt, root, cid)
    return states


def split_sections(out):
    secs, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@@@ "):
            cur = line[4:].strip()
            secs[cur] = []
        elif cur is not None:
            secs[cur].append(line)
    return secs


# --------------------------------------------------------------------------
# normalising

def norm_mountinfo(lines, bundle_dir):
    """mountinfo without ids, major:minor, host-specific sources and roots."""
    out = []
    for line in lines:
        parts = line.split()
        if " - " not in line or len(parts) < 10:
            continue
        sep = parts.index("-")
        root, mnt, opts = parts[3], parts[4], parts[5]
        fstype, source, sopts = parts[sep + 1], parts[sep + 2], parts[sep + 3] if len(parts) > sep + 3 else ""
        optional = [f.split(":")[0] for f in parts[6:sep]]  # shared/master without peer ids
        if fstype in ("ext4", "xfs", "btrfs", "overlay", "ext3", "ext2", "vfat"):
            sopts = "<host-fs>"
            root = "<host>"
        sopts = ",".join(o for o in sopts.split(",") if not o.startswith(("nr_inodes=", "inode64")))
        out.append(f"{mnt} {opts} {fstype} {sopts} root={root} {' '.join(optional)}".rstrip())
    return out


CAP_NAMES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
             "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
             "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
             "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
             "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
             "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
             "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
             "CAP_CHECKPOINT_RESTORE"]
_CAP_SETS = {"CapInh": "inheritable", "CapPrm": "permitted", "CapEff": "effective", "CapBnd": "bounding",
             "CapAmb": "ambient"}


def cap_names(mask_hex):
    mask = int(mask_hex, 16)
    return [n if n else f"CAP_{i}" for i, n in enumerate(CAP_NAMES + [None] * 64) if i < 64 and mask >> i & 1]


def status_doc(lines):
    """/proc/self/status's Cap* lines as sets of names (so a difference names
    the capability), NoNewPrivs and Seccomp as they are."""
    doc = {}
    for line in lines:
        k, _, v = line.partition(":")
        v = v.strip()
        if k in _CAP_SETS:
            doc.setdefault("capabilities", {})[_CAP_SETS[k]] = cap_names(v)
        else:
            doc[k] = v
    return doc


def ns_doc(lines):
    """Each namespace of the container: "host" when it is the host's (this
    process's), else "not-host" (new or joined); the ids differ per run."""
    doc = {}
    for line in lines:
        typ, _, link = line.partition(" ")
        try:
            host = os.readlink(f"/proc/self/ns/{typ}")
        except OSError:
            host = None
        doc[typ] = "<none>" if not link else ("host" if link == host else "not-host")
    return doc or "<missing>"


def behaviour_doc(res):
    s = res.sections
    doc = {}
    for k in ("hostname", "domainname", "id", "ulimit", "umask", "cwd", "env",
              "oom_score_adj", "extra"):
        doc[k] = "\n".join(s.get(k, ["<missing>"]))
    status = status_doc(s.get("status", []))
    doc["capabilities"] = status.pop("capabilities", "<missing>")
    doc["status"] = status or "<missing>"
    doc["namespaces"] = ns_doc(s.get("ns", []))
    doc["env"] = s.get("env", ["<missing>"])
    mi = [norm_value(x, res) for x in norm_mountinfo(s.get("mountinfo", []), res.bundle_dir)]
    # The order among the cgroup v1 controller mounts under /sys/fs/cgroup
    # carries no meaning: sort each run of them.
    out, run = [], []
    for line in mi + [""]:
        if line.startswith("/sys/fs/cgroup/"):
            run.append(line)
            continue
        out += sorted(run) + ([line] if line else [])
        run = []
    doc["mountinfo"] = out
    for k, v in sorted(res.cgroup_limits.items()):
        doc["cgroup." + k] = v
    return doc


def norm_value(v, res):
    """Replace what is per-run (bundle dir, container id, pid) by tokens."""
    if isinstance(v, str):
        v = v.replace(res.bundle_dir, "<bundle>").replace(res.cid, "<id>")
        pid = (res.states.get("created") or {}).get("pid")
        if pid:
            v = v.replace(f"/proc/{pid}/", "/proc/<pid>/")
        return v
    if isinstance(v, list):
        return [norm_value(x, res) for x in v]
    if isinstance(v, dict):
        return {norm_value(k, res): norm_value(x, res) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------
# differences

@dataclasses.dataclass
class Difference:
    check: str
    runtime: str
    bundle: str
    key: str
    reference: object
    actual: object
    accepted: str | None = None   # reason when accepted
    # For a line of a sequence: "moved" (the line is on both sides, at
    # another place), "absent" (only in runc's), "extra" (only in the
    # runtime's); for a value: "changed".
    change: str = "changed"
    # A sequence aligned by someone else (glasstrace diff --changes): the
    # [(reference line, actual line)] rows to show, and this line's 1-based
    # step in them.
    aligned: list | None = None
    step: int | None = None

    def name(self):
        """The compared field, as test ids and the report show it:
        check.key (state_json.cgroup_paths.memory, behaviour.capabilities.effective:+CAP_SYS_ADMIN)."""
        return f"{self.check}.{self.key}"

    def side_by_side(self):
        if self.aligned is not None:
            return aligned_side_by_side(self.aligned, REFERENCE, self.runtime)
        a = render(self.reference).splitlines() or [""]
        b = render(self.actual).splitlines() or [""]
        return side_by_side(a, b, REFERENCE, self.runtime)


def render(v):
    if isinstance(v, str):
        return v
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "\n".join(v)
    return json.dumps(v, indent=1, sort_keys=True)


def side_by_side(a, b, left, right, width=72):
    lines = [f"{left:<{width}} | {right}", "-" * (width * 2 + 3)]
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        n = max(i2 - i1, j2 - j1)
        for k in range(n):
            x = a[i1 + k] if i1 + k < i2 else ""
            y = b[j1 + k] if j1 + k < j2 else ""
            mark = " " if op == "equal" else ("<" if not y else (">" if not x else "|"))
            lines.append(f"{x[:width]:<{width}} {mark} {y}")
    return "\n".join(lines)


def aligned_side_by_side(rows, left, right, width=72):
    """rows: [(left line or "", right line or "")], already aligned."""
    lines = [f"{left:<{width}} | {right}", "-" * (width * 2 + 3)]
    for x, y in rows:
        mark = " " if x == y else ("<" if not y else (">" if not x else "|"))
        lines.append(f"{x[:width]:<{width}} {mark} {y}")
    return "\n".join(lines)


CHANGES = ("moved", "absent", "extra", "changed")


def load_accepted(path=ACCEPTED_FILE):
    """The entries of accepted_differences.toml. `change` says which kind of
    difference an entry accepts: for the milestones check "moved" (the step
    is made, elsewhere in the order: the default), "absent" (runc makes it,
    the runtime does not) or "extra" (only the runtime makes it); for the
    other checks it defaults to any."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    entries = []
    for e in data.get("difference", []):
        # runtime, key and bundle may be lists: one entry per (runtime,
        # bundle, key), sharing the reason (each is reported stale on its own)
        keys = e.get("key") if isinstance(e.get("key"), list) else [e.get("key")]
        bundles = e.get("bundle") if isinstance(e.get("bundle"), list) else [e.get("bundle", "*")]
        runtimes = e.get("runtime") if isinstance(e.get("runtime"), list) else [e.get("runtime")]
        entries += [dict(e, runtime=r, key=k, bundle=b) for r in runtimes for b in bundles for k in keys]
    for e in entries:
        for field in ("check", "runtime", "key", "reason"):
            if not e.get(field):
                raise ValueError(f"{path}: entry {e} lacks `{field}`")
        e.setdefault("change", "moved" if e["check"] == "milestones" else "*")
        if e["change"] not in CHANGES + ("*",):
            raise ValueError(f"{path}: entry {e['key']!r}: change = {e['change']!r}, want one of {CHANGES}")
    return entries


def _match(d, e):
    return (fnmatch.fnmatchcase(d.check, e["check"]) and fnmatch.fnmatchcase(d.runtime, e["runtime"])
            and fnmatch.fnmatchcase(d.bundle, e.get("bundle", "*")) and fnmatch.fnmatchcase(d.key, e["key"])
            and fnmatch.fnmatchcase(d.change, e.get("change", "*")))


def accept(diffs, entries):
    """Mark each difference an entry accepts (first match) and the entry used."""
    for d in diffs:
        for e in entries:
            if _match(d, e):
                d.accepted = e["reason"]
                e["_used"] = True
                break
    return diffs


def _applies(e, check, runtime, bundle):
    return (fnmatch.fnmatchcase(check, e["check"]) and fnmatch.fnmatchcase(runtime, e["runtime"])
            and fnmatch.fnmatchcase(bundle, e.get("bundle", "*")))


def stale_entries(entries, compared):
    """Entries that accepted nothing although a comparison they apply to ran
    (compared: (check, runtime, bundle) triples): the difference they were
    written for is gone, or they never matched anything."""
    return [e for e in entries
            if not e.get("_used") and any(_applies(e, *c) for c in compared)]


def flatten(doc, prefix=""):
    out = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = doc
    return out


def compare_docs(check, runtime, bundle, ref, act, flat=True):
    a = flatten(ref) if flat else ref
    b = flatten(act) if flat else act
    diffs = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(va, list) and isinstance(vb, list) and all(isinstance(x, str) for x in va + vb):
            diffs += compare_sequences(check, runtime, bundle, va, vb, prefix=k + ":")
            continue
        if va != vb:
            diffs.append(Difference(check, runtime, bundle, k, va, vb))
    return diffs


def compare_sequences(check, runtime, bundle, ref, act, prefix=""):
    """One Difference per differing line (key '-LINE' only in runc, '+LINE'
    only in the runtime); the full sequences are kept for the report. A line
    on both sides but not aligned is "moved"; a line left over is "absent"
    (only in runc's) or "extra" (only in the runtime's)."""
    diffs = []
    sm = difflib.SequenceMatcher(a=ref, b=act, autojunk=False)
    minus, plus = [], []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        minus += ref[i1:i2]
        plus += act[j1:j2]
    # pair each removed line with an added copy of itself: that pair is a move
    unpaired_plus = collections.Counter(plus)
    moved = collections.Counter()
    for x in minus:
        if unpaired_plus[x] > 0:
            unpaired_plus[x] -= 1
            moved[x] += 1
    moved_plus = collections.Counter(moved)
    for x in minus:
        change = "moved" if moved[x] > 0 else "absent"
        moved[x] -= change == "moved"
        diffs.append(Difference(check, runtime, bundle, prefix + "-" + x, ref, act, change=change))
    for y in plus:
        change = "moved" if moved_plus[y] > 0 else "extra"
        moved_plus[y] -= change == "moved"
        diffs.append(Difference(check, runtime, bundle, prefix + "+" + y, ref, act, change=change))
    return diffs


class Collector:
    """Every difference seen in the session, for the report."""

    def __init__(self):
        self.diffs: list[Difference] = []
        self.runtimes: dict[str, Runtime] = {}
        self.compared: set[tuple[str, str, str]] = set()   # (check, runtime, bundle) compared with runc
        self.entries: list[dict] = []   # the accepted differences the session applied
        self.notes: dict[tuple, str] = {}   # (check, runtime, bundle) -> e.g. the first divergent step

    def add(self, diffs):
        self.diffs.extend(diffs)


COLLECTOR = Collector()


def unaccepted(diffs, entries):
    """The differences no entry accepts (marks the accepted ones)."""
    accept(diffs, entries)
    return [d for d in diffs if not d.accepted]


def assert_no_unaccepted(diffs, entries, context, bugs=(), note=None):
    """Fail on any difference not accepted; context is (check, runtime,
    bundle) of the comparison, recorded for the stale-entry report. `bugs`
    are known runtime bugs (same fields as accepted entries): when every
    remaining difference is a known bug the test xfails with the bug's
    reason; a known bug that applies here but is not seen any more fails
    (strict xfail). note goes on the failure's first line."""
    import pytest
    check, runtime, bundle = context
    COLLECTOR.compared.add(context)
    bad = unaccepted(diffs, entries)
    COLLECTOR.add(diffs)
    for b in bugs:
        if _applies(b, check, runtime, bundle) and not any(_match(d, dict(b, change="*")) for d in bad):
            raise AssertionError(f"[XPASS(strict)] known bug not seen any more, remove it from "
                                 f"catalogue.BUGS: {b['reason']}")
    known = [(d, b) for d in bad for b in bugs if _match(d, dict(b, change="*"))]
    if bad and len({id(d) for d, _ in known}) == len(bad):
        pytest.xfail("; ".join(sorted({b["reason"] for _, b in known})))
    if bad:
        # the first line (JUnit's message) names the compared fields
        names = sorted({f"{d.name()} ({d.change})" if d.change != "changed" else d.name() for d in bad})
        msg = [f"{len(bad)} difference(s) from runc not in accepted_differences.toml: " + "; ".join(names)[:600]
               + (f"; {note}" if note else "")]
        if note:
            COLLECTOR.notes[context] = note
        seen = set()
        for d in bad:
            if isinstance(d.reference, list):
                if id(d.reference) in seen:
                    msg.append(f"  key {d.key!r} ({d.change})")
                    continue
                seen.add(id(d.reference))
            msg.append(f"\n[{d.check}] {d.runtime} / {d.bundle}: {d.key} ({d.change})\n{d.side_by_side()}")
        raise AssertionError("\n".join(msg))
    return diffs
