"""End-to-end tests of `glasstrace session` (a daemon that loads and attaches
the BPF programs once, docs/TRACER.md "Sessions"). Run as root:

    /usr/bin/python3 -m pytest tracer/tests/test_session.py

Every test uses its own session directory (never /run/glasstrace, which
other glasstrace runs on this machine would find and use).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from test_glasstrace import (GLASSRUN, GLASSTRACE, check_not_a_program_exits_127_naming_it, check_schema,  # noqa: F401
                             containers, first_task_event, load, only_runc_races, make_bundle, run, runtime_binary,
                             steps, workdir)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="glasstrace needs root to load BPF programs")


def daemon_gone(pid, timeout=5.0):
    """True once `pid` has exited (gone, or a zombie waiting for init)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


class Session:
    """A session in its own directory; stopped (or killed) at teardown."""

    def __init__(self):
        # a short path: a unix socket's path has 107 bytes at most
        self.dir = Path(tempfile.mkdtemp(prefix="gts-"))
        self.pids = []

    def start(self, *options):
        r = run([GLASSTRACE, "session", "start", "--dir", self.dir, *options])
        assert r.returncode == 0, r.stderr
        self.pids.append(self.pid())
        return r

    def pid(self):
        return int((self.dir / "glasstrace.pid").read_text())

    def env(self):
        return dict(os.environ, GLASSTRACE_SESSION_DIR=str(self.dir))

    def cleanup(self):
        run([GLASSTRACE, "session", "stop", "--dir", self.dir])
        for pid in self.pids:
            if not daemon_gone(pid, timeout=0.5):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def session():
    s = Session()
    yield s
    s.cleanup()


def test_start_record_stop_leaves_nothing(session, workdir):
    r = session.start()
    assert "session running" in r.stdout
    pid = session.pid()
    assert sorted(p.name for p in session.dir.iterdir()) == ["glasstrace.pid", "glasstrace.sock"]
    assert run([GLASSTRACE, "session", "status", "--dir", session.dir]).returncode == 0
    again = run([GLASSTRACE, "session", "start", "--dir", session.dir])
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already runs" in again.stderr

    out = workdir / "s.jsonl"
    r = run([GLASSTRACE, "-o", out, "--session", "--session-dir", session.dir, "--", "sh", "-c", "echo hi; exit 3"])
    assert r.returncode == 3 and r.stdout == "hi\n", r.stderr
    events = load(out)
    check_schema(events)
    meta = events[0]
    assert meta["command"] == ["sh", "-c", "echo hi; exit 3"] and meta["dropped"] == 0
    assert meta["root_pid"] == first_exec(events)["pid"] and meta["usdt"] == []
    assert events[-1]["exit_status"] == 3 and events[-1]["sched_events"] > 0

    stop = run([GLASSTRACE, "session", "stop", "--dir", session.dir])
    assert stop.returncode == 0, stop.stderr
    # the daemon has exited when stop returns: its programs and links went
    # with its fds (nothing is pinned), its socket and pid file are removed
    assert daemon_gone(pid, timeout=0)
    assert not session.dir.exists() or list(session.dir.iterdir()) == []
    assert not [p for p in Path("/sys/fs/bpf").rglob("*") if "glasstrace" in p.name]
    status = run([GLASSTRACE, "session", "status", "--dir", session.dir])
    assert status.returncode == 1 and "no glasstrace session runs" in status.stdout


def test_a_command_that_cannot_be_executed_exits_127_naming_it(session, workdir):
    session.start()
    check_not_a_program_exits_127_naming_it(workdir, "--session", env=session.env())


