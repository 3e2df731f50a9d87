"""Fixtures for glassrun's end-to-end tests: the binary, busybox bundles, and
containers that are always deleted, also when a test fails."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
GLASSRUN = Path(os.environ.get("GLASSRUN", BUILD / "runtime" / "glassrun"))
MKBUNDLE = REPO / "tools" / "mkbundle"


def run(args, check=False, **kw):
    """Runs a command and returns its output. Output goes through files, not
    pipes: a container started by `create` keeps fds 1 and 2 open, so a pipe
    would not reach EOF until the container exits (runc behaves the same)."""
    kw.setdefault("timeout", 60)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([str(a) for a in args], stdout=out, stderr=err, **kw)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(p.args, p.returncode, out.read().decode(errors="replace"),
                                             err.read().decode(errors="replace"))
    if check and result.returncode:
        raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, result.stderr)
    return result


class Runtime:
    """One runtime binary with its own --root, remembering what to delete."""

    def __init__(self, binary, root):
        self.binary = str(binary)
        self.root = str(root)
        self.ids = []

    def __call__(self, *args, **kw):
        return run([self.binary, "--root", self.root, *args], **kw)

    def new_id(self, prefix="t"):
        cid = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def state(self, cid):
        r = self("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def state_json(self, cid):
        return json.loads(Path(self.root, cid, "state.json").read_text())

    def cleanup(self):
        for cid in self.ids:
            self("delete", "--force", cid)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def glassrun(tmp_path):
    if not GLASSRUN.exists():
        pytest.fail(f"{GLASSRUN} is not built (make build)")
    rt = Runtime(GLASSRUN, tmp_path / "state-glassrun")
    yield rt
    rt.cleanup()


def installed_runtime(name, tmp_path):
    """runc or crun from PATH, with its own --root; skips (saying so) when absent."""
    binary = shutil.which(name)
    if not binary:
        pytest.skip(f"{name} is not installed")
    return Runtime(binary, tmp_path / f"state-{name}")


@pytest.fixture
def runc(tmp_path):
    rt = installed_runtime("runc", tmp_path)
    yield rt
    rt.cleanup()


@pytest.fixture
def crun(tmp_path):
    rt = installed_runtime("crun", tmp_path)
    yield rt
    rt.cleanup()


class Bundle:
    def __init__(self, path):
        self.path = Path(path)
        self.config_path = self.path / "config.json"

    @property
    def config(self):
        return json.loads(self.config_path.read_text())

    def edit(self, fn):
        c = self.config
        fn(c)
        self.config_path.write_text(json.dumps(c, indent=1))
        return self

    def set_args(self, *args):
        return self.edit(lambda c: c["process"].__setitem__("args", list(args)))


@pytest.fixture
def make_bundle(tmp_path):
    made = []

    def make(*args, terminal=False, name=None):
        out = tmp_path / (name or f"bundle-{len(made)}")
        cmd = [MKBUNDLE, "-o", out]
        if terminal:
            cmd.append("-t")
        r = run([*cmd, "--", *(args or ["sh"])], env={**os.environ, "GLASSRUN": str(GLASSRUN)})
        assert r.returncode == 0, r.stderr
        made.append(out)
        return Bundle(out)

    return make


def cgroup_dirs_named(cid):
    """Every cgroup directory on the machine whose name is the container id."""
    found = []
    for top in Path("/sys/fs/cgroup").iterdir():
        if top.is_dir():
            # os.walk, not rglob: other containers' cgroups (podman's, in
            # parallel) vanish while we look, and rglob raises on that.
            for dirpath, dirnames, _ in os.walk(top):
                found += [os.path.join(dirpath, d) for d in dirnames if d == cid]
    return found


def namespace_holder(ns, *unshare_args):
    """Yields the pid of `unshare UNSHARE_ARGS sleep`, once it is in a new `ns`
    namespace (/proc/<pid>/ns/<ns>), for bundles that join one by path; kills it after."""
    p = subprocess.Popen(["unshare", *unshare_args, "sleep", "100000"])
    host, end = os.readlink(f"/proc/self/ns/{ns}"), time.monotonic() + 10
    while p.poll() is None and time.monotonic() < end and os.readlink(f"/proc/{p.pid}/ns/{ns}") == host:
        time.sleep(0.01)
    try:
        if p.poll() is not None or os.readlink(f"/proc/{p.pid}/ns/{ns}") == host:
            pytest.fail(f"the {ns} namespace holder (unshare {' '.join(unshare_args)}) did not start (exit {p.poll()})")
        yield p.pid
    finally:
        p.kill()
        p.wait()


def clone_calls(trace_text):
    """(pid, flags, result) of the clone3 and clone calls in an `strace -f`
    log, in order; a call strace split (`<unfinished ...>` then `<...
    clone3 resumed>`, as a CLONE_VFORK parent's) is put back together."""
    out, pending = [], {}
    for line in trace_text.splitlines():
        m = re.match(r"(\d+)\s+(clone3?)\(.*?flags=([A-Z_|0-9x]+)", line)
        if m:
            r = re.search(r"\)\s+=\s+(-?\d+)", line)
            if r:
                out.append((int(m.group(1)), m.group(3), int(r.group(1))))
            elif "<unfinished" in line:
                pending[(m.group(1), m.group(2))] = len(out)
                out.append((int(m.group(1)), m.group(3), None))
            continue
        m = re.match(r"(\d+)\s+<\.\.\. (clone3?) resumed>.*\)\s+=\s+(-?\d+)", line)
        if m and (m.group(1), m.group(2)) in pending:
            i = pending.pop((m.group(1), m.group(2)))
            out[i] = (out[i][0], out[i][1], int(m.group(3)))
    return out


def clone_flags(trace_text, made=True):
    """The flags of the clone3 and clone calls in an `strace -f` log, in
    order: of those that made a process (made), or of those refused."""
    return [f for _, f, r in clone_calls(trace_text) if r is not None and (r > 0) == made]


def processes_mentioning(text):
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if text in (p / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(p.name)
            except OSError:
                pass
    return out


def mounts_mentioning(text):
    return [l for l in Path("/proc/self/mountinfo").read_text().splitlines() if text in l]


def leftovers(root, cid, bundle=None):
    """What a container left behind: its state dir under root, any cgroup dir
    named cid at any depth, processes and mounts naming the bundle or cid.
    Empty when nothing is left."""
    left = []
    if Path(root, cid).exists():
        left.append(f"state dir {Path(root, cid)}")
    left += [f"cgroup {d}" for d in cgroup_dirs_named(cid)]
    for text in filter(None, [str(bundle) if bundle else None, cid]):
        left += [f"process {p} ({text})" for p in processes_mentioning(text) if int(p) != os.getpid()]
        left += [f"mount {m}" for m in mounts_mentioning(text)]
    return left


# ---- the host's cgroups, before and after the session -------------------------
# Tests never change host state: a cgroup directory at the top of any
# hierarchy that the session made and left (podman's /libpod_parent did, from
# session 22 on, and kept the kernel's cpuset switch on for every later
# benchmark) fails the run.

def top_level_cgroups():
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return set()
    return {str(d) for h in [root, *root.iterdir()] if h.is_dir() for d in h.iterdir()
            if d.is_dir() and not d.name.startswith(("cgroup.", "cpuset.", "memory.", "cpu.", "io.", "pids."))}


def pytest_sessionstart(session):
    session.config._cgroups_before = top_level_cgroups()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_cgroups_before", None)
    if before is None:
        return
    left = sorted(top_level_cgroups() - before)
    if left:
        print(f"\nhost state changed: cgroups the session made and left: {left}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
