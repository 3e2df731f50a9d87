"""`glassrun exec`: joins the container's namespaces, cgroups and root, gets
the process's privileges and the container's seccomp filter; runc's flags and
messages."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import clone_flags, run


@pytest.fixture
def running(glassrun, make_bundle):
    """A running container (sleep) and its bundle."""

    def start(edit=None, args=("sleep", "100000")):
        b = make_bundle(*args)
        if edit:
            b.edit(edit)
        cid = glassrun.new_id("exec")
        r = glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        return cid, b

    return start


def exec_detached(glassrun, *args):
    """exec -d (conftest's run() keeps output in files: the process keeps them)."""
    return glassrun("exec", "-d", *args, stdin=subprocess.DEVNULL)


def init_pid(glassrun, cid):
    return glassrun.state(cid)["pid"]


def test_output_and_exit_code(glassrun, running):
    cid, _ = running()
    r = glassrun("exec", cid, "sh", "-c", "echo hello; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "hello\n", "err\n")


def test_signal_exit_is_128_plus_n(glassrun, running):
    cid, _ = running()
    r = glassrun("exec", cid, "sh", "-c", "kill -9 $$")
    assert r.returncode == 128 + 9


def test_flags_override_config_process(glassrun, running):
    cid, _ = running()
    r = glassrun("exec", "-e", "FOO=bar", "--env", "BAZ=q", "--cwd", "/tmp", "-u", "1000:1001",
                 "-g", "5", "--additional-gids", "6", cid,
                 "sh", "-c", 'echo "$FOO $BAZ"; pwd; id -u; id -g; id -G; echo "$PATH"')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "bar q"
    assert lines[1] == "/tmp"
    assert lines[2:4] == ["1000", "1001"]
    assert set(lines[4].split()) >= {"1001", "5", "6"}
    assert "/bin" in lines[5]  # the config's env is kept, flags append


def test_joins_every_namespace_of_the_container(glassrun, running):
    cid, b = running()
    r = glassrun("exec", cid, "sh", "-c", "echo $$; for n in /proc/self/ns/*; do echo $(basename $n) $(readlink $n); done")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert int(lines[0]) > 1  # a pid of the container's pid namespace (the init is 1)
    got = dict(l.split(" ", 1) for l in lines[1:])
    pid = init_pid(glassrun, cid)
    types = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup"}
    for ns in b.config["linux"]["namespaces"]:
        name = types.get(ns["type"], ns["type"])
        assert got[name] == os.readlink(f"/proc/{pid}/ns/{name}"), name


def test_sees_the_container_root_and_hostname(glassrun, running):
    cid, b = running(edit=lambda c: c.__setitem__("hostname", "exec-host"))
    (b.path / "rootfs" / "marker-file").write_text("in the container\n")
    r = glassrun("exec", cid, "sh", "-c", "cat /marker-file; hostname; pwd; ls /proc/1/cmdline")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["in the container", "exec-host", "/", "/proc/1/cmdline"]


def test_detached_process_is_in_the_container_cgroups(glassrun, running, tmp_path):
    cid, _ = running()
    pidfile = tmp_path / "exec.pid"
    r = exec_detached(glassrun, "--pid-file", pidfile, cid, "sleep", "100000")
    assert r.returncode == 0, r.stderr
    text = pidfile.read_text()
    assert text.isdigit(), repr(text)  # digits only, no newline
    pid = int(text)
    try:
        assert Path(f"/proc/{pid}/cgroup").read_text() == Path(f"/proc/{init_pid(glassrun, cid)}/cgroup").read_text()
        # The container's ps lists it.
        ps = glassrun("ps", "--format", "json", cid)
        if ps.returncode == 0:
            assert pid in json.loads(ps.stdout)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_process_file_and_flag_orders(glassrun, running, tmp_path):
    cid, b = running()
    proc = dict(b.config["process"], args=["sh", "-c", "echo from-process-file; sleep 100000"], cwd="/tmp")
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    pids = []
    for args in (["--pid-file", tmp_path / "p1", "--process", pf, cid],
                 ["--process", pf, "--pid-file", tmp_path / "p2", cid]):
        r = exec_detached(glassrun, *args)
        assert r.returncode == 0, r.stderr
    for p in ("p1", "p2"):
        pid = int((tmp_path / p).read_text())
        pids.append(pid)
        assert os.readlink(f"/proc/{pid}/cwd").endswith("/tmp")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_missing_command(glassrun, running):
    cid, _ = running()
    r = glassrun("exec", cid, "nope")
    assert r.returncode != 0
    assert r.stderr.startswith('glassrun: exec: process: exec: "nope": executable file not found in $PATH')
    assert len(r.stderr.strip().splitlines()) == 1


def test_stopped_and_paused_containers_are_refused(glassrun, running, runc):
    cid, _ = running()
    assert glassrun("pause", cid).returncode == 0
    r = glassrun("exec", cid, "true")
    assert r.returncode != 0
    assert "cannot exec in a paused container (use --ignore-paused to override)" in r.stderr
    assert glassrun("resume", cid).returncode == 0
    assert glassrun("kill", cid, "KILL").returncode == 0
    give_up = time.monotonic() + 120  # against hangs only
    while glassrun.state(cid)["status"] != "stopped":
        assert time.monotonic() < give_up
        time.sleep(0.01)
    r = glassrun("exec", cid, "true")
    assert r.returncode != 0
    assert "cannot exec in a stopped container" in r.stderr


def test_ignore_paused(glassrun, running):
    cid, _ = running()
    assert glassrun("pause", cid).returncode == 0
    p = subprocess.Popen([glassrun.binary, "--root", glassrun.root, "exec", "--ignore-paused", cid,
                          "echo", "ran"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert glassrun("resume", cid).returncode == 0
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out) == (0, "ran\n"), err
    finally:
        p.kill()
        p.wait()


def test_only_stdio_and_preserved_fds_are_inherited(glassrun, running, tmp_path):
    cid, _ = running()
    r = glassrun("exec", cid, "ls", "/proc/self/fd")
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) <= {"0", "1", "2", "3"}  # 3: ls's own directory fd
    f = tmp_path / "passed"
    f.write_text("preserved!\n")
    with open(f) as fh:
        os.dup2(fh.fileno(), 100)
        try:
            r = subprocess.run([glassrun.binary, "--root", glassrun.root, "exec", "--preserve-fds", "1", cid,
                                "sh", "-c", "cat <&3"], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60, preexec_fn=lambda: os.dup2(100, 3), close_fds=False)
        finally:
            os.close(100)
    assert (r.returncode, r.stdout) == (0, "preserved!\n"), r.stderr


def cap_eff(text):
    for line in text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError(text)


def test_caps_and_no_new_privs(glassrun, running):
    cid, _ = running(edit=lambda c: c["process"].__setitem__("noNewPrivileges", False))
    r = glassrun("exec", cid, "cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    CAP_SYS_ADMIN = 21
    assert not cap_eff(r.stdout) & (1 << CAP_SYS_ADMIN)
    assert "NoNewPrivs:\t0" in r.stdout
    r = glassrun("exec", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", cid, "cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    assert cap_eff(r.stdout) & (1 << CAP_SYS_ADMIN)
    assert "NoNewPrivs:\t1" in r.stdout


def test_rlimits_umask_and_seccomp_of_the_container(glassrun, running):
    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888}]
        c["process"]["user"]["umask"] = 0o027
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}

    cid, _ = running(edit=edit)
    r = glassrun("exec", cid, "sh", "-c", "ulimit -n; ulimit -Hn; umask; grep Seccomp: /proc/self/status; mkdir /tmp/d")
    assert r.returncode != 0  # mkdir is refused
    lines = r.stdout.splitlines()
    assert lines[:3] == ["777", "888", "0027"]
    assert lines[3].split() == ["Seccomp:", "2"]
    assert "Operation not permitted" in r.stderr


def test_signals_are_forwarded(glassrun, running):
    cid, _ = running()
    p = subprocess.Popen([glassrun.binary, "--root", glassrun.root, "exec", cid, "sh", "-c",
                          'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out) == (7, "got-term\n"), err
    finally:
        p.kill()
        p.wait()


def test_user_namespace_container(glassrun, running, tmp_path):
    cid, b = running(edit=userns_edit(tmp_path))
    r = glassrun("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]


def test_tty_flag_errors(glassrun, running, tmp_path):
    cid, _ = running()
    r = glassrun("exec", "-t", "-d", cid, "true")
    assert r.returncode != 0 and "cannot allocate tty if glassrun will detach without setting console socket" in r.stderr
    r = glassrun("exec", "--console-socket", tmp_path / "s", cid, "true")
    assert r.returncode != 0 and "cannot use console socket" in r.stderr


def test_missing_container(glassrun):
    r = glassrun("exec", "does-not-exist-" + os.urandom(4).hex(), "true")
    assert r.returncode != 0 and "container does not exist" in r.stderr


NAMESPACES = ("user", "mnt", "uts", "ipc", "net", "pid", "cgroup")
READ_NS = "for n in " + " ".join(NAMESPACES) + "; do readlink /proc/self/ns/$n; done"


def userns_edit(tmp_path):
    """A user-namespace bundle edit (root mapped to 100000); the mapped root
    must reach the bundle: everyone may traverse tmp_path and its parents."""
    for d in tmp_path.parents:
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o011)
    os.chmod(tmp_path, 0o711)

    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]

    return edit


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
@pytest.mark.parametrize("how", ["runc", "pidfd", "paths"])
def test_exec_joins_the_inits_namespaces(request, make_bundle, tmp_path, how, userns):
    """exec's process is in exactly the init's namespaces, as with runc:
    through one setns(pidfd) (`pidfd`: 2 setns in all, the parent's pid one
    and the child's) or, where pidfd_open is refused, one /proc/<init>/ns
    path per namespace (`paths`, forced with strace's fault injection)."""
    rt = request.getfixturevalue("runc" if how == "runc" else "glassrun")
    b = make_bundle("sleep", "100000")
    if userns:
        b.edit(userns_edit(tmp_path))
    cid = rt.new_id("ns")
    r = rt("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    init = rt.state(cid)["pid"]
    want = [os.readlink(f"/proc/{init}/ns/{n}") for n in NAMESPACES]
    argv = [rt.binary, "--root", rt.root, "exec", cid, "sh", "-c", READ_NS]
    log = tmp_path / "strace.log"
    if how == "pidfd":
        argv = ["strace", "-f", "-qq", "-o", log, "-e", "trace=setns,pidfd_open", *argv]
    elif how == "paths":
        argv = ["strace", "-f", "-qq", "-o", log, "-e", "trace=setns,pidfd_open", "-e", "inject=pidfd_open:error=ENOSYS", *argv]
    if how != "runc" and not shutil.which("strace"):
        pytest.skip("strace is not installed")
    r = run(argv)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == want
    if how != "runc":
        setns = [line for line in log.read_text().splitlines() if " setns(" in line]
        joined = len([n for n in ("user", "mnt", "uts", "ipc", "net", "pid") if n != "user" or userns])
        assert len(setns) == (2 if how == "pidfd" else joined), setns


# ---- how exec's process is cloned (issue 18: cgroups::clone_into_sharing_memory)

def traced_exec(glassrun, cid, log, *args):
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (Debian's strace package): how exec clones cannot be observed")
    return run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3", glassrun.binary,
                "--root", glassrun.root, "exec", *args, cid, "sh", "-c", "echo in; exit 3"], stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("tty", [False, True], ids=["plain", "tty"])
def test_exec_process_shares_the_parents_memory_until_it_executes(glassrun, running, tmp_path, tty):
    """One clone3 with CLONE_VM | CLONE_VFORK (as posix_spawn's child): no
    page tables copied, no copy-on-write faults on either side; the parent
    sleeps until the execve and then serves what the child sent (the
    terminal's master with -t). The process is exec's as before."""
    cid, _ = running()
    log = tmp_path / "strace.log"
    r = traced_exec(glassrun, cid, log, *(["-t"] if tty else []))
    assert r.returncode == 3, r.stderr
    assert r.stdout.replace("\r", "") == "in\n"
    flags = clone_flags(log.read_text())
    assert len(flags) == 1 and {"CLONE_VM", "CLONE_VFORK"} <= set(flags[0].split("|")), log.read_text()


def test_exec_child_failing_before_its_execve_is_reported_and_the_parent_goes_on(glassrun, running):
    """A child that shared the parent's memory and failed (no such
    executable) left the parent's objects intact: the error arrives over the
    channel, named as before, and the next exec works."""
    cid, _ = running()
    r = glassrun("exec", cid, "/no/such/program")
    assert r.returncode == 255
    assert r.stderr.strip() == ('glassrun: exec: process: exec: "/no/such/program": '
                                "stat /no/such/program: no such file or directory"), r.stderr
    r = glassrun("exec", cid, "sh", "-c", "echo again")
    assert (r.returncode, r.stdout) == (0, "again\n"), r.stderr


@pytest.mark.parametrize("why", ["user namespace", "time namespace", "seccomp listener", "paused", "CAP_SYS_PTRACE",
                                 "--cap CAP_SYS_PTRACE", "clone3 refused"])
def test_exec_process_is_forked_where_it_cannot_share_memory(glassrun, running, tmp_path, why):
    """The kernel refuses setns into a user or time namespace to a process
    sharing its memory; a seccomp agent gets the notify fd through the
    parent, and a child frozen in a paused container's cgroups must not hold
    the parent past its timeout, so those need the parent awake; a container
    whose processes (the config's, or this one's with --cap) may hold
    CAP_SYS_PTRACE can reach the child, and so must not reach the parent's
    memory through it: a fork, as before. clone3 refused (ENOSYS): the
    fork's fallback, a plain clone."""
    edit = None
    listener = None
    if why == "user namespace":
        edit = userns_edit(tmp_path)
    elif why == "time namespace":
        if not os.path.exists("/proc/self/timens_offsets"):
            pytest.skip("this kernel has no time namespaces (/proc/self/timens_offsets)")
        edit = lambda c: c["linux"]["namespaces"].append({"type": "time"})  # noqa: E731
    elif why == "CAP_SYS_PTRACE":
        edit = lambda c: c["process"]["capabilities"]["bounding"].append("CAP_SYS_PTRACE")  # noqa: E731
    elif why == "seccomp listener":
        from test_runc_parity_setup import Listener
        listener = Listener(tmp_path / "agent.sock")
        profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": listener.path,
                   "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}]}
        edit = lambda c: c["linux"].__setitem__("seccomp", profile)  # noqa: E731
    try:
        cid, _ = running(edit)
        log = tmp_path / "strace.log"
        if why == "paused":
            assert glassrun("pause", cid).returncode == 0
            p = subprocess.Popen(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3", glassrun.binary,
                                  "--root", glassrun.root, "exec", "--ignore-paused", cid, "sh", "-c", "echo in; exit 3"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                give_up = time.monotonic() + 60  # against hangs only
                while "clone" not in (log.read_text() if log.exists() else ""):
                    assert time.monotonic() < give_up
                    time.sleep(0.01)
                assert glassrun("resume", cid).returncode == 0
                out, err = p.communicate(timeout=60)
            finally:
                p.kill()
                p.wait()
            r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        else:
            inject = ["-e", "inject=clone3:error=ENOSYS"] if why == "clone3 refused" else []
            cap = ["--cap", "CAP_SYS_PTRACE"] if why == "--cap CAP_SYS_PTRACE" else []
            r = run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3", *inject, glassrun.binary,
                     "--root", glassrun.root, "exec", *cap, cid, "sh", "-c", "echo in; exit 3"], stdin=subprocess.DEVNULL)
        assert (r.returncode, r.stdout) == (3, "in\n"), r.stderr
        flags = clone_flags(log.read_text())
        assert len(flags) == 1 and "CLONE_VM" not in flags[0], log.read_text()
        if why == "clone3 refused":  # the sharing clone3 was tried first, then the fork's
            assert flags == ["SIGCHLD"], log.read_text()
            assert [("CLONE_VM" in f) for f in clone_flags(log.read_text(), made=False)] == [True, False], log.read_text()
    finally:
        if listener:
            listener.close()


def test_oom_score_adj_of_a_child_sharing_memory_stays_its_own(glassrun, running, tmp_path):
    """The kernel gives an oom_score_adj written by one process to every
    other process sharing its memory, except a vfork child's (CLONE_VFORK):
    exec's process gets process.oomScoreAdj, its parent keeps its own."""
    cid, b = running()
    proc = dict(b.config["process"], args=["sleep", "100000"], oomScoreAdj=500)
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    own = Path("/proc/self/oom_score_adj").read_text().strip()
    p = subprocess.Popen([glassrun.binary, "--root", glassrun.root, "exec", "--process", str(pf), cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        children = Path(f"/proc/{p.pid}/task/{p.pid}/children")
        give_up = time.monotonic() + 60  # against hangs only
        while not children.read_text().split() or \
                Path(f"/proc/{children.read_text().split()[0]}/comm").read_text().strip() != "sleep":
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < give_up
            time.sleep(0.01)
        child = children.read_text().split()[0]
        assert Path(f"/proc/{child}/oom_score_adj").read_text().strip() == "500"
        assert Path(f"/proc/{p.pid}/oom_score_adj").read_text().strip() == own
    finally:
        p.kill()
        p.wait()