def test_a_relative_directory_is_where_it_was_meant(session, workdir):
    """`session start --dir D` with D relative to the caller's directory:
    the daemon works from / but listens in D as the caller meant it (it
    used to fail: `listening on D/glasstrace.sock: No such file or
    directory`), and clients find it by the same relative D."""
    rel = session.dir.name
    cwd = session.dir.parent
    r = run([GLASSTRACE, "session", "start", "--dir", rel], cwd=cwd)
    assert r.returncode == 0, r.stderr
    session.pids.append(session.pid())
    assert (session.dir / "glasstrace.sock").is_socket()
    out = workdir / "s.jsonl"
    r = run([GLASSTRACE, "-o", out, "--session", "--session-dir", rel, "--", "true"], cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert first_exec(load(out))["comm"] == "true"
    assert run([GLASSTRACE, "session", "stop", "--dir", rel], cwd=cwd).returncode == 0
    assert daemon_gone(session.pids[-1], timeout=0)


def test_usdt_of_a_command_named_by_a_relative_path(session, workdir, containers):
    """`glasstrace -o F --session -- runtime/glassrun run ...` from the build
    directory: the daemon, which works from /, attaches the step probes of
    the binary the caller meant (it warned `USDT attach to
    runtime/glassrun failed: No such file or directory` and recorded no
    step)."""
    glassrun = Path(os.path.abspath(GLASSRUN))
    cwd, rel = glassrun.parent.parent, glassrun.relative_to(glassrun.parent.parent)
    bundle = make_bundle(workdir / "bundle", ["true"])
    session.start()
    out, cid = workdir / "rel.jsonl", containers.new_id(glassrun)
    r = run([os.path.abspath(GLASSTRACE), "-o", out, "--session", "--session-dir", session.dir, "--",
             rel, "run", "--bundle", bundle, cid], cwd=cwd)
    assert r.returncode == 0 and "USDT" not in r.stderr, r.stderr
    events = load(out)
    assert events[0]["usdt"] == [str(glassrun)]
    assert ("begin", "create.config", 0) in steps(events)


def first_exec(events):
    return next(e for e in events if e["type"] == "exec")


def kinds(events):
    return {e["type"] for e in events}


def milestone_changes(a, b, id_a, id_b):
    c = run([GLASSTRACE, "diff", "--changes", a, b, f"--subst-a=<id>={id_a}", f"--subst-b=<id>={id_b}"])
    assert c.returncode in (0, 1), c.stderr
    return json.loads(c.stdout)["changes"]


@pytest.mark.parametrize("runtime", ["glassrun", "runc"])
def test_trace_through_session_as_without(runtime, session, workdir, containers):
    """The same milestones, event kinds and meta with and without a session;
    glassrun through its own `--trace`, which finds the session by the
    environment and is then the session's client itself (no glasstrace)."""
    binary = runtime_binary(runtime)
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "hostname; echo hello"])
    session.start()
    traces, ids = {}, {}
    for mode in ("session", "own"):
        out, cid = workdir / f"{mode}.jsonl", containers.new_id(binary)
        env = session.env() if mode == "session" else dict(os.environ, GLASSTRACE_SESSION_DIR=str(workdir / "none"))
        if runtime == "glassrun":
            cmd = [binary, "--trace", out, "run", "--bundle", bundle, cid]
        else:
            cmd = [GLASSTRACE, "-o", out, "--", binary, "run", "--bundle", bundle, cid]
        r = run(cmd, env=env)
        assert r.returncode == 0 and "hello" in r.stdout, r.stderr
        traces[mode], ids[mode] = out, cid
    with_session, own = load(traces["session"]), load(traces["own"])
    check_schema(with_session)
    assert kinds(with_session) == kinds(own)
    for key in ("usdt", "tracer", "version", "dropped", "attach_pid"):
        assert with_session[0][key] == own[0][key], key
    assert with_session[0]["command"][-1] == ids["session"]
    # (glassrun as the session's client forks the traced copy of itself: no glasstrace exec)
    assert with_session[0]["root_pid"] == first_task_event(with_session)["pid"]
    if runtime == "glassrun":
        roots = [t[0]["root_pid"] for t in (with_session, own)]
        # The session's root execs only glassrun's own sealed re-exec
        # (CVE-2019-5736, argv without --trace); the one-shot root execs
        # glasstrace's command, glassrun, first.
        root_execs = [e for e in with_session if e["type"] == "exec" and e["pid"] == roots[0]]
        assert [e["argv"] for e in root_execs] == [with_session[0]["command"]], root_execs
        assert not any(e["argv"][0].endswith("glasstrace") for e in root_execs), "glasstrace was executed"
        assert [e for e in own if e["type"] == "exec" and e["pid"] == roots[1]]
        assert with_session[0]["usdt"] == [str(GLASSRUN)]
        # the same steps (the parent's and the init's interleave by timing)
        assert sorted(s[:2] for s in steps(with_session)) == sorted(s[:2] for s in steps(own))
        assert steps(with_session), "no USDT step through the session"
    changes = milestone_changes(traces["session"], traces["own"], ids["session"], ids["own"])
    assert only_runc_races(changes), changes
    # the daemon attached glassrun's USDT probes once, for later runs too
    if runtime == "glassrun":
        st = run([GLASSTRACE, "session", "status", "--dir", session.dir])
        assert str(GLASSRUN) in st.stdout, st.stdout


