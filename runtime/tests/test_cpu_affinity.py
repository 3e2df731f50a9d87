"""The runtime keeps to one CPU while it sets a container up; the container
and the hooks get the caller's affinity back (runtime/src/linux/cpu_affinity.h,
issue 18).

The container's processes and every hook must see the affinity they would
see under runc: the caller's mask (taskset), within the container's cpuset.
Each case runs the same bundle under runc and glassrun and compares the
`Cpus_allowed_list` the processes print."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import run
from security.helpers import bundle_template, fast_bundle, probe_binary  # noqa: F401

BUSYBOX = "/bin/busybox"  # busybox-static: on the host and in the bundle
CPUS = sorted(os.sched_getaffinity(0))


def callers():
    """(label, argv prefix) for the callers to compare: unrestricted, and
    pinned to each of two CPUs when there are two."""
    out = [("all", [])]
    if not shutil.which("taskset"):
        pytest.skip("taskset is not installed: a restricted caller cannot be made")
    for cpu in CPUS[-2:]:
        out.append((f"cpu{cpu}", ["taskset", "-c", str(cpu)]))
    return out


def allowed(text):
    m = re.search(r"Cpus_allowed_list:\s*(\S+)", text)
    assert m, text
    return m.group(1)


def container_cpus(runtimes, bundle, label, prefix):
    """{runtime: the Cpus_allowed_list its container printed}, each `run`
    started behind prefix (taskset, or nothing)."""
    seen = {}
    for rt in runtimes:
        cid = rt.new_id("aff")
        r = run([*prefix, rt.binary, "--root", rt.root, "run", "-b", bundle.path, cid], stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (label, r.stderr)
        seen[rt] = allowed(r.stdout)
    return seen


def test_run_gives_the_container_the_callers_cpus(glassrun, runc, fast_bundle):
    b = fast_bundle("grep", "Cpus_allowed_list", "/proc/self/status")
    for label, prefix in callers():
        seen = container_cpus((runc, glassrun), b, label, prefix)
        assert seen[glassrun] == seen[runc], (label, seen)


def test_exec_gives_its_process_the_callers_cpus(glassrun, runc, fast_bundle):
    b = fast_bundle("sleep", "60")
    cids = {}
    for rt in (runc, glassrun):
        cids[rt] = rt.new_id("affx")
        r = rt("run", "-d", "-b", b.path, cids[rt], stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
    try:
        for label, prefix in callers():
            seen = {}
            for rt in (runc, glassrun):
                r = run([*prefix, rt.binary, "--root", rt.root, "exec", cids[rt], "grep", "Cpus_allowed_list",
                         "/proc/self/status"], stdin=subprocess.DEVNULL)
                assert r.returncode == 0, (label, r.stderr)
                seen[rt] = allowed(r.stdout)
            assert seen[glassrun] == seen[runc], (label, seen)
    finally:
        for rt, cid in cids.items():
            rt("kill", cid, "KILL")


def test_hooks_run_on_the_callers_cpus(glassrun, runc, fast_bundle, tmp_path):
    """createRuntime runs in the runtime's process tree, createContainer in
    the init's, before the container's process: both on the caller's CPUs."""
    b = fast_bundle("true")
    seen = {}
    for rt in (runc, glassrun):
        log = tmp_path / os.path.basename(rt.binary)
        log.mkdir()

        def edit(c, log=log):
            c["hooks"] = {kind: [{"path": BUSYBOX, "args": [
                "sh", "-c", f"cat >/dev/null; grep Cpus_allowed_list /proc/self/status > {log}/{kind}"]}]
                for kind in ("createRuntime", "createContainer")}

        b.edit(edit)
        cid = rt.new_id("affh")  # an unrestricted caller: a hook left on the runtime's one CPU would differ
        r = run([rt.binary, "--root", rt.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        seen[rt] = {kind: allowed((log / kind).read_text()) for kind in ("createRuntime", "createContainer")}
    assert seen[glassrun] == seen[runc], seen


def test_a_cpuset_in_the_spec_wins_as_under_runc(glassrun, runc, fast_bundle):
    """linux.resources.cpu.cpus: the container's process is on those CPUs,
    whatever CPU the runtime kept to while it set the container up."""
    if len(CPUS) < 2:
        pytest.skip("one CPU here: a cpuset cannot differ from the caller's CPUs")
    b = fast_bundle("grep", "Cpus_allowed_list", "/proc/self/status")
    b.edit(lambda c: c["linux"].setdefault("resources", {}).setdefault("cpu", {}).update(
        {"cpus": str(CPUS[-1]), "mems": "0"}))
    for label, prefix in callers():
        seen = container_cpus((runc, glassrun), b, label, prefix)
        assert seen[glassrun] == seen[runc] == str(CPUS[-1]), (label, seen)


def test_the_runtime_keeps_to_one_cpu_and_the_container_gets_the_mask_back(glassrun, fast_bundle, tmp_path):
    """strace: the runtime pins itself to a single CPU, and the container's
    process (another pid) sets the caller's whole mask again before it
    executes the user's program."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the pinning cannot be observed")
    if len(CPUS) < 2:
        pytest.skip("one CPU here: there is nothing to pin")
    b = fast_bundle("true")
    cid = glassrun.new_id("affp")
    trace = tmp_path / "trace"
    r = run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=sched_setaffinity,execve", glassrun.binary,
             "--root", glassrun.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    calls = re.findall(r"^(\d+)\s+sched_setaffinity\(0, \d+, \[([\d ]+)\]\)\s+= 0", trace.read_text(), re.M)
    assert len(calls) == 2, trace.read_text()
    (runtime_pid, pinned), (container_pid, restored) = calls
    assert len(pinned.split()) == 1, calls
    assert runtime_pid != container_pid and restored.split() == [str(c) for c in CPUS], calls
    execs = re.findall(rf"^{container_pid}\s+execve\(", trace.read_text(), re.M)
    assert execs, "the process that got the mask back is the one that executes the user's program"
