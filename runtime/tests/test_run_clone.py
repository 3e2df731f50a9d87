"""How `run` clones its init (issue 18, container/create.cpp): sharing the
parent's memory until the init executes (cgroups::clone_into_sharing_memory:
CLONE_VM | CLONE_VFORK with the new namespaces, as posix_spawn's child) where
nothing needs the parent awake before that execve; forked, with exec.fifo
and a start, everywhere else. What the container and `state` show is the
same either way, and the same as under runc."""
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import clone_flags, leftovers, namespace_holder, run

PRINT = ["sh", "-c", "echo in; cat /proc/self/cgroup | grep -c /; exit 3"]


def need_strace():
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (Debian's strace package): how run clones cannot be observed")


def traced(argv, log, *extra):
    """argv under `strace -f`, its clone calls logged to log."""
    need_strace()
    return run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3", *extra, *argv],
               stdin=subprocess.DEVNULL)


def init_clone(log_text):
    """The flags of the call that made the init (the first clone that made a process)."""
    made = clone_flags(log_text)
    assert made, log_text
    return set(made[0].split("|"))


def test_run_clones_its_init_sharing_memory_until_it_executes(glassrun, make_bundle, tmp_path):
    """One clone3 with CLONE_VM | CLONE_VFORK and the new namespaces; the
    container's output, cgroups and exit code as before; nothing left."""
    b = make_bundle(*PRINT)
    cid = glassrun.new_id("rc")
    log = tmp_path / "strace.log"
    r = traced([glassrun.binary, "--root", glassrun.root, "run", "-b", b.path, cid], log)
    assert r.returncode == 3, r.stderr
    assert r.stdout.split()[0] == "in" and int(r.stdout.split()[1]) > 0, r.stdout
    flags = init_clone(log.read_text())
    assert {"CLONE_VM", "CLONE_VFORK", "CLONE_NEWPID", "CLONE_NEWNS"} <= flags, log.read_text()
    assert leftovers(glassrun.root, cid, b.path) == []