def test_concurrent_clients_get_their_own_tree(session, workdir):
    session.start()
    results = {}

    def trace(name):
        out = workdir / f"{name}.jsonl"
        # both trees run at the same time: each sleeps while the other starts
        r = run([GLASSTRACE, "-o", out, "--session", "--session-dir", session.dir, "--",
                 "sh", "-c", f"sleep 0.4; echo {name} > /dev/null; /bin/true {name}"])
        results[name] = (r, out)

    threads = [threading.Thread(target=trace, args=(n,)) for n in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids = {}
    for name, (r, out) in results.items():
        assert r.returncode == 0, r.stderr
        events = load(out)
        check_schema(events)
        pids[name] = {e["pid"] for e in events if "pid" in e and e["type"] != "sched"}
        # (a wake-up's by_pid is the waker, any task)
        sched_pids = {e["pid"] for e in events if e["type"] == "sched"}
        execs = [e["argv"] for e in events if e["type"] == "exec"]
        other = "beta" if name == "alpha" else "alpha"
        assert ["/bin/true", name] in execs and not any(other in " ".join(a) for a in execs), execs
        assert events[0]["root_pid"] in pids[name]
        results[name] = (r, out, sched_pids)
    assert pids["alpha"] and pids["beta"] and not pids["alpha"] & pids["beta"]
    assert not results["alpha"][2] & pids["beta"] and not results["beta"][2] & pids["alpha"]


def test_stale_daemon(session, workdir, containers):
    session.start()
    pid = session.pid()
    os.kill(pid, signal.SIGKILL)
    assert daemon_gone(pid)
    out = workdir / "s.jsonl"
    required = run([GLASSTRACE, "-o", out, "--session", "--session-dir", session.dir, "--", "true"])
    assert required.returncode != 0 and required.stderr.count("\n") == 1, required.stderr
    assert "stale" in required.stderr and f"pid {pid}" in required.stderr, required.stderr
    # without --session: recorded the old way
    fallback = run([GLASSTRACE, "-o", out, "--session-dir", session.dir, "--", "sh", "-c", "echo fell back"])
    assert fallback.returncode == 0 and fallback.stdout == "fell back\n", fallback.stderr
    check_schema(load(out))
    # glassrun --trace too (it execs glasstrace, which records the old way)
    bundle = make_bundle(workdir / "bundle", ["true"])
    r = run([GLASSRUN, "--trace", out, "run", "--bundle", bundle, containers.new_id(str(GLASSRUN))], env=session.env())
    assert r.returncode == 0, r.stderr
    check_schema(load(out))
    # start cleans up the stale socket and pid file and runs a new daemon
    session.start()
    assert session.pid() != pid
    r = run([GLASSTRACE, "-o", out, "--session", "--session-dir", session.dir, "--", "true"])
    assert r.returncode == 0, r.stderr


def test_session_required_without_daemon(workdir):
    missing = workdir / "no-session"
    r = run([GLASSTRACE, "-o", workdir / "t.jsonl", "--session", "--session-dir", missing, "--", "true"])
    assert r.returncode != 0 and r.stdout == ""
    assert re.fullmatch(r"glasstrace: no glasstrace session runs in \S+ \(start one: .*\)\n", r.stderr), r.stderr
    assert not (workdir / "t.jsonl").exists()


def test_client_gone_mid_trace(session, workdir):
    """A client killed while its command runs: the daemon closes that trace
    (no exit status) and goes on serving others."""
    session.start()
    out = workdir / "gone.jsonl"
    client = subprocess.Popen([str(GLASSTRACE), "-o", str(out), "--session", "--session-dir", str(session.dir), "--",
                               "sleep", "0.5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.02)
        client.kill()
    finally:
        client.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '"type":"summary"' not in out.read_text():
        time.sleep(0.05)
    events = load(out)
    check_schema(events)
    assert events[-1]["exit_status"] is None
    r = run([GLASSTRACE, "-o", workdir / "next.jsonl", "--session", "--session-dir", session.dir, "--", "true"])
    assert r.returncode == 0, r.stderr
    status = run([GLASSTRACE, "session", "status", "--dir", session.dir])
    assert "0 trace(s) in progress" in status.stdout, status.stdout


def fd_infos(pid):
    """The fields of /proc/PID/fdinfo/* of each fd the daemon holds (a BPF
    link's link_type and tp_name, a map's map_type, map_id, ...)."""
    for fd in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            yield dict(line.split(":\t", 1) for line in fd.read_text().splitlines() if ":\t" in line)
        except (FileNotFoundError, ProcessLookupError):
            continue


def attached_tracepoints(pid):
    """The tracepoints the daemon's programs are attached to: the tp_name of
    each raw_tracepoint link among its fds."""
    return sorted(info["tp_name"] for info in fd_infos(pid) if info.get("link_type") == "raw_tracepoint")


SYSCALL_AND_PROCESS = ["sched_process_exec", "sched_process_exit", "sched_process_fork", "sys_enter", "sys_exit"]
SCHED = ["sched_switch", "sched_wakeup_new", "sched_waking"]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def status_line(session):
    return run([GLASSTRACE, "session", "status", "--dir", session.dir]).stdout


def test_programs_attached_only_while_tracing(session, workdir):
    """An idle session runs nothing in the kernel: its tracepoint programs are
    attached while a trace is in progress, stay for --idle-detach-ms after
    the last one (so back-to-back traces attach once), then are detached.
    (Attached and idle, every syscall and context switch of the machine ran
    them.) The scheduler's only for a trace that wants them."""
    session.start("--idle-detach-ms", "1000")
    pid = session.pid()
    assert attached_tracepoints(pid) == [] and "programs detached" in status_line(session)

    marker = workdir / "running"
    out = workdir / "t.jsonl"
    client = subprocess.Popen([str(GLASSTRACE), "-o", str(out), "--session", "--session-dir", str(session.dir), "--",
                               "sh", "-c", f"touch {marker}; sleep 0.4"], stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(marker.exists)
        during = attached_tracepoints(pid)
    finally:
        client.wait()
    assert client.returncode == 0, client.stderr.read()
    assert during == sorted(SYSCALL_AND_PROCESS + SCHED)
    # still attached just after, and a trace now reuses the same links
    links_after = attached_tracepoints(pid)
    assert links_after == during and "programs attached" in status_line(session)
    events = load(out)
    check_schema(events)
    assert first_exec(events)["pid"] == events[0]["root_pid"] and events[-1]["exit_status"] == 0
    assert wait_for(lambda: attached_tracepoints(pid) == [])
    assert "programs detached" in status_line(session)

    # from idle again: attached for this trace only, without the scheduler's
    r = run([GLASSTRACE, "-o", out, "--no-sched", "--session", "--session-dir", session.dir, "--",
             "sh", "-c", "cat /proc/self/status >/dev/null"])
    assert r.returncode == 0, r.stderr
    events = load(out)
    check_schema(events)
    assert any(e["type"] == "exec" for e in events) and any(e.get("name") == "openat" for e in events)
    assert attached_tracepoints(pid) == SYSCALL_AND_PROCESS
    assert wait_for(lambda: attached_tracepoints(pid) == [])


def test_failed_attach_is_refused_and_leaves_nothing_attached(session, workdir):
    """The daemon attaches when a trace begins: an attach that fails half-way
    (the third tracepoint, made to fail by strace) refuses that trace with
    one line naming the program, detaches what it had attached, and the next
    trace is served."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    session.start("--idle-detach-ms", "0")
    pid = session.pid()
    # The daemon's bpf calls for a trace: two counter reads, then one
    # BPF_RAW_TRACEPOINT_OPEN per program: the 5th call is the third open.
    tracer = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-p", str(pid), "-e", "trace=bpf",
                               "-e", "inject=bpf:error=EBUSY:when=5"], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # strace has attached (it prints nothing with -qq)
        r = run([GLASSTRACE, "-o", workdir / "t.jsonl", "--session", "--session-dir", session.dir, "--", "true"])
    finally:
        tracer.terminate()
        tracer.wait()
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "attaching on_fork failed: Device or resource busy" in r.stderr, \
        r.stderr
    assert wait_for(lambda: attached_tracepoints(pid) == [])
    assert "0 trace(s) in progress" in status_line(session)
    r = run([GLASSTRACE, "-o", workdir / "t.jsonl", "--session", "--session-dir", session.dir, "--", "true"])
    assert r.returncode == 0, r.stderr
    assert first_exec(load(workdir / "t.jsonl"))["pid"] == load(workdir / "t.jsonl")[0]["root_pid"]


# Scenarios below run as their own process, a subreaper that reaps what it
# orphaned at the end (PID 1 here reaps nothing).
SUBREAPER = r"""
import ctypes, os
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
def reap_all():
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
"""


# A traced `sh` loop whose client is killed: the daemon closes that trace
# and unfollows the tree, which runs on (reparented to this subreaper, which
# reaps it after). Prints the session's count of records of no trace and the
# loop's context switches, each read twice, 0.3 s apart.
UNFOLLOWED_SCENARIO = SUBREAPER + r"""
import json, signal, subprocess, sys, time
glasstrace, sdir, out, marker = sys.argv[1:5]
client = subprocess.Popen([glasstrace, "-o", out, "--session", "--session-dir", sdir, "--",
                           "sh", "-c", f"touch {marker}; while :; do cat /dev/null; done"])
root = None
def unrouted():
    r = subprocess.run([glasstrace, "session", "status", "--dir", sdir], capture_output=True, text=True)
    return int(r.stdout.rsplit("records of no trace: ", 1)[1])
def switches(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])
def wait_for(pred):
    deadline = time.monotonic() + 20
    while not pred():
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.02)
try:
    wait_for(lambda: os.path.exists(marker))
    client.kill()
    client.wait()
    wait_for(lambda: '"type":"summary"' in open(out).read())
    root = json.loads(open(out).readline())["root_pid"]
    before = unrouted(), switches(root)
    time.sleep(0.3)
    after = unrouted(), switches(root)
    print(json.dumps({"unrouted": [before[0], after[0]], "switches": [before[1], after[1]]}))
finally:
    if client.poll() is None:
        client.kill()
    if root:
        os.kill(root, signal.SIGKILL)
    reap_all()
"""


def test_a_tree_unfollowed_while_it_runs_is_no_longer_recorded(session, workdir):
    """When a trace is closed while its tree runs on (its client killed), the
    tree is unfollowed: the kernel side stops recording it at once. (Tasks
    note in their storage that they are followed, to skip the look-up in
    `followed`; an unfollow makes them all look again.) Within the session's
    idle linger, so the programs are still attached."""
    session.start("--idle-detach-ms", "60000")
    r = run(["/usr/bin/python3", "-c", UNFOLLOWED_SCENARIO, GLASSTRACE, session.dir, workdir / "t.jsonl",
             workdir / "started"])
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["switches"][1] > seen["switches"][0], seen  # the loop ran on, making syscalls
    assert seen["unrouted"][1] == seen["unrouted"][0], seen  # none of them recorded
    assert "programs attached" in status_line(session)


# A client whose answer the daemon cannot send (strace makes the daemon's
# first sendmsg fail with EPIPE, as for a client killed between the daemon's
# beginning its trace and its answer). Prints whether the trace got its
# summary within 10 s, and how the client, alive here, ended.
UNANSWERED_SCENARIO = SUBREAPER + r"""
import json, subprocess, sys, time
glasstrace, sdir, out, daemon = sys.argv[1:5]
tracer = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-p", daemon, "-e", "trace=sendmsg",
                           "-e", "inject=sendmsg:error=EPIPE:when=1"])
