"""Shared machinery of the conformance suite: runtimes, running a catalogue
bundle once per runtime (cached), normalising what the container saw, and
comparing against runc with the accepted differences applied."""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
import tomllib
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
MKBUNDLE = REPO / "tools" / "mkbundle"
ACCEPTED_FILE = pathlib.Path(__file__).with_name("accepted_differences.toml")
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
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
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


def _run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    kw.setdefault("stdin", subprocess.DEVNULL)
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


def execute(rt, root, bundle_dir, bundle_name, marker_dir=None):
    """create → state/state.json → start → wait stopped → delete, once."""
    res = RunResult(rt.name, bundle_name, bundle_dir=str(bundle_dir))
    res.cid = cid = unique_id(rt.name, bundle_name)
    outf = pathlib.Path(bundle_dir).parent / f"{cid}.out"
    errf = pathlib.Path(bundle_dir).parent / f"{cid}.err"
    try:
        with open(outf, "w") as o, open(errf, "w") as e:
            p = subprocess.run(rt.cmd(root, "create", "--bundle", bundle_dir, cid), stdout=o,
                               stderr=e, stdin=subprocess.DEVNULL, timeout=120)
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


def behaviour_doc(res):
    s = res.sections
    doc = {}
    for k in ("hostname", "domainname", "status", "id", "ulimit", "umask", "cwd", "env",
              "oom_score_adj", "extra"):
        doc[k] = "\n".join(s.get(k, ["<missing>"]))
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

    def side_by_side(self):
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


def load_accepted(path=ACCEPTED_FILE):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    entries = data.get("difference", [])
    for e in entries:
        for field in ("check", "runtime", "key", "reason"):
            if not e.get(field):
                raise ValueError(f"{path}: entry {e} lacks `{field}`")
    return entries


def accept(diffs, entries):
    for d in diffs:
        for e in entries:
            if (fnmatch.fnmatchcase(d.check, e["check"])
                    and fnmatch.fnmatchcase(d.runtime, e["runtime"])
                    and fnmatch.fnmatchcase(d.bundle, e.get("bundle", "*"))
                    and fnmatch.fnmatchcase(d.key, e["key"])):
                d.accepted = e["reason"]
                e["_used"] = True
                break
    return diffs


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
    only in the runtime); the full sequences are kept for the report."""
    diffs = []
    sm = difflib.SequenceMatcher(a=ref, b=act, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        for x in ref[i1:i2]:
            diffs.append(Difference(check, runtime, bundle, prefix + "-" + x, ref, act))
        for y in act[j1:j2]:
            diffs.append(Difference(check, runtime, bundle, prefix + "+" + y, ref, act))
    return diffs


class Collector:
    """Every difference seen in the session, for the report."""

    def __init__(self):
        self.diffs: list[Difference] = []
        self.runtimes: dict[str, Runtime] = {}

    def add(self, diffs):
        self.diffs.extend(diffs)


COLLECTOR = Collector()


def _match(d, e):
    return (fnmatch.fnmatchcase(d.check, e["check"]) and fnmatch.fnmatchcase(d.runtime, e["runtime"])
            and fnmatch.fnmatchcase(d.bundle, e.get("bundle", "*")) and fnmatch.fnmatchcase(d.key, e["key"]))


def assert_no_unaccepted(diffs, entries=None, bugs=(), context=None):
    """Fail on any difference not accepted. `bugs` are known runtime bugs
    (same fields as accepted entries): when every remaining difference is a
    known bug the test xfails with the bug's reason; a known bug that
    applies here but is not seen any more fails (strict xfail)."""
    import pytest
    entries = load_accepted() if entries is None else entries
    accept(diffs, entries)
    COLLECTOR.add(diffs)
    bad = [d for d in diffs if not d.accepted]
    if context:
        check, runtime, bundle = context
        probe = Difference(check, runtime, bundle, "", None, None)
        for b in bugs:
            if _match(probe, dict(b, key="*")) and not any(_match(d, b) for d in bad):
                raise AssertionError(f"[XPASS(strict)] known bug not seen any more, remove it from "
                                     f"catalogue.BUGS: {b['reason']}")
    known = [(d, b) for d in bad for b in bugs if _match(d, b)]
    if bad and len({id(d) for d, _ in known}) == len(bad):
        pytest.xfail("; ".join(sorted({b["reason"] for _, b in known})))
    if bad:
        msg = [f"{len(bad)} difference(s) from runc not in accepted_differences.toml:"]
        seen = set()
        for d in bad:
            if d.check in ("milestones",):
                if id(d.reference) in seen:
                    msg.append(f"  key {d.key!r}")
                    continue
                seen.add(id(d.reference))
            msg.append(f"\n[{d.check}] {d.runtime} / {d.bundle}: {d.key}\n{d.side_by_side()}")
        raise AssertionError("\n".join(msg))
    return diffs