def start_foreground(rt, bundle, cid):
    return subprocess.Popen([rt.binary, "--root", rt.root, "run", "-b", str(bundle), cid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_running(rt, cid, p):
    give_up = time.monotonic() + 60  # against hangs only
    while True:
        assert p.poll() is None, p.stderr.read()
        assert time.monotonic() < give_up, f"{cid} never showed as running"
        r = rt("state", cid)
        if r.returncode == 0 and json.loads(r.stdout)["status"] == "running":
            return json.loads(r.stdout)
        time.sleep(0.01)


def shape(state_json, pid):
    """state.json's keys and namespace paths (the pid made neutral)."""
    assert state_json["init_process_pid"] == pid
    return sorted(state_json), {k: v.replace(f"/proc/{pid}/", "/proc/PID/") for k, v in state_json["namespace_paths"].items()}


def test_a_running_run_shows_the_state_runc_shows(glassrun, runc, make_bundle):
    """While the process of a foreground `run` runs, `state` says running
    with its pid, and state.json has runc's keys and namespace paths, and
    the process's own stdio (runc's foreground run relays stdio through
    pipes of its own; glassrun's process has the caller's): here the init
    wrote no exec.fifo and the parent wrote state.json after the init
    executed (it slept until then)."""
    b = make_bundle("sleep", "100000")
    seen = {}
    for rt in (runc, glassrun):
        cid = rt.new_id("rs")
        p = start_foreground(rt, b.path, cid)
        try:
            st = wait_running(rt, cid, p)
            pid = st["pid"]
            assert Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
            assert st["status"] == "running" and st["id"] == cid
            seen[rt] = shape(rt.state_json(cid), pid)
            if rt is glassrun:
                stdio = [os.readlink(f"/proc/{pid}/fd/{i}") for i in range(3)]
                assert rt.state_json(cid)["external_descriptors"] == stdio
            assert not Path(rt.root, cid, "exec.fifo").exists()
        finally:
            rt("kill", cid, "KILL")
            p.wait(timeout=60)
    assert seen[glassrun] == seen[runc]


def poststart_hook(tmp_path):
    mark = tmp_path / "poststart-ran"

    def edit(c):
        c["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"touch {mark}"]}]}
    return edit


CASES = ["create", "run -d", "user namespace", "time namespace", "network namespace by path", "no pid namespace",
         "poststart hook", "seccomp listener", "terminal", "--pid-file", "memory limit", "CAP_SYS_PTRACE",
         "clone3 refused"]


@pytest.mark.parametrize("why", CASES)
def test_run_forks_its_init_where_it_cannot_share_memory(glassrun, make_bundle, tmp_path, why):
    """create and run -d (the init waits for a start while the parent goes
    on), a user or time namespace (refused to a process sharing its memory),
    a namespace joined by path (runc's order, on the fork's path), no pid
    namespace of its own (host processes would see the init), hooks and a
    seccomp listener (they need the parent before the execve), a terminal
    and --pid-file (handed out before the process runs), a memory resource
    (the init's pages would be charged to the parent's cgroup) and
    CAP_SYS_PTRACE: a fork, with exec.fifo and a start, as before. clone3
    refused (ENOSYS): the fork's fallback, a plain clone."""
    b = make_bundle(*PRINT, terminal=(why == "terminal"))
    cid = glassrun.new_id("rf")
    log = tmp_path / "strace.log"
    extra, argv, holder, listener = [], [], None, None
    try:
        if why == "user namespace":
            from test_exec import userns_edit
            b.edit(userns_edit(tmp_path))
        elif why == "time namespace":
            if not os.path.exists("/proc/self/timens_offsets"):
                pytest.skip("this kernel has no time namespaces (/proc/self/timens_offsets)")
            b.edit(lambda c: c["linux"]["namespaces"].append({"type": "time"}))
        elif why == "network namespace by path":
            holder = namespace_holder("net", "--net")
            pid = next(holder)
            b.edit(lambda c: [n.__setitem__("path", f"/proc/{pid}/ns/net") for n in c["linux"]["namespaces"]
                              if n["type"] == "network"])
        elif why == "no pid namespace":
            b.edit(lambda c: c["linux"].__setitem__("namespaces", [n for n in c["linux"]["namespaces"]
                                                                   if n["type"] != "pid"]))
        elif why == "poststart hook":
            b.edit(poststart_hook(tmp_path))
        elif why == "seccomp listener":
            from test_runc_parity_setup import Listener
            listener = Listener(tmp_path / "agent.sock")
            profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": listener.path,
                       "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}]}
            b.edit(lambda c: c["linux"].__setitem__("seccomp", profile))
        elif why == "memory limit":
            b.edit(lambda c: c["linux"].setdefault("resources", {}).__setitem__("memory", {"limit": 256 << 20}))
        elif why == "CAP_SYS_PTRACE":
            b.edit(lambda c: c["process"]["capabilities"]["bounding"].append("CAP_SYS_PTRACE"))
        elif why == "clone3 refused":
            extra = ["-e", "inject=clone3:error=ENOSYS"]
        base = [glassrun.binary, "--root", glassrun.root]
        if why == "create":  # strace follows the init until it exits: started from here meanwhile
            need_strace()
            p = subprocess.Popen(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3", *base, "create",
                                  "-b", str(b.path), cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            try:
                give_up = time.monotonic() + 60  # against hangs only
                while not Path(glassrun.root, cid, "state.json").exists():
                    assert p.poll() is None, p.stderr.read()
                    assert time.monotonic() < give_up
                    time.sleep(0.01)
                assert Path(glassrun.root, cid, "exec.fifo").exists()
                assert glassrun("start", cid).returncode == 0
                assert p.wait(timeout=60) == 0, p.stderr.read()
            finally:
                p.kill()
                p.wait()
        elif why == "run -d":
            r = traced([*base, "run", "-d", "-b", b.path, cid], log)
            assert r.returncode == 0, r.stderr
        else:
            if why == "--pid-file":
                argv = ["--pid-file", str(tmp_path / "pid")]
            r = traced([*base, "run", *argv, "-b", b.path, cid], log, *extra)
            assert r.returncode == 3, r.stderr
            assert r.stdout.replace("\r", "").split()[0] == "in", r.stdout
        flags = init_clone(log.read_text())
        assert "CLONE_VM" not in flags, log.read_text()
        if why == "clone3 refused":  # the sharing clone3 was tried first, then the fork's, then a plain clone
            assert flags == {"SIGCHLD"} or "CLONE_NEWPID" in flags, log.read_text()
            assert ["CLONE_VM" in f for f in clone_flags(log.read_text(), made=False)] == [True, False], log.read_text()
        if why == "poststart hook":
            assert (tmp_path / "poststart-ran").exists()
    finally:
        if listener:
            listener.close()
        if holder:
            holder.close()
        glassrun("delete", "--force", cid)