client = None
try:
    time.sleep(0.5)  # strace has attached (it prints nothing with -qq)
    client = subprocess.Popen([glasstrace, "-o", out, "--session", "--session-dir", sdir, "--", "true"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    def summary():
        return os.path.exists(out) and '"type":"summary"' in open(out).read()
    while not summary() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        _, err = client.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        err = None
    print(json.dumps({"summary": summary(), "client_exit": client.returncode, "client_stderr": err}))
finally:
    tracer.terminate()
    tracer.wait()
    if client:
        client.kill()
    reap_all()
"""


def test_a_client_gone_before_its_answer_has_its_trace_finished(session, workdir):
    """A client that goes away after the daemon began its trace but before
    the daemon's answer (the answer's sendmsg fails): the trace ends as at
    the client's EOF, with its summary, and once idle nothing of it stays
    followed or attached. (It was dropped as a refusal: a trace file without
    its summary, the tree still followed, the programs attached for good.)
    A client still there is let go: one line, a non-zero exit."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    session.start("--idle-detach-ms", "0")
    pid = session.pid()
    out = workdir / "t.jsonl"
    r = run(["/usr/bin/python3", "-c", UNANSWERED_SCENARIO, GLASSTRACE, session.dir, out, str(pid)])
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["summary"] is True, seen
    assert seen["client_exit"] not in (None, 0) and seen["client_stderr"].count("\n") == 1, seen
    assert "session: the daemon went away" in seen["client_stderr"], seen
    events = load(out)
    check_schema(events)
    assert events[-1]["exit_status"] is None
    assert wait_for(lambda: attached_tracepoints(pid) == [])
    assert "0 trace(s) in progress" in status_line(session)
    r = run([GLASSTRACE, "-o", workdir / "next.jsonl", "--session", "--session-dir", session.dir, "--", "true"])
    assert r.returncode == 0, r.stderr


def uprobe_events(pid):
    """The uprobe perf events the daemon holds (USDT probes it registered)."""
    n = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == "anon_inode:[perf_event]":
                n += 1
        except FileNotFoundError:
            continue
    return n


def test_usdt_probes_unregistered_after_a_longer_idle(session, workdir, containers):
    """A registered USDT probe traps in every glassrun on the machine, traced
    or not: the session unregisters glassrun's after --usdt-idle-detach-ms
    without a trace (longer than the tracepoints' linger, since registering
    them again waits for an RCU grace period), and registers them again for
    the next trace, whose steps are there."""
    session.start("--idle-detach-ms", "0", "--usdt-idle-detach-ms", "1500")
    pid = session.pid()
    bundle = make_bundle(workdir / "bundle", ["true"])
    for attempt in ("first", "again"):
        out = workdir / f"{attempt}.jsonl"
        r = run([GLASSRUN, "--trace", out, "run", "--bundle", bundle, containers.new_id(GLASSRUN)], env=session.env())
        assert r.returncode == 0, r.stderr
        events = load(out)
        assert events[0]["usdt"] == [str(GLASSRUN)] and steps(events), attempt
        assert str(GLASSRUN) in status_line(session) and uprobe_events(pid) > 0
        # the tracepoints go at once (--idle-detach-ms 0), the probes later
        assert wait_for(lambda: attached_tracepoints(pid) == [])
        assert str(GLASSRUN) in status_line(session), "USDT unregistered with the tracepoints"
        assert wait_for(lambda: uprobe_events(pid) == 0)
        assert "USDT attached: none" in status_line(session)


def followed_pids(pid):
    """The thread groups in the daemon's `followed` map (the hash of 65536
    4-byte keys among its fds), read with bpftool."""
    for info in fd_infos(pid):
        if info.get("map_type") == "1" and info.get("max_entries") == "65536" and info.get("key_size") == "4":
            r = run(["bpftool", "-j", "map", "dump", "id", info["map_id"]])
            assert r.returncode == 0, r.stderr
            return [int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little") for e in json.loads(r.stdout)]
    raise AssertionError("no followed map among the daemon's fds")


# A traced `sh` starts 40 sleepers at once into a one-page ring buffer, so
# that fork records are lost (the kernel side still follows those
# children); its client is then killed, which closes the trace. Prints the
# trace's drop count and what the daemon's `followed` holds while the
# sleepers still run; kills and reaps everything after.
LOST_FORKS_SCENARIO = SUBREAPER + r"""
import json, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[5]))
from test_session import followed_pids
glasstrace, sdir, out, daemon = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = subprocess.Popen([glasstrace, "-o", out, "--session", "--session-dir", sdir, "--", "sh", "-c",
                           "for i in $(seq 40); do sleep 30 & done; wait"], start_new_session=True)
try:
    deadline = time.monotonic() + 20
    while len(open(f"/proc/{client.pid}/task/{client.pid}/children").read().split()) == 0 or \
            len([p for p in os.listdir("/proc") if p.isdigit() and open(f"/proc/{p}/comm").read() == "sleep\n"
                 and os.getpgid(int(p)) == client.pid]) < 40:
        if time.monotonic() > deadline:
            sys.exit("the sleepers never started")
        time.sleep(0.05)
    time.sleep(0.2)
    client.kill()
    client.wait()
    deadline = time.monotonic() + 20
    while '"type":"summary"' not in open(out).read():
        if time.monotonic() > deadline:
            sys.exit("the trace was never closed")
        time.sleep(0.05)
    summary = json.loads(open(out).read().splitlines()[-1])
    deadline = time.monotonic() + 5  # the daemon detaches (and unfollows) just after
    while followed_pids(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps({"dropped": summary["dropped"], "followed": followed_pids(daemon)}))
finally:
    try:
        os.killpg(client.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap_all()
"""


def test_no_trace_in_progress_follows_nothing(session, workdir):
    """Children whose fork records were lost (a full ring buffer) are still
    followed by the kernel side, unknown to the daemon: when it detaches its
    programs (no trace in progress for --idle-detach-ms) the daemon empties
    `followed`, so that they (and a process that later reuses one of their
    pids) are recorded no more."""
    if not shutil.which("bpftool"):
        pytest.skip("bpftool is not installed")
    env = dict(os.environ, GLASSTRACE_RINGBUF_BYTES="4096")
    r = run([GLASSTRACE, "session", "start", "--dir", session.dir, "--idle-detach-ms", "0"], env=env)
    assert r.returncode == 0, r.stderr
    session.pids.append(session.pid())
    r = run(["/usr/bin/python3", "-c", LOST_FORKS_SCENARIO, GLASSTRACE, session.dir, workdir / "t.jsonl",
             str(session.pid()), __file__])
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["dropped"] > 0, seen  # the scenario lost records, as it must to test anything
    assert seen["followed"] == [], seen
