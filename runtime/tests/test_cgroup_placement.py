"""How the init and exec's process get into the container's cgroups
(runtime/src/linux/cgroups_placement.h, issue 18).

Writing a pid to cgroup.procs takes the kernel's global cgroup lock for
writing, and the first such write after a quiet spell waits for an RCU grace
period (~11 ms here). glassrun's init is born in the unified cgroup
(clone3 CLONE_INTO_CGROUP) and moves itself into each v1 hierarchy by
writing "0" to its `tasks` file, which skips that lock. What the container
sees must not change: its /proc/self/cgroup is compared with runc's, also on
the fallback (clone3 refused, as under an older seccomp profile), where the
parent writes cgroup.procs as runc does."""
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import clone_calls, leftovers, run
from security.helpers import bundle_template, fast_bundle, probe_binary  # noqa: F401

UNIFIED = Path("/sys/fs/cgroup/unified")


def need_strace():
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the placement cannot be observed")


def cgroup_lines(text, cid):
    """/proc/self/cgroup with the container id made neutral, sorted."""
    return sorted(line.replace(cid, "<id>") for line in text.split())


def strace_cmd(out, *extra):
    return ["strace", "-f", "-qq", "-yy", "-o", str(out), *extra]


def placement_writes(trace_text):
    """(pid, path, value) of every write to a cgroup.procs or tasks file."""
    found = []
    for line in trace_text.splitlines():
        m = re.match(r'(\d+)\s+write\(\d+<([^>]*/(?:cgroup\.procs|tasks))>, "([^"]*)"', line)
        if m:
            found.append((int(m.group(1)), m.group(2), m.group(3)))
    return found


def into_cgroup_clones(trace_text):
    """Pids made by clone3 with CLONE_INTO_CGROUP."""
    return [r for _, flags, r in clone_calls(trace_text) if "CLONE_INTO_CGROUP" in flags and r and r > 0]


def test_run_places_the_init_without_a_cgroup_procs_write(glassrun, fast_bundle, tmp_path):
    """No cgroup.procs write at all: the init is born in the unified cgroup
    and writes "0" into every v1 hierarchy's tasks file itself."""
    need_strace()
    b = fast_bundle("cat", "/proc/self/cgroup")
    cid = glassrun.new_id("pl")
    trace = tmp_path / "trace"
    r = run([*strace_cmd(trace, "-e", "trace=write,clone,clone3"), glassrun.binary, "--root", glassrun.root,
             "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    text = trace.read_text()
    writes = placement_writes(text)
    assert not [w for w in writes if w[1].endswith("cgroup.procs")], writes
    init_pids = into_cgroup_clones(text) if UNIFIED.is_dir() else []
    if UNIFIED.is_dir():
        assert len(init_pids) == 1, text
    v1 = [w for w in writes if w[1].endswith("/tasks")]
    lines = [l for l in r.stdout.split() if l.split(":")[0] != "0"]  # v1 hierarchies the container is in
    assert len(v1) == len(lines) and lines, (v1, r.stdout)
    assert all(value == "0" for _, _, value in v1), v1
    assert len({pid for pid, _, _ in v1}) == 1, v1  # one process, the init, moved itself
    if init_pids:
        assert v1[0][0] == init_pids[0], (v1, init_pids)
    assert all(f"/{cid}/tasks" in path for _, path, _ in v1), v1


@pytest.mark.parametrize("clone3", ["used", "refused"])
def test_run_puts_the_container_in_the_cgroups_runc_does(glassrun, runc, fast_bundle, tmp_path, clone3):
    """The container's /proc/self/cgroup, glassrun against runc; "refused"
    fails every clone3 with ENOSYS: the parent then moves the init by
    cgroup.procs, as runc."""
    need_strace()
    b = fast_bundle("cat", "/proc/self/cgroup")
    seen = {}
    for rt in (runc, glassrun):
        cid = rt.new_id("pl")
        prefix = []
        if rt is glassrun and clone3 == "refused":
            prefix = strace_cmd(tmp_path / "trace", "-e", "trace=clone3,write", "-e", "inject=clone3:error=ENOSYS")
        r = run([*prefix, rt.binary, "--root", rt.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        seen[rt] = cgroup_lines(r.stdout, cid)
    assert seen[glassrun] == seen[runc]
    assert any("<id>" in line for line in seen[glassrun]), seen[glassrun]
    if clone3 == "refused":
        writes = placement_writes((tmp_path / "trace").read_text())
        assert writes and all(p.endswith("cgroup.procs") for _, p, _ in writes), writes


@pytest.mark.parametrize("clone3", ["used", "refused"])
def test_exec_puts_its_process_in_the_cgroups_runc_does(glassrun, runc, fast_bundle, tmp_path, clone3):
    """exec's process, in a running container: same /proc/self/cgroup as
    under runc, with and without clone3; and it moved itself (no
    cgroup.procs write) when clone3 was there."""
    need_strace()
    b = fast_bundle("sleep", "60")
    seen = {}
    for rt in (runc, glassrun):
        cid = rt.new_id("px")
        r = rt("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        prefix = []
        if rt is glassrun:
            extra = ["-e", "inject=clone3:error=ENOSYS"] if clone3 == "refused" else []
            prefix = strace_cmd(tmp_path / "trace", "-e", "trace=clone,clone3,write", *extra)
        r = run([*prefix, rt.binary, "--root", rt.root, "exec", cid, "cat", "/proc/self/cgroup"],
                stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        seen[rt] = cgroup_lines(r.stdout, cid)
        rt("kill", cid, "KILL")
    assert seen[glassrun] == seen[runc]
    writes = placement_writes((tmp_path / "trace").read_text())
    procs = [w for w in writes if w[1].endswith("cgroup.procs")]
    if clone3 == "used":
        assert not procs and writes and all(v == "0" for _, _, v in writes), writes
    else:
        assert procs and not [w for w in writes if w[1].endswith("/tasks")], writes


def test_a_failed_self_placement_names_the_file_and_leaves_nothing(glassrun, fast_bundle, tmp_path):
    """The init's write into a v1 tasks file fails (ENOSPC injected on the
    pids hierarchy's): one line naming the write and the file, exit 1, and
    no state directory, cgroup, mount or process left."""
    need_strace()
    pids = Path("/sys/fs/cgroup/pids")
    if not pids.is_dir():
        pytest.skip("no cgroup v1 pids hierarchy here: nothing is placed by a tasks write")
    b = fast_bundle("true")
    cid = glassrun.new_id("pf")
    tasks = pids / cid / "tasks"
    r = run([*strace_cmd(tmp_path / "trace", "-P", tasks, "-e", "trace=write", "-e", "inject=write:error=ENOSPC"),
             glassrun.binary, "--root", glassrun.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines == [f"glassrun: run: init: cgroups: move into the container's cgroup: write 0 to {tasks}: "
                     "no space left on device"], r.stderr
    assert "INJECTED" in (tmp_path / "trace").read_text()
    deadline = time.time() + 5
    while leftovers(glassrun.root, cid, b.path) and time.time() < deadline:
        time.sleep(0.1)
    assert leftovers(glassrun.root, cid, b.path) == []
