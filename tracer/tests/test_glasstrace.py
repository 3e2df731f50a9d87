"""End-to-end tests of glasstrace (run as root: BPF needs it).

    /usr/bin/python3 -m pytest tracer/tests/test_glasstrace.py

The binary is $GLASSTRACE or $GLASSRUN_BUILD/tracer/glasstrace, with
GLASSRUN_BUILD defaulting to <repo>/build.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
# the audit comparison is the conformance suite's audit check's (one copy)
sys.path.append(str(REPO / "conformance"))
from audit import comparable_audit  # noqa: E402
BUILD = Path(os.environ.get("GLASSRUN_BUILD", REPO / "build"))
GLASSTRACE = Path(os.environ.get("GLASSTRACE", BUILD / "tracer" / "glasstrace"))
PROBE_DEMO = GLASSTRACE.parent / "glasstrace_probe_demo"
SCHEMA = json.loads((REPO / "tracer" / "schema" / "trace-event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="glasstrace needs root to load BPF programs")


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(a) for a in args], **kw)


def load(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def syscalls(events, name=None):
    return [e for e in events if e["type"] == "syscall" and (name is None or e["name"] == name)]


def first_task_event(events):
    """The first record after meta with the common task fields (not sched)."""
    return next(e for e in events[1:] if e["type"] != "sched")


def check_schema(events):
    assert events[0]["type"] == "meta", "first record must be meta"
    assert events[-1]["type"] == "summary", "last record must be summary"
    for e in events:
        errors = list(VALIDATOR.iter_errors(e))
        assert not errors, f"{errors[0].message} in {e}"


@pytest.fixture(scope="session", autouse=True)
def binary_built():
    assert GLASSTRACE.exists(), f"{GLASSTRACE} not built (set GLASSTRACE or GLASSRUN_BUILD)"


@pytest.fixture
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("glasstrace")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_bundle(root, args):
    """A busybox OCI bundle; `runc spec` defaults, given args, no terminal."""
    rootfs = root / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    for applet in ["sh", "true", "echo", "hostname", "cat", "ls", "sleep"]:
        os.symlink("busybox", rootfs / "bin" / applet)
    assert run(["runc", "spec", "--bundle", root]).returncode == 0
    config = json.loads((root / "config.json").read_text())
    config["process"]["args"] = args
    config["process"]["terminal"] = False
    (root / "config.json").write_text(json.dumps(config, indent=1))
    return root


# runc's parent writes the init's pid to cgroup.procs while the init, in
# nsexec, bind-mounts a read-only copy of runc's binary (CVE-2019-5736) in the
# state dir: the two land in either order from one run to the next (a race of
# runc's, seen in CI), so `diff --changes` may call either of them moved.
RUNC_RACING_STEPS = ("cgroup.attach ", "mount /run/runc/<id>/runc.<rand> ", "umount /run/runc/<id>/runc.<rand>")


def only_runc_races(changes):
    """True when every change is one of runc's racing steps having moved."""
    return all(c["change"] == "moved" and c["key"][1:].startswith(RUNC_RACING_STEPS) for c in changes)


class Containers:
    """Unique container ids; every one deleted at teardown, even on failure."""

    def __init__(self):
        self.made = []

    def new_id(self, runtime):
        cid = f"gt-{uuid.uuid4().hex[:10]}"
        self.made.append((runtime, cid))
        return cid

    def cleanup(self):
        for runtime, cid in self.made:
            subprocess.run([runtime, "delete", "-f", cid], capture_output=True)


@pytest.fixture
def containers():
    c = Containers()
    yield c
    c.cleanup()


@pytest.fixture
def bundle(workdir):
    return make_bundle(workdir / "bundle", ["sh", "-c", "hostname; echo hello"])


@pytest.fixture
def runc_trace(bundle, containers, workdir):
    out = workdir / "runc.jsonl"
    cid = containers.new_id("runc")
    r = run([GLASSTRACE, "-o", out, "--", "runc", "run", "--bundle", bundle, cid])
    assert r.returncode == 0, r.stderr
    assert "hello" in r.stdout
    return out


# --- recording -------------------------------------------------------------

def test_runc_run_trace(runc_trace):
    events = load(runc_trace)
    check_schema(events)
    summary = events[-1]
    assert summary["dropped"] == 0 and summary["exit_status"] == 0
    assert summary["events"] == len(events) - 2

    # The pid namespace: runc 1.1 unshares it in [1:CHILD] and then clones
    # [2:INIT], which is pid 1 there; other runtimes clone with the flag.
    ns_calls = [e for e in syscalls(events)
                if e["name"] in ("clone", "clone3", "unshare") and "CLONE_NEWPID" in e["decoded"].get("flags", "")]
    assert ns_calls, "no clone/unshare with CLONE_NEWPID"
    assert any(e["type"] == "fork" and e["child_ns_pid"] == 1 and e["child_pidns"] != e["pidns"] for e in events)

    pivots = [e for e in syscalls(events, "pivot_root") if e["ret"] == 0]
    assert pivots and pivots[0]["ns_pid"] == 1

    proc_mounts = [e for e in syscalls(events, "mount") if e["decoded"]["filesystemtype"] == "proc" and e["ret"] == 0]
    assert proc_mounts, "no mount of proc"
    assert proc_mounts[0]["decoded"]["source"] == "proc"

    execs = [e for e in syscalls(events, "execve") if e["ret"] == 0 and e["ns_pid"] == 1]
    container_exec = [e for e in execs if e["decoded"]["argv"] == ["sh", "-c", "hostname; echo hello"]]
    assert container_exec, execs
    assert container_exec[0]["pidns"] != first_task_event(events)["pidns"]
    assert any(e["type"] == "exec" and e["argv"] == ["sh", "-c", "hostname; echo hello"] for e in events)

    hostnames = syscalls(events, "sethostname")
    assert hostnames and hostnames[0]["decoded"]["name"] == "runc"

    # cgroup attach is a write whose fd the BPF side resolved.
    writes = [e for e in syscalls(events, "write") if (e["decoded"].get("fd_path") or "").endswith("cgroup.procs")]
    assert writes


def test_exit_status_passthrough(workdir):
    out = workdir / "t.jsonl"
    r = run([GLASSTRACE, "-o", out, "--", "sh", "-c", "exit 7"])
    assert r.returncode == 7, r.stderr
    events = load(out)
    check_schema(events)
    assert events[-1]["exit_status"] == 7
    exits = [e for e in events if e["type"] == "exit" and e["group_dead"]]
    assert exits[-1]["exit_code"] == 7

    r = run([GLASSTRACE, "-o", out, "--", "sh", "-c", "kill -TERM $$"])
    assert r.returncode == 128 + signal.SIGTERM
    events = load(out)
    assert any(e["type"] == "exit" and e["signal"] == "SIGTERM" for e in events)


def test_nothing_missed_before_exec(workdir):
    """The held child is followed before it execs: the exec and the new
    image's very first syscall (brk) are in the trace."""
    out = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "true"]).returncode == 0
    events = load(out)
    ex = [i for i, e in enumerate(events) if e["type"] == "syscall" and e["name"] == "execve" and e["ret"] == 0]
    assert ex
    after = [e["name"] for e in syscalls(events) if e["ts"] > events[ex[0]]["ts"]]
    assert after and after[0] == "brk"


def test_namespace_fields_follow_unshare_and_setns_in_one_task(workdir):
    """The BPF side keeps a task's namespace ids while its nsproxy is the
    same: the records of one process right after its own unshare(CLONE_NEWNS)
    show the new mount namespace, and after setns back, the host's."""
    host = int(os.readlink("/proc/self/ns/mnt").split("[")[1].rstrip("]"))
    out = workdir / "t.jsonl"
    # nsenter enters the mount namespace of this test's process: the host's.
    cmd = ["unshare", "-m", "--propagation", "unchanged", "--", "nsenter", f"--mount=/proc/{os.getpid()}/ns/mnt",
           "--", "sh", "-c", "true"]
    assert run([GLASSTRACE, "-o", out, "--"] + cmd).returncode == 0
    calls = syscalls(load(out))
    unshare = next(e for e in calls if e["name"] == "unshare")
    setns = next(e for e in calls if e["name"] == "setns" and e["pid"] == unshare["pid"])
    assert unshare["ret"] == 0 and setns["ret"] == 0
    same = [e for e in calls if e["tid"] == unshare["tid"]]
    assert unshare["mntns"] == host  # its entry was made before the unshare
    between = [e for e in same if unshare["ts"] < e["ts"] < setns["ts"]]
    after = [e for e in same if e["ts"] > setns["ts"]]
    assert between and after
    assert {e["mntns"] for e in between} == {setns["mntns"]} and setns["mntns"] != host
    assert {e["mntns"] for e in after} == {host}


def cgroup2_mount():
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    pytest.skip("no cgroup2 mounted")


def test_cgroup_field_follows_a_move_to_another_cgroup(workdir):
    """The BPF side keeps a task's cgroup id while its css_set is the same:
    the records of one process after it moved itself into another cgroup
    carry that cgroup's id, those before it the one it started in."""
    mount = cgroup2_mount()
    rel = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
    before = (mount / rel.lstrip("/")).stat().st_ino
    target = mount / f"glasstrace-test-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    try:
        out = workdir / "t.jsonl"
        script = f"echo $$ > {target}/cgroup.procs; read x < /dev/null; exit 0"
        assert run([GLASSTRACE, "-o", out, "--", "sh", "-c", script]).returncode == 0
        after = target.stat().st_ino
    finally:
        target.rmdir()
    calls = syscalls(load(out))
    move = next(e for e in calls if e["name"] == "write" and (e["decoded"].get("fd_path") or "").endswith("cgroup.procs"))
    same = [e for e in calls if e["tid"] == move["tid"]]
    earlier = [e for e in same if e["ts"] < move["ts"]]
    later = [e for e in same if e["ts"] > move["ts"] + move["dur_ns"]]
    assert earlier and later
    assert {e["cgroup"] for e in earlier} == {before}
    assert {e["cgroup"] for e in later} == {after} and after != before


def test_calls_recorded_at_exit_are_one_record_with_their_entry_comm(workdir):
    """Calls that return without waiting (tracer/src/capture_plan.cpp) are
    recorded whole at their exit: one BPF record instead of an entry and an
    exit. What only the entry knows is kept: the time it began (dur_ns) and
    the comm then, so the prctl(PR_SET_NAME) that renames the task still
    shows the old name, and the calls after it the new one."""
    out = workdir / "t.jsonl"
    script = ("import ctypes, os\n"
              "for _ in range(3000): os.getppid()\n"
              "ctypes.CDLL(None).prctl(15, b'gt-renamed', 0, 0, 0)\n"
              "os.getppid()\n")
    assert run([GLASSTRACE, "-o", out, "--", "/usr/bin/python3", "-c", script]).returncode == 0
    events = load(out)
    check_schema(events)
    summary = events[-1]
    getppid = syscalls(events, "getppid")
    assert len(getppid) == 3001
    assert all(e["complete"] and e["ret"] > 0 and e["dur_ns"] > 0 for e in getppid)
    # Most of the ~3400 calls are getppid: about one record each (two each
    # when every call had an entry and an exit record).
    assert summary["records"] < 1.3 * summary["syscalls"], summary
    rename = next(e for e in syscalls(events, "prctl") if e["decoded"]["option"] == "PR_SET_NAME")
    assert rename["ret"] == 0 and rename["complete"] and rename["comm"] == "python3"
    assert getppid[-1]["comm"] == "gt-renamed" and getppid[-1]["ts"] > rename["ts"]


def test_io_on_regular_files_is_recorded_at_exit_pipes_are_not(workdir):
    """read, write, pread64... of a regular file cannot wait for another
    task: one record at exit. On a pipe they can: an entry and an exit
    record, so a read still waiting when a trace ends is in it."""
    def records(script):
        out = workdir / "t.jsonl"
        assert run([GLASSTRACE, "-o", out, "--", "/usr/bin/python3", "-c", script]).returncode == 0
        events = load(out)
        check_schema(events)
        return events[-1]["records"], len(syscalls(events, "read")) + len(syscalls(events, "pread64"))
    data = workdir / "data"
    data.write_bytes(b"x" * 4096)
    file_records, file_calls = records(f"import os\nfd = os.open({str(data)!r}, os.O_RDONLY)\n"
                                       "for i in range(2000): os.pread(fd, 1, i)\n")
    pipe_records, pipe_calls = records("import os\nr, w = os.pipe()\nos.write(w, b'x' * 2000)\n"
                                       "for i in range(2000): os.read(r, 1)\n")
    assert file_calls >= 2000 and pipe_calls >= 2000
    assert pipe_records - file_records >= 1900, (pipe_records, file_records)


# A command that opens a FIFO twice: without waiting (O_NONBLOCK), then
# waiting for a writer; it ignores SIGINT, so glasstrace's first SIGINT
# leaves it blocked and the second stops the trace with the open in
# flight. Run by a subreaper that unblocks and reaps everything after.
IN_FLIGHT_SCENARIO = r"""
import ctypes, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
glasstrace, out, fifo = sys.argv[1:4]
os.mkfifo(fifo)
cmd = ("import os, signal\n"
       "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
       f"os.close(os.open({fifo!r}, os.O_RDONLY | os.O_NONBLOCK))\n"
       f"os.open({fifo!r}, os.O_RDONLY)\n")
tracer = subprocess.Popen([glasstrace, "-o", out, "--", "/usr/bin/python3", "-c", cmd])
try:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the command waits in its second open
        kids = open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()
        if kids and open(f"/proc/{kids[0]}/wchan").read() in ("pipe_wait_readable", "wait_for_partner", "fifo_open"):
            break
        time.sleep(0.02)
    else:
        sys.exit("the command never waited in its open")
    time.sleep(0.2)  # its records drained
    tracer.send_signal(signal.SIGINT)
    time.sleep(0.2)
    tracer.send_signal(signal.SIGINT)
    sys.exit(tracer.wait(timeout=30))
finally:
    if tracer.poll() is None:
        tracer.kill()
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)) if os.path.exists(fifo) else None
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
"""


def test_an_open_that_may_wait_is_in_a_trace_that_ends_before_it_returns(workdir):
    """An open that may wait (a FIFO without a writer) keeps its entry
    record: stopped while it waits, the trace shows it incomplete, with its
    path. The same open with O_NONBLOCK cannot wait: one record at exit."""
    out, fifo = workdir / "t.jsonl", workdir / "fifo"
    for f in (out, fifo):
        f.unlink(missing_ok=True)
    r = run(["/usr/bin/python3", "-c", IN_FLIGHT_SCENARIO, GLASSTRACE, out, fifo])
    assert r.returncode in (0, 130), r.stderr
    opens = [e for e in syscalls(load(out), "openat") if e["decoded"]["pathname"] == str(fifo)]
    assert [(e["complete"], "O_NONBLOCK" in e["decoded"]["flags"]) for e in opens] == [(True, True), (False, False)]
    assert opens[0]["ret"] >= 0 and opens[1]["ret"] is None


def test_follows_descendants_and_threads(workdir):
    out = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "sh", "-c", "sh -c '/bin/true' ; /bin/echo x > /dev/null"]).returncode == 0
    events = load(out)
    pids = {e["pid"] for e in syscalls(events)}
    assert len(pids) >= 3
    forks = [e for e in events if e["type"] == "fork"]
    assert {f["child_pid"] for f in forks} <= pids
    assert all(f["flags"] for f in forks)


def test_follows_a_child_that_outlives_the_command(workdir):
    """`create` returns while the init it forked lives on: the trace goes on
    until that child is gone too, even when its fork record is still in the
    ring buffer (records wake glasstrace only in batches) as the command
    exits."""
    out = workdir / "t.jsonl"
    r = run([GLASSTRACE, "-o", out, "--", "sh", "-c", "(sleep 0.3; exec /bin/true) & exit 0"])
    assert r.returncode == 0, r.stderr
    execs = [e["decoded"]["pathname"] for e in syscalls(load(out), "execve") if e["ret"] == 0]
    assert "/bin/true" in execs, execs


def test_command_not_found(workdir):
    r = run([GLASSTRACE, "-o", workdir / "t.jsonl", "--", "no-such-command-xyz"])
    assert r.returncode == 127
    assert r.stderr.strip() == "glasstrace: command not found: no-such-command-xyz"


def test_the_command_shares_the_tracers_memory_until_it_execs(workdir):
    """The command is started with clone(CLONE_VM) on a stack of its own and
    held there, not forked: no page tables copied, no copy-on-write faults
    on either side while it waits to be followed (docs/TRACER.md). strace
    shows the clone whose child executes the command; a fork has no CLONE_VM."""
    log = workdir / "clones.txt"
    r = run(["strace", "-f", "-qq", "-o", log, "-e", "trace=clone,clone3,fork,vfork,execve",
             GLASSTRACE, "--no-session", "-o", workdir / "t.jsonl", "--", "true"])
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    command = [line.split()[0] for line in lines if re.search(r'execve\("[^"]*/true"', line)]
    assert len(command) == 1, lines
    made = [line for line in lines if re.search(r"\b(clone3?|v?fork)\(.*= " + command[0] + "$", line)]
    assert len(made) == 1, lines
    assert "CLONE_VM" in made[0] and "CLONE_VFORK" not in made[0], made[0]
    events = load(workdir / "t.jsonl")
    assert [e["decoded"]["pathname"] for e in syscalls(events, "execve")] == [shutil.which("true")]


def check_not_a_program_exits_127_naming_it(workdir, session_use, env=None):
    """execv fails in the held command (ENOEXEC: not a program): its errno
    comes back over the pipe, the tracer says so in one line and exits 127;
    nothing is left running. (test_session.py runs it through a session.)"""
    bad = workdir / "not-a-program"
    bad.write_bytes(b"\x7fELF\x02\x01\x01 no program here\n")
    bad.chmod(0o755)
    r = run([GLASSTRACE, session_use, "-o", workdir / "t.jsonl", "--", bad], env=env)
    assert r.returncode == 127, r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"glasstrace: cannot start {bad}: Exec format error", r.stderr
    assert not run(["pgrep", "-f", str(bad)]).stdout


def test_a_command_that_cannot_be_executed_exits_127_naming_it(workdir):
    check_not_a_program_exits_127_naming_it(workdir, "--no-session")


def test_not_root_is_a_clear_error(workdir):
    os.chmod(workdir, 0o777)
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             GLASSTRACE, "-o", workdir / "t.jsonl", "--", "true"])
    assert r.returncode != 0
    assert r.stderr.strip() == ("glasstrace: loading BPF programs needs root or CAP_BPF+CAP_PERFMON: "
                                "operation not permitted")


def test_attach_to_pid(workdir):
    fifo = workdir / "go"
    os.mkfifo(fifo)
    target = subprocess.Popen(["sh", "-c", f"read x < {fifo}; /bin/echo attached > /dev/null; exit 3"])
    out = workdir / "p.jsonl"
    tracer = subprocess.Popen([str(GLASSTRACE), "-o", str(out), "-p", str(target.pid)],
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not (out.exists() and out.read_text().startswith('{"v":1,"type":"meta"')):
            time.sleep(0.05)
        assert out.exists(), "tracer did not start"
        with open(fifo, "w") as f:
            f.write("go\n")
        assert target.wait(timeout=20) == 3
        # Stops by itself once the tree is gone.
        assert tracer.wait(timeout=20) == 0, tracer.stderr.read()
    finally:
        for p in (target, tracer):
            if p.poll() is None:
                p.kill()
                p.wait()
    events = load(out)
    check_schema(events)
    assert events[0]["attach_pid"] == target.pid
    execs = [e for e in syscalls(events, "execve") if e["decoded"]["pathname"] == "/bin/echo"]
    assert execs and execs[0]["pid"] != target.pid, "child of the attached process not followed"
    assert any(e["type"] == "exit" and e["pid"] == target.pid and e["exit_code"] == 3 for e in events)


# --- USDT ------------------------------------------------------------------

def steps(events):
    return [(e["phase"], e["name"], e["err"]) for e in events if e["type"] == "step"]


WANT_STEPS = [("begin", "demo.outer", 0), ("begin", "demo.inner", 0),
              ("end", "demo.inner", 0), ("end", "demo.outer", 5)]


def test_usdt_steps_of_traced_command(workdir):
    out = workdir / "u.jsonl"
    r = run([GLASSTRACE, "-o", out, "--", PROBE_DEMO])
    assert r.returncode == 0, r.stderr
    events = load(out)
    check_schema(events)
    assert events[0]["usdt"] == [str(PROBE_DEMO)]
    assert steps(events) == WANT_STEPS


def test_usdt_steps_with_explicit_binary(workdir):
    out = workdir / "u.jsonl"
    r = run([GLASSTRACE, "-o", out, "--usdt", PROBE_DEMO, "--", "sh", "-c", f"{PROBE_DEMO}; true"])
    assert r.returncode == 0, r.stderr
    assert steps(load(out)) == WANT_STEPS


def test_full_kernel_btf_fallback_records_the_same(workdir):
    # On a kernel other than the build's, CO-RE relocates against the full
    # kernel BTF instead of the embedded minimised one; forced here.
    out = workdir / "u.jsonl"
    env = dict(os.environ, GLASSTRACE_FULL_KERNEL_BTF="1")
    r = run([GLASSTRACE, "-o", out, "--", PROBE_DEMO], env=env)
    assert r.returncode == 0, r.stderr
    events = load(out)
    check_schema(events)
    assert steps(events) == WANT_STEPS
    getpids = syscalls(events, "getpid")
    assert getpids and getpids[0]["pid"] == events[0]["root_pid"]
    assert getpids[0]["ns_pid"] > 0 and getpids[0]["mntns"] > 0


def test_usdt_target_equal_to_command_attached_once(workdir):
    # Attached twice, every step would be recorded twice.
    out = workdir / "u.jsonl"
    r = run([GLASSTRACE, "-o", out, "--usdt", PROBE_DEMO, "--usdt", PROBE_DEMO, "--", PROBE_DEMO])
    assert r.returncode == 0, r.stderr
    events = load(out)
    assert events[0]["usdt"] == [str(PROBE_DEMO)]
    assert steps(events) == WANT_STEPS


def test_usdt_not_attached_to_plain_binary(workdir):
    out = workdir / "u.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "true"]).returncode == 0
    assert load(out)[0]["usdt"] == []


def test_usdt_target_that_cannot_be_read_is_named_with_the_failed_call(workdir):
    """An explicit --usdt target that cannot be opened or read is a warning
    naming the call and its error, not "has no probes"; the trace is
    recorded all the same, without it."""
    cases = {workdir / "missing": "open: No such file or directory", workdir: "pread: Is a directory"}
    for target, why in cases.items():
        out = workdir / "r.jsonl"
        r = run([GLASSTRACE, "-o", out, "--no-session", "--usdt", target, "--", "true"])
        assert r.returncode == 0, r.stderr
        assert f"glasstrace: warning: --usdt {target}: {why}" in r.stderr
        assert "has no glassrun USDT probes" not in r.stderr
        assert load(out)[0]["usdt"] == []
    r = run([GLASSTRACE, "-o", workdir / "p.jsonl", "--no-session", "--usdt", shutil.which("true"), "--", "true"])
    assert f"{shutil.which('true')} has no glassrun USDT probes" in r.stderr


@pytest.mark.parametrize("command", ["probe_demo", "plain"])
def test_usdt_check_reads_the_command_without_mapping_it(workdir, command):
    """Whether the command has glassrun's probes is read from its section
    headers and notes with pread: the file is never mapped (a mapping of the
    whole binary cost its page faults and an munmap at every client's
    start). The answer is the same (the usdt tests above)."""
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (ci/install-deps.sh installs it)")
    binary = str(PROBE_DEMO) if command == "probe_demo" else shutil.which("true")
    log = workdir / "strace.log"
    r = run(["strace", "-f", "-o", log, "-e", "trace=openat,mmap,pread64,close",
             GLASSTRACE, "-o", workdir / "m.jsonl", "--no-session", "--", binary])
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    opened = [re.search(r"= (\d+)$", l).group(1) for l in lines
              if "openat(" in l and f'"{binary}"' in l and re.search(r"= \d+$", l)]
    assert opened, "the command's binary was not opened"
    fd = opened[0]
    reads = [l for l in lines if re.search(rf"pread64\({fd},", l)]
    maps = [l for l in lines if re.search(rf"mmap\([^,]*, \d+, [^,]*, [^,]*, {fd},", l)]
    assert reads and not maps, (reads, maps)


# --- exit ------------------------------------------------------------------

def test_exit_leaves_no_holder_of_callers_pipes(workdir):
    # Probes are detached after glasstrace exits (by a child holding only the
    # BPF fds): the caller's stdout/stderr must reach EOF when glasstrace
    # exits, and the trace must already be complete then.
    out = workdir / "u.jsonl"
    p = subprocess.Popen([str(GLASSTRACE), "-o", str(out), "--", str(PROBE_DEMO)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.wait(timeout=120) == 0
    events = load(out)
    check_schema(events)
    assert steps(events) == WANT_STEPS
    # communicate() returns only at EOF: no process but glasstrace held the
    # pipes (the timeout only keeps a regression from hanging the suite).
    stdout, stderr = p.communicate(timeout=60)
    assert (stdout, stderr) == (b"", b"")


# --- renderers -------------------------------------------------------------

STRACE_LINE = re.compile(r"^\[pid (\d+)\] (\d\d:\d\d:\d\d\.\d{6}) "
                         r"(?:([a-z0-9_]+)\((.*)\) = (\?|-?\d+|0x[0-9a-f]+|-1 E[A-Z0-9_]+ \(.*\))(?: <(\d+\.\d{6})>)?"
                         r"|\+\+\+ (?:exited with \d+|killed by SIG\w+(?: \(core dumped\))?) \+\+\+"
                         r"|--- step_(?:begin|end) .* ---)$")


def test_show_strace(runc_trace):
    r = run([GLASSTRACE, "show", runc_trace, "--format", "strace"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) > 100
    for line in lines:
        assert STRACE_LINE.match(line), line
    assert any(re.search(r' mount\("proc", "/proc/self/fd/\d+", "proc", (0|MS_[A-Z_|]+), NULL\) = 0 <', l)
               for l in lines)
    assert any(' pivot_root(".", ".") = 0' in l for l in lines)


def test_a_trace_cut_short_mid_line_is_read_up_to_the_cut(workdir):
    """A recording killed (or out of space) while writing a line leaves it
    without its newline: every reader (show, milestones, critical-path,
    diff ...) reads the lines before it and says so on one line; a broken
    line anywhere else is still an error (exit 2 naming file and line)."""
    whole = workdir / "whole.jsonl"
    assert run([GLASSTRACE, "-o", whole, "--", "true"]).returncode == 0
    text = whole.read_text()
    lines = text.splitlines()
    cut = workdir / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:len(lines[-1]) // 2])
    r = run([GLASSTRACE, "show", cut])
    assert r.returncode == 0, r.stderr
    assert r.stderr == (f"glasstrace: warning: {cut}:{len(lines)}: the last line is cut short "
                        "(the recording stopped while writing it); read the lines before it\n")
    assert r.stdout == run([GLASSTRACE, "show", whole]).stdout  # the summary line is the one cut
    for command in (["milestones"], ["critical-path"], ["diff", whole]):
        r = run([GLASSTRACE, *command, cut])
        assert r.returncode in (0, 1) and "cut short" in r.stderr, (command, r.stderr)
    broken = workdir / "broken.jsonl"
    broken.write_text("\n".join(lines[:2] + [lines[2][:10]] + lines[3:]) + "\n")
    r = run([GLASSTRACE, "show", broken])
    assert r.returncode == 2 and r.stderr == f"glasstrace: {broken}:3: not JSON\n", r.stderr


@pytest.mark.parametrize("content,message", [
    ('{"a": 1}\n', "1: not a glasstrace record"),
    ('[1, 2]\n', "1: not a glasstrace record"),
    ('', "no complete record: not a trace"),
    ('{"v": 1, "type": "syscall", "pid": "x"}\n', "a record lacks a field or has one of another type"),
])
def test_a_file_that_is_not_a_trace_is_one_line_and_exit_2(workdir, content, message):
    """JSON Lines that are not glasstrace's (another tool's, an empty file, a
    record with a field of another type) make every reader say so on one
    line and exit 2; they aborted (`terminate called after throwing an
    instance of 'nlohmann::...::type_error'`, SIGABRT) or rendered nothing."""
    f = workdir / "not-a-trace.jsonl"
    f.write_text(content)
    for command in (["show"], ["show", "--format", "chrome"], ["show", "--format", "summary"], ["milestones"],
                    ["critical-path"], ["seccomp-profile"], ["diff", f]):
        r = run([GLASSTRACE, *command, f])
        assert r.returncode == 2, (command, r.returncode, r.stderr)
        assert r.stderr.startswith(f"glasstrace: {f}") and message in r.stderr, (command, r.stderr)
        assert r.stderr.count("\n") == 1, (command, r.stderr)


def test_a_trace_that_cannot_be_read_says_so(workdir):
    """A read that fails (strace -e inject) is not taken for the end of the
    file: one line saying the file could not be read, exit 2."""
    f = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", f, "--", "true"]).returncode == 0
    r = run(["strace", "-f", "-q", "-o", "/dev/null", "-e", "inject=read:error=EIO", GLASSTRACE, "show", f])
    assert r.returncode == 2 and r.stderr == f"glasstrace: cannot read {f}: a read failed\n", r.stderr


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "glasstrace: The following argument was not expected: --bogus (see glasstrace --help)"),
    (["show"], "glasstrace: show: file is required (see glasstrace show --help)"),
    (["show", "--format", "xml", "t.jsonl"],
     "glasstrace: show: --format: xml not in {strace,chrome,summary} (see glasstrace show --help)"),
    (["diff", "t.jsonl"], "glasstrace: diff: b is required (see glasstrace diff --help)"),
    (["critical-path", "--bogus", "t.jsonl"],
     "glasstrace: critical-path: The following argument was not expected: --bogus (see glasstrace critical-path --help)"),
    (["session", "start", "--bogus"],
     "glasstrace: session start: The following argument was not expected: --bogus (see glasstrace session start --help)"),
    (["--", "true"], "glasstrace: -o FILE is required when recording (see glasstrace --help)"),
    (["-o", "t.jsonl", "-p", "1", "--", "true"], "glasstrace: give either -p PID or -- CMD ARGS (see glasstrace --help)"),
    (["show", "missing.jsonl"], "glasstrace: cannot read missing.jsonl: No such file or directory"),
])
def test_a_usage_error_is_one_line_naming_the_subcommand_and_exit_2(workdir, args, message):
    """Bad usage is bad input: one line naming the subcommand and its help,
    exit 2 for every subcommand. CLI11's own exits were 105-114 with two lines
    and no "glasstrace:"; a file that could not be opened had no reason."""
    (workdir / "t.jsonl").write_text("")
    r = run([GLASSTRACE, *args], cwd=workdir)
    assert (r.returncode, r.stderr) == (2, message + "\n")
    assert not (workdir / "t.jsonl").read_text(), "a usage error wrote the trace file"


def test_show_chrome(workdir):
    out = workdir / "u.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", PROBE_DEMO]).returncode == 0
    r = run([GLASSTRACE, "show", out, "--format", "chrome"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    evs = doc["traceEvents"]
    slices = [(e["ph"], e["name"]) for e in evs if e.get("cat") == "step"]
    assert slices == [("B", "demo.outer"), ("B", "demo.inner"), ("E", "demo.inner"), ("E", "demo.outer")]
    assert any(e["ph"] == "X" and e["name"] == "execve" and e["dur"] > 0 for e in evs)
    assert any(e["ph"] == "M" and e["name"] == "thread_name" for e in evs)


def test_show_summary(workdir):
    out = workdir / "u.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", PROBE_DEMO]).returncode == 0
    events = load(out)
    r = run([GLASSTRACE, "show", out, "--format", "summary"])
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
            rows[parts[0]] = (int(parts[1]), int(parts[2]))
    assert rows["demo.outer"] == (1, 1) and rows["demo.inner"] == (1, 0)
    n_mmap = len(syscalls(events, "mmap"))
    assert n_mmap > 0 and rows["mmap"][0] == n_mmap
    n_err = sum(1 for e in syscalls(events) if e["errno"])
    assert sum(errs for name, (_, errs) in rows.items() if not name.startswith("demo.")) == n_err


# --- milestones and diff ---------------------------------------------------

def test_milestones_of_runc(runc_trace):
    r = run([GLASSTRACE, "milestones", runc_trace, "--json"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["v"] == 1 and doc["rootfs"].endswith("/bundle/rootfs")
    keys = [f'{m["kind"]} {m["detail"]}' for m in doc["milestones"]]
    for want in ["ns.create ipc,mnt,net,pid,uts", "cgroup.attach cgroup.procs", "mount /proc (proc)",
                 "pivot_root /", "hostname runc", "no_new_privs 1", "capbset.drop CAP_SYS_ADMIN",
                 "exec /bin/sh sh -c hostname; echo hello"]:
        assert want in keys, (want, keys)
    assert keys.index("mount /proc (proc)") < keys.index("pivot_root /") < keys.index("exec /bin/sh sh -c hostname; echo hello")
    text = run([GLASSTRACE, "milestones", runc_trace]).stdout
    assert re.search(r"^pivot_root +/$", text, re.M)


def test_diff(runc_trace, workdir, containers):
    same = run([GLASSTRACE, "diff", runc_trace, runc_trace])
    assert same.returncode == 0, same.stdout
    other = make_bundle(workdir / "other", ["sh", "-c", "hostname; echo hello"])
    config = json.loads((other / "config.json").read_text())
    config["hostname"] = "elsewhere"
    (other / "config.json").write_text(json.dumps(config))
    out = workdir / "other.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "runc", "run", "--bundle", other, containers.new_id("runc")]).returncode == 0
    d = run([GLASSTRACE, "diff", runc_trace, out])
    assert d.returncode == 1
    assert re.search(r"^- hostname +runc", d.stdout, re.M), d.stdout
    assert re.search(r"^\+ .*\| hostname +elsewhere", d.stdout, re.M), d.stdout
    assert re.search(r"^  pivot_root +/ +\| pivot_root +/", d.stdout, re.M), d.stdout
    # --changes: the conformance check's comparison (its normalisation and
    # classification are unit-tested in compare_test.cpp)
    ids = [next(e["argv"][-1] for e in load(t) if e["type"] == "exec") for t in (runc_trace, out)]
    c = run([GLASSTRACE, "diff", "--changes", runc_trace, out, f"--subst-a=<id>={ids[0]}", f"--subst-b=<id>={ids[1]}"])
    assert c.returncode == 1, c.stderr
    doc = json.loads(c.stdout)
    got = {(x["key"], x["change"]) for x in doc["changes"] if x["change"] != "moved"}
    assert got == {("-hostname runc", "absent"), ("+hostname elsewhere", "extra")}, doc["changes"]
    moved = [x for x in doc["changes"] if x["change"] == "moved"]
    assert only_runc_races(moved), doc["changes"]
    step = next(x["step"] for x in doc["changes"] if x["key"] == "-hostname runc")
    assert doc["lines"][step - 1]["a"] == "hostname runc"
    same = run([GLASSTRACE, "diff", "--changes", runc_trace, runc_trace])
    assert same.returncode == 0 and json.loads(same.stdout)["changes"] == [], same.stdout
    bad = run([GLASSTRACE, "diff", "--changes", runc_trace, out, "--subst-a=novalue"])
    assert bad.returncode == 2 and "TOKEN=VALUE" in bad.stderr, bad.stderr


GLASSRUN = BUILD / "runtime" / "glassrun"
RUNTIMES = ["runc", "crun", "glassrun"]


def runtime_binary(name):
    """The runtime's executable, or a skip naming why it cannot run here."""
    path = str(GLASSRUN) if name == "glassrun" else shutil.which(name)
    if not path or not Path(path).exists():
        pytest.skip(f"{name} is not installed/built")
    return path


# --- fidelity against strace -----------------------------------------------

KEY_SYSCALLS = ["mount", "umount2", "pivot_root", "sethostname", "unshare", "setns", "clone", "clone3",
                "capset", "prctl", "execve"]
STRACE_RECORD = re.compile(r"^(\d+) +([a-z0-9_]+)\((.*)\) += (.*)$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def parse_strace(path):
    """tid -> [(name, args text, return text)], joining <unfinished>/<resumed>."""
    per_tid = collections.defaultdict(list)
    pending = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^(\d+) +(.*)$", line)
        if not m:
            continue
        tid, rest = m.group(1), m.group(2)
        if rest.endswith("<unfinished ...>"):
            pending[tid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"^<\.\.\. [a-z0-9_]+ resumed>(.*)$", rest)
        if r:
            rest = pending.pop(tid, "") + r.group(1)
        m = STRACE_RECORD.match(f"{tid} {rest}")
        if m:
            per_tid[int(tid)].append((m.group(2), m.group(3), m.group(4)))
    # Calls that never returned (exit, or a thread killed mid-call).
    for tid, rest in pending.items():
        m = re.match(r"^([a-z0-9_]+)\((.*)$", rest)
        if m:
            per_tid[int(tid)].append((m.group(1), m.group(2).rstrip(", )"), "?"))
    return per_tid


def split_args(args):
    """Top-level comma-separated tokens of an strace argument list."""
    return [t.strip() for t in re.findall(r'(?:"(?:[^"\\]|\\.)*"(?:\.\.\.)?|\{[^}]*\}|\[[^\]]*\]|[^,])+', args)]


def unquote(s):
    return bytes(s, "utf-8").decode("unicode_escape")


def same_call(got, want):
    """glasstrace record == strace record; a None field in strace's mount key
    (printed as an address) matches anything."""
    if got[0] != want[0] or got[2] != want[2]:
        return False
    if got[0] == "mount":
        return all(w is None or g == w for g, w in zip(got[1], want[1]))
    return got[1] == want[1]


def flag_set(text):
    return frozenset(t for t in re.split(r"[|\s]+", text) if t and t != "0")


def strace_key(name, args, ret):
    """Comparable key of one strace record: the decoded main args."""
    strings = [bytes(s, "utf-8").decode("unicode_escape") for s in QUOTED.findall(args)]
    if name == "mount":
        # strace prints fstype/data as strings only for some flags (not for
        # MS_BIND, MS_REMOUNT, ...): keep None where it printed an address.
        toks = split_args(args)
        src, tgt, fstype = (QUOTED.fullmatch(t) for t in toks[:3])
        key = (src and unquote(src.group(1)), tgt and unquote(tgt.group(1)),
               fstype and unquote(fstype.group(1)), flag_set(toks[3]))
    elif name in ("umount2", "pivot_root", "sethostname"):
        flags = args.rsplit(",", 1)[1] if name == "umount2" else ""
        key = (tuple(strings[:2] if name == "pivot_root" else strings[:1]), flag_set(flags))
    elif name == "unshare":
        key = (flag_set(args),)
    elif name == "setns":
        key = (flag_set(args.split(",", 1)[1]),)
    elif name in ("clone", "clone3"):
        m = re.search(r"flags=([A-Z0-9_|]+)", args)
        key = (flag_set(m.group(1) if m else ""),)
    elif name == "capset":
        sets = re.search(r"\{effective=(.*), permitted=(.*), inheritable=(.*)\}\)?$", args.split("}, ", 1)[1])
        key = tuple(frozenset(re.findall(r"CAP_[A-Z_]+", s)) for s in sets.groups())
    elif name == "prctl":
        parts = [p.strip() for p in args.split(",")]
        key = (parts[0], parts[1] if len(parts) > 1 else "")
    elif name == "execve":
        argv = re.search(r"\[(.*?)\]", args)
        key = (strings[0], tuple(QUOTED.findall(argv.group(1))) if argv else ())
    else:
        key = (args,)
    r = ret.split()[0] if ret != "?" else "?"
    if r == "-1":
        r = ret.split()[1]
    return (name, key, r)


def glasstrace_key(e):
    name, d = e["name"], e["decoded"]
    if name == "mount":
        key = (d["source"], d["target"], d["filesystemtype"], flag_set(d["mountflags"]))
    elif name == "umount2":
        key = ((d["target"],), flag_set(d["flags"]))
    elif name == "pivot_root":
        key = ((d["new_root"], d["put_old"]), frozenset())
    elif name == "sethostname":
        key = ((d["name"],), frozenset())
    elif name == "unshare":
        key = (flag_set(d["flags"]),)
    elif name == "setns":
        key = (flag_set(d["nstype"]),)
    elif name in ("clone", "clone3"):
        key = (flag_set(d["flags"]) - {f"SIG{s}" for s in ["CHLD"]} | (flag_set(d["flags"]) & {"SIGCHLD"}),)
    elif name == "capset":
        c = d["datap"]
        key = tuple(frozenset(c[k]) for k in ("effective", "permitted", "inheritable"))
    elif name == "prctl":
        arg2 = d["arg2"]
        key = (d["option"], str(arg2))
    elif name == "execve":
        key = (d["pathname"], tuple(d["argv"]))
    if e["ret"] is None:
        r = "?"
    elif e["errno"]:
        r = e["errno"]
    else:
        r = str(e["ret"])
    return (name, key, r)


def prctl_normalise(key):
    # strace names arg2 only for some options; glasstrace keeps integers.
    name, k, r = key
    if name == "prctl":
        opt, arg2 = k
        hex_arg = re.match(r"0x([0-9a-f]+)", arg2)  # strace: "0x30 /* CAP_??? */"
        if hex_arg:
            arg2 = str(int(hex_arg.group(1), 16))
        unknown_cap = re.fullmatch(r"CAP_(\d+)", arg2)  # glasstrace: "CAP_48"
        if unknown_cap:
            arg2 = unknown_cap.group(1)
        if opt.startswith("PR_GET_") or opt == "PR_SET_NAME":
            arg2 = ""  # a pointer: strace shows what it points to, glasstrace the address
        k = (opt, arg2)
    return (name, k, r)


def under_strace(workdir, cmd, trace=None):
    """glasstrace -- strace -f CMD: both watch the same run. Returns the
    trace's events and strace's output file."""
    out, sout = workdir / "g.jsonl", workdir / "strace.txt"
    r = run([GLASSTRACE, "-o", out, "--", "strace", "-f", "-qq", "-s", "256", "-o", sout] +
            (["-e", "trace=" + ",".join(trace)] if trace else []) + ["--"] + cmd)
    events = load(out)
    check_schema(events)
    assert events[-1]["dropped"] == 0
    return r, events, sout


def seen_by_both(events, strace_txt, only=None):
    """Per tid: glasstrace's syscall records (of the syscalls named in
    `only`, if given: strace's -e trace=) and strace's (name, args, return)
    of the tasks strace traced. Documented differences
    (docs/TRACER.md, "Fidelity against strace") are taken out: strace's own
    process and the helper processes it forks (never traced by it), the
    tracee's calls before its first execve (made before strace attached),
    and a task's last call when the kernel skipped it at strace's entry stop
    because the task was being killed: glasstrace records its -ENOSYS
    return (`entry_seen: false`) or nothing, strace shows it unfinished
    or nothing."""
    strace_pid = events[0]["root_pid"]
    want = parse_strace(strace_txt)
    assert want, "strace saw nothing"
    root = next(iter(want))  # the tracee's first line comes first
    got = collections.defaultdict(list)
    for e in syscalls(events):
        if e["pid"] != strace_pid:
            got[e["tid"]].append(e)
    names = [e["name"] for e in got[root]]
    assert "execve" in names, names
    got[root] = got[root][names.index("execve"):]
    if only:
        got = {tid: kept for tid, recs in got.items() if (kept := [e for e in recs if e["name"] in only])}
    for tid, w in want.items():
        g = got.setdefault(tid, [])
        if g and g[-1].get("entry_seen") is False and g[-1]["errno"] == "ENOSYS" and len(g) == len(w) + 1:
            g.pop()
        if w and w[-1][2] == "?" and w[-1][0] not in ("exit", "exit_group") and len(w) == len(g) + 1:
            w.pop()
    got = {tid: recs for tid, recs in got.items() if recs}
    want = {tid: recs for tid, recs in want.items() if recs}
    for tid in set(got) - set(want):  # strace's helpers: never exec, keep strace's comm
        assert {e["comm"] for e in got[tid]} == {"strace"}, (tid, got[tid][:3])
        del got[tid]
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    return got, want


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fidelity_against_strace(runtime, workdir, containers):
    """glasstrace and strace watch the same run, so no determinism is
    assumed: per task, the ordered sequence of syscalls must be identical,
    and for the kernel-facing ones the decoded arguments and returns too.
    Every syscall for glassrun; the kernel-facing ones for runc and crun
    (strace -f of all of a Go runtime's calls takes minutes here)."""
    binary = runtime_binary(runtime)
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "echo fidelity"])
    only = None if runtime == "glassrun" else KEY_SYSCALLS
    r, events, sout = under_strace(workdir, [binary, "run", "--bundle", bundle, containers.new_id(binary)], trace=only)
    if r.returncode != 0 and runtime == "crun" and re.search(r"hugetlb|cgroup", r.stderr, re.I):
        pytest.skip(f"crun cannot run here: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr
    assert "fidelity" in r.stdout
    got, want = seen_by_both(events, sout, only=only)
    for tid in want:
        assert [e["name"] for e in got[tid]] == [w[0] for w in want[tid]], f"thread {tid}"
    keys_got = [prctl_normalise(glasstrace_key(e)) for tid in want for e in got[tid] if e["name"] in KEY_SYSCALLS]
    keys_want = [prctl_normalise(strace_key(*w)) for tid in want for w in want[tid] if w[0] in KEY_SYSCALLS]
    assert len(keys_want) > 20, "strace saw too little"
    for g, w in zip(keys_got, keys_want, strict=True):
        assert same_call(g, w), f"glasstrace {g} != strace {w}"


FIDELITY_CALLS = GLASSTRACE.parent / "glasstrace_fidelity_calls"
CALLS = ["openat", "write", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "mount_setattr",
         "clone3", "setns", "pidfd_open", "unshare", "mount"]
SHOWN = re.compile(r"^\[pid (\d+)\] [0-9:.]+ ([a-z0-9_]+)\((.*)\) = (.*?)(?: <[0-9.]+>)?$")


def call_tokens(args):
    """An argument list as comparable tokens: strace's comments and what it
    shows written back at exit (` => {...}`) dropped, structs as dicts."""
    args = re.sub(r" => \{[^}]*\}", "", re.sub(r" /\* .*? \*/", "", args))
    return [dict(f.split("=", 1) for f in split_args(t[1:-1])) if t.startswith("{") else t
            for t in split_args(args)]


def same_tokens(got, want):
    """Equal, except that a struct glasstrace shows may leave out fields
    strace shows (clone3's pidfd/stack pointers: not captured)."""
    if isinstance(got, dict):
        return isinstance(want, dict) and got.items() <= want.items()
    return got == want


def test_fidelity_of_calls(workdir):
    """Each call of glasstrace_fidelity_calls, as `glasstrace show` renders
    it, equals strace's line: name, every argument, the return."""
    assert FIDELITY_CALLS.exists(), f"{FIDELITY_CALLS} not built"
    scratch = workdir / "scratch"
    scratch.mkdir()
    r, events, sout = under_strace(workdir, [FIDELITY_CALLS, scratch], trace=CALLS)
    assert r.returncode == 0, r.stderr
    got, want = seen_by_both(events, sout, only=CALLS)
    shown = {}
    for line in run([GLASSTRACE, "show", workdir / "g.jsonl"]).stdout.splitlines():
        m = SHOWN.match(line)
        if m:
            shown.setdefault(int(m.group(1)), []).append((m.group(2), m.group(3), m.group(4)))
    seen = set()
    for tid in want:
        ours = [c for c in shown[tid] if c[0] in CALLS]
        ours = ours[len(ours) - len(want[tid]):]  # before the execve: see seen_by_both
        assert [c[0] for c in ours] == [w[0] for w in want[tid]], f"thread {tid}"
        for (name, args, ret), (_, sargs, sret) in zip(ours, want[tid]):
            g, w = call_tokens(args), call_tokens(sargs)
            assert len(g) == len(w) and all(map(same_tokens, g, w)) and ret == sret, \
                f"glasstrace {name}({args}) = {ret}\n    strace {name}({sargs}) = {sret}"
            seen.add(name)
    assert seen == set(CALLS), f"not made: {set(CALLS) - seen}"


def run_container(runtime, bundle, containers, trace=None):
    """`RUNTIME run` of the bundle, under glasstrace when `trace` is a path."""
    binary = runtime_binary(runtime)
    cmd = [binary, "run", "--bundle", bundle, containers.new_id(binary)]
    r = run(([GLASSTRACE, "-o", trace, "--"] if trace else []) + cmd)
    if r.returncode != 0 and runtime == "crun" and re.search(r"hybrid mode|hugetlb", r.stderr, re.I):
        pytest.skip(f"crun cannot run here (tools/prepare-machine.sh): {r.stderr.strip().splitlines()[-1]}")
    return r


def set_seccomp(bundle, seccomp):
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["seccomp"] = seccomp
    (bundle / "config.json").write_text(json.dumps(config, indent=1))


PROFILED = "echo profiled; cat /proc/self/status > /dev/null; ls / > /dev/null"
# Recording profile: every call allowed, but a filter is installed, so the
# trace shows what the runtime's init calls under it before the exec.
RECORDING = {"defaultAction": "SCMP_ACT_ALLOW"}


def profile_of(runtime, workdir, containers):
    """The seccomp-profile of PROFILED, traced under `runtime`."""
    bundle = make_bundle(workdir / f"record-{runtime}", ["sh", "-c", PROFILED])
    set_seccomp(bundle, RECORDING)
    out = workdir / f"record-{runtime}.jsonl"
    r = run_container(runtime, bundle, containers, trace=out)
    assert r.returncode == 0 and "profiled" in r.stdout, r.stderr
    p = run([GLASSTRACE, "seccomp-profile", out])
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_seccomp_profile_from_trace(runtime, workdir, containers):
    """The profile made from a traced run lets the same workload run under
    the same runtime, and denies (ERRNO) what the workload did not call."""
    profile = profile_of(runtime, workdir, containers)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["architectures"] == ["SCMP_ARCH_X86_64"]
    [rule] = profile["syscalls"]
    assert rule["action"] == "SCMP_ACT_ALLOW"
    assert {"execve", "write", "getdents64"} <= set(rule["names"]), rule["names"]
    assert "sethostname" not in rule["names"] and "pivot_root" not in rule["names"]
    # The init's filter was installed before its exec, so the scheduling calls
    # a Go init may make under it (or not, by timing) are allowed as well.
    assert {"futex", "sched_yield", "tgkill"} <= set(rule["names"]), rule["names"]

    b = make_bundle(workdir / "under", ["sh", "-c", PROFILED])
    set_seccomp(b, profile)
    r = run_container(runtime, b, containers)
    assert r.returncode == 0 and r.stdout.strip() == "profiled", (r.stdout, r.stderr)
    # What the trace did not show is refused by the default action.
    b = make_bundle(workdir / "deny", ["sh", "-c", PROFILED + "; hostname elsewhere"])
    set_seccomp(b, profile)
    r = run_container(runtime, b, containers)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, (r.stdout, r.stderr)


def test_seccomp_profile_warns_without_a_filter(runc_trace):
    """Traced without a filter, the runtime's own calls under one are unknown: said on stderr."""
    r = run([GLASSTRACE, "seccomp-profile", runc_trace])
    assert r.returncode == 0 and json.loads(r.stdout)["defaultAction"] == "SCMP_ACT_ERRNO"
    assert r.stderr.strip() == ("glasstrace: seccomp-profile: warning: no seccomp filter was installed before the "
                                "container's exec, so the runtime's own calls under a filter are not in the profile "
                                "(trace under {\"defaultAction\": \"SCMP_ACT_ALLOW\"} to include them)")


def test_seccomp_profile_needs_a_container(workdir):
    out = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "true"]).returncode == 0
    r = run([GLASSTRACE, "seccomp-profile", out])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == ("glasstrace: seccomp-profile: no container exec in the trace "
                                "(no execve in a new mount namespace)")


EXPLAINED = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        # Only a 3-byte name is refused: "hostname abcd" passes.
        {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]},
        {"names": ["sync"], "action": "SCMP_ACT_KILL_PROCESS"},
    ],
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_explain_denials(runtime, workdir, containers):
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "mkdir /tmp/x; hostname foo; hostname abcd; sh -c sync; echo done"])
    os.symlink("busybox", bundle / "rootfs" / "bin" / "mkdir")
    os.symlink("busybox", bundle / "rootfs" / "bin" / "sync")
    set_seccomp(bundle, EXPLAINED)
    out = workdir / "t.jsonl"
    r = run_container(runtime, bundle, containers, trace=out)
    assert r.returncode == 0 and "done" in r.stdout, r.stderr
    e = run([GLASSTRACE, "explain", out, "--config", bundle / "config.json", "--json"])
    assert e.returncode == 0, e.stderr
    got = [(d["syscall"], d["errno"], d["rule"]) for d in json.loads(e.stdout)["denials"]]
    assert got == [("mkdir", "EACCES", 0), ("sethostname", "EPERM", 1), ("sync", None, 2)], got

    text = run([GLASSTRACE, "explain", out, "--config", bundle / "config.json"]).stdout.splitlines()
    assert len(text) == 3, text
    # A refused call never reaches the entry tracepoint: its args come from
    # the registers at exit, so pointers stay pointers.
    assert re.match(r'^\[pid \d+\] mkdir\(0x[0-9a-f]+, 0777\) = -1 EACCES <- linux\.seccomp\.syscalls\[0\] '
                    r'names \["mkdir","mkdirat"\] action SCMP_ACT_ERRNO errnoRet 13$', text[0]), text[0]
    assert re.match(r'^\[pid \d+\] sethostname\(0x[0-9a-f]+, 3\) = -1 EPERM <- linux\.seccomp\.syscalls\[1\] '
                    r'names \["sethostname"\] action SCMP_ACT_ERRNO args ', text[1]), text[1]
    assert re.match(r'^\[pid \d+\] sync\([^)]*\) = \? \(killed by SIGSYS\) <- linux\.seccomp\.syscalls\[2\] '
                    r'names \["sync"\] action SCMP_ACT_KILL_PROCESS$', text[2]), text[2]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_explain_default_action(runtime, workdir, containers):
    """A denial by the default action of a generated profile names defaultAction."""
    profile = profile_of(runtime, workdir, containers)
    b = make_bundle(workdir / "deny", ["sh", "-c", PROFILED + "; hostname elsewhere"])
    set_seccomp(b, profile)
    out = workdir / "t.jsonl"
    assert run_container(runtime, b, containers, trace=out).returncode != 0
    r = run([GLASSTRACE, "explain", out, "--config", b / "config.json"])
    assert r.returncode == 0, r.stderr
    assert re.search(r'^\[pid \d+\] sethostname\(0x[0-9a-f]+, 9\) = -1 EPERM <- defaultAction SCMP_ACT_ERRNO errnoRet 1$',
                     r.stdout, re.M), r.stdout


def test_explain_bad_config(workdir, runc_trace):
    cfg = workdir / "c.json"
    cfg.write_text(json.dumps({"linux": {}}))
    r = run([GLASSTRACE, "explain", runc_trace, "--config", cfg])
    assert r.returncode == 2 and r.stderr.strip() == f"glasstrace: explain: {cfg} has no linux.seccomp"
    cfg.write_text(json.dumps({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_FOO"}}}))
    r = run([GLASSTRACE, "explain", runc_trace, "--config", cfg])
    assert r.returncode == 1
    assert r.stderr.strip() == 'glasstrace: explain: linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"'


# --- exec_audit ------------------------------------------------------------

def audits(events):
    return [e for e in events if e["type"] == "exec_audit"]


def traced_audit(runtime, bundle, containers, out, extra_fd=None):
    """Runs the bundle under glasstrace (stdin /dev/null; `extra_fd` passed
    as fd 3 with --preserve-fds 1) and returns the trace's one exec_audit."""
    binary = runtime_binary(runtime)
    cmd = [binary, "run"] + (["--preserve-fds", "1"] if extra_fd is not None else []) + \
          ["--bundle", bundle, containers.new_id(binary)]
    traced = [str(GLASSTRACE), "-o", str(out), "--"] + [str(c) for c in cmd]
    pass_fds = ()
    if extra_fd is not None:  # moved to fd 3 in the child only (pytest owns our fd 3)
        traced = ["bash", "-c", f'exec 3<&{extra_fd} {extra_fd}<&-; exec "$@"', "sh"] + traced
        pass_fds = (extra_fd,)
    r = subprocess.run(traced, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                       pass_fds=pass_fds)
    if r.returncode != 0 and runtime == "crun" and re.search(r"hybrid mode|hugetlb", r.stderr, re.I):
        pytest.skip(f"crun cannot run here (tools/prepare-machine.sh): {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr
    events = load(out)
    check_schema(events)
    found = audits(events)
    assert len(found) == 1, found
    return events, found[0]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_audit(runtime, workdir, containers):
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "echo audited"])
    config = json.loads((bundle / "config.json").read_text())
    events, a = traced_audit(runtime, bundle, containers, workdir / "t.jsonl")
    # At the container's exec: the execve into sh, in the new mount ns.
    ex = [e for e in events if e["type"] == "exec" and e["argv"] == ["sh", "-c", "echo audited"]]
    assert ex and a["pid"] == ex[0]["pid"] and a["ns_pid"] == 1 and a["mntns"] != first_task_event(events)["mntns"]
    assert [f["fd"] for f in a["fds"]] == [0, 1, 2] and a["open_fds"] == 3
    assert [f["type"] for f in a["fds"][1:]] == ["pipe", "pipe"]
    assert re.fullmatch(r"pipe:\[\d+\]", a["fds"][1]["target"])
    # stdin is /dev/null, handed on as is or through a pipe the runtime forwards.
    assert (a["fds"][0]["type"], a["fds"][0]["target"]) == ("chr", "/dev/null") or a["fds"][0]["type"] == "pipe"
    assert not any(f["cloexec"] for f in a["fds"])
    assert a["cwd"] == {"path": "/", "inside_root": True}
    assert a["root"] == {"path": "/", "is_mount_ns_root": True}
    assert a["uid"] == {"real": 0, "effective": 0, "saved": 0, "fs": 0} and a["groups"] in ([], [0])
    caps = config["process"]["capabilities"]
    assert sorted(a["caps"]["bounding"]) == sorted(caps["bounding"])
    # The kernel keeps an ambient capability only if it is also inheritable.
    assert sorted(a["caps"]["ambient"]) == sorted(set(caps.get("ambient", [])) & set(caps.get("inheritable", [])))
    assert a["no_new_privs"] is True
    assert a["seccomp"] == {"mode": "disabled", "filters": 0}
    nofile = next(r for r in config["process"]["rlimits"] if r["type"] == "RLIMIT_NOFILE")
    assert a["rlimits"]["RLIMIT_NOFILE"] == {"soft": nofile["soft"], "hard": nofile["hard"]}
    for ns in ("mnt", "pid", "uts", "ipc", "net"):
        assert a["namespaces"][ns]["same_as_host"] is False, ns
    assert a["namespaces"]["user"]["same_as_host"] is True

    policy = workdir / "ok.json"
    policy.write_text(json.dumps({"allowed_caps": caps["bounding"], "seccomp_mode": "disabled", "no_new_privs": True,
                                  "uid": 0, "namespaces_not_shared": ["mnt", "pid", "uts", "ipc", "net"]}))
    r = run([GLASSTRACE, "audit", workdir / "t.jsonl", "--expect", policy])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    strict = workdir / "strict.json"
    strict.write_text(json.dumps({"allowed_caps": [c for c in caps["bounding"] if c != "CAP_KILL"],
                                  "seccomp_mode": "filter", "namespaces_not_shared": ["user"]}))
    r = run([GLASSTRACE, "audit", workdir / "t.jsonl", "--expect", strict])
    assert r.returncode == 1, r.stderr
    pid = a["pid"]
    want = {f"pid {pid}: caps.bounding: CAP_KILL not allowed", f"pid {pid}: seccomp mode disabled: expected filter",
            f"pid {pid}: namespace user: shared with the host"}
    assert want <= set(r.stdout.splitlines()), r.stdout
    text = run([GLASSTRACE, "audit", workdir / "t.jsonl"])
    assert text.returncode == 0 and re.search(r"^  fd 1 +pipe +pipe:\[\d+\]", text.stdout, re.M), text.stdout


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_audit_finds_leaked_fd(runtime, workdir, containers):
    """A host directory passed in as fd 3 (--preserve-fds, the shape of
    CVE-2024-21626's leak) shows up outside the container root."""
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "echo leak"])
    leak = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _, a = traced_audit(runtime, bundle, containers, workdir / "t.jsonl", extra_fd=leak)
    finally:
        os.close(leak)
    fd3 = [f for f in a["fds"] if f["fd"] == 3]
    assert fd3 and fd3[0]["type"] == "dir" and fd3[0]["inside_root"] is False, a["fds"]
    assert fd3[0]["target"].endswith(workdir.name), fd3
    policy = workdir / "p.json"
    policy.write_text("{}")
    r = run([GLASSTRACE, "audit", workdir / "t.jsonl", "--expect", policy])
    assert r.returncode == 1
    assert f"pid {a['pid']}: fd 3 (dir {fd3[0]['target']}): outside the container root" in r.stdout.splitlines(), r.stdout
    policy.write_text(json.dumps({"allowed_fds": [3], "fds_inside_root": False}))
    assert run([GLASSTRACE, "audit", workdir / "t.jsonl", "--expect", policy]).returncode == 0


@pytest.mark.parametrize("runtime", ["glassrun", "crun"])
def test_exec_audit_equal_to_runc(runtime, workdir, containers):
    bundle = make_bundle(workdir / "bundle", ["sh", "-c", "echo same"])
    want_ev, want = traced_audit("runc", bundle, containers, workdir / "runc.jsonl")
    got_ev, got = traced_audit(runtime, bundle, containers, workdir / "other.jsonl")
    # a foreground `run`: what fds 0-2 are is plumbing (stdio=False)
    w, g = comparable_audit(want, want_ev, stdio=False), comparable_audit(got, got_ev, stdio=False)
    assert {k: g[k] for k in g if g[k] != w[k]} == {}, {k: (g[k], w[k]) for k in g if g[k] != w[k]}


def test_audit_errors(workdir, runc_trace):
    out = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "true"]).returncode == 0
    r = run([GLASSTRACE, "audit", out])
    assert r.returncode == 1
    assert r.stderr.strip() == "glasstrace: audit: no exec_audit event in the trace (no exec in a new mount namespace)"
    policy = workdir / "p.json"
    policy.write_text(json.dumps({"allowed_fdz": [3]}))
    r = run([GLASSTRACE, "audit", runc_trace, "--expect", policy])
    assert r.returncode == 2 and r.stderr.strip() == f'glasstrace: audit: {policy}: policy field "allowed_fdz": unknown'


def test_ring_buffer_drops_are_counted(workdir):
    """A one-page ring buffer cannot hold a burst of syscalls: the drops are
    counted in the summary record and reported on stderr, never silent."""
    out = workdir / "t.jsonl"
    env = dict(os.environ, GLASSTRACE_RINGBUF_BYTES="4096")
    r = run([GLASSTRACE, "-o", out, "--", "sh", "-c", "for i in $(seq 300); do cat /proc/self/stat; done > /dev/null"],
            env=env)
    assert r.returncode == 0, r.stderr
    events = load(out)
    check_schema(events)
    dropped = events[-1]["dropped"]
    assert dropped > 0
    assert events[0]["dropped"] == dropped  # the first record says so too
    assert r.stderr.strip() == (f"glasstrace: warning: {dropped} events were dropped (ring buffer full); "
                                "the trace is incomplete")


def test_no_drops_in_meta_record(workdir):
    """Without drops the meta record says 0; written to a pipe it cannot be
    filled in afterwards and stays null (unknown), the summary has it."""
    out = workdir / "t.jsonl"
    assert run([GLASSTRACE, "-o", out, "--", "true"]).returncode == 0
    events = load(out)
    check_schema(events)
    assert events[0]["dropped"] == 0 and events[-1]["dropped"] == 0
    r = run(["sh", "-c", f"{GLASSTRACE} -o /dev/stdout -- true | cat"])
    assert r.returncode == 0, r.stderr
    piped = [json.loads(line) for line in r.stdout.splitlines()]
    check_schema(piped)
    assert piped[0]["dropped"] is None and piped[-1]["dropped"] == 0


def irq_work_interrupts():
    """IRQ-work interrupts so far on all CPUs (the IWI row of /proc/interrupts)."""
    for line in Path("/proc/interrupts").read_text().splitlines():
        name, _, counts = line.strip().partition(":")
        if name == "IWI":
            return sum(int(c) for c in counts.split() if c.isdigit())
    pytest.skip("no IWI row in /proc/interrupts (not x86): cannot count ring-buffer wake-ups")


def test_a_reader_behind_is_woken_once_per_batch_not_per_record(workdir):
    """While glasstrace is stopped, a burst of ~10000 records (~2.5 MB) wakes
    it once per quarter of its 4 MiB ring buffer (1 MiB of records): two or
    three times. Every forced wake-up is an irq_work, a self-IPI (a VM exit
    in a guest) on the traced task's CPU: the rule "force while 256 KiB are
    waiting" sent one for every record of the burst, and one per 256 KiB
    crossed sent ~10."""
    out, done = workdir / "t.jsonl", workdir / "done"
    p = subprocess.Popen([str(GLASSTRACE), "-o", str(out), "--", "sh", "-c",
                          f"sleep 0.5; dd if=/dev/zero of=/dev/null bs=1 count=3000 2>/dev/null; touch {done}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_text()):  # the meta record: the command is being released
            assert time.monotonic() < deadline and p.poll() is None, "glasstrace did not start"
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(p.pid, signal.SIGSTOP)
        before = irq_work_interrupts()
        while not done.exists():
            assert time.monotonic() < deadline, "the burst did not finish"
            time.sleep(0.02)
        woken = irq_work_interrupts() - before
    finally:
        os.kill(p.pid, signal.SIGCONT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    events = load(out)
    check_schema(events)
    assert events[-1]["dropped"] == 0, "the burst must fit in the ring buffer"
    assert len(syscalls(events, "write")) >= 3000
    assert woken <= 5, f"{woken} irq_work interrupts for one burst while the reader was stopped"


# --- critical path (sched records) -----------------------------------------

def traced_run(runtime, workdir, containers):
    bundle = make_bundle(workdir / f"cp-{runtime}", ["sh", "-c", "echo timed"])
    out = workdir / f"cp-{runtime}.jsonl"
    r = run_container(runtime, bundle, containers, trace=out)
    assert r.returncode == 0 and "timed" in r.stdout, r.stderr
    return out


def critical_path(trace):
    r = run([GLASSTRACE, "critical-path", trace, "--json"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_critical_path(runtime, workdir, containers):
    out = traced_run(runtime, workdir, containers)
    events = load(out)
    check_schema(events)
    summary = events[-1]
    sched = [e for e in events if e["type"] == "sched"]
    assert sched and summary["sched_events"] == len(sched) and summary["sched_dropped"] == 0
    assert summary["events"] == len(events) - 2
    # Filtered in the kernel to the traced tree: only its processes.
    tree = {events[0]["root_pid"]} | {e["child_pid"] for e in events if e["type"] == "fork"}
    assert {e["pid"] for e in sched} <= tree
    assert {"running", "runnable", "blocked"} <= {e["state"] for e in sched}

    doc = critical_path(out)
    assert doc["sched"] is True
    phases = [s for s in doc["steps"] if s["kind"] == "phase"]
    names = [p["name"] for p in phases]
    assert names[0] == "start" and "ns.create" in names and names[-1] == "exec", names
    for s in doc["steps"]:  # the split is exact by construction: a consistency check, not a timing
        assert s["on_cpu_ns"] + s["runnable_ns"] + s["blocked_ns"] == s["wall_ns"], s
        assert s["off_cpu_ns"] == s["runnable_ns"] + s["blocked_ns"] and s["tasks"], s
    assert sum(s["on_cpu_ns"] for s in phases) > 0
    # The phases tile the run: from the runtime's exec to its exit.
    first = min(e["ts"] for e in events if e["type"] == "exec" and e["pid"] == events[0]["root_pid"])
    root_exit = [e["ts"] for e in events if e["type"] == "exit" and e["pid"] == events[0]["root_pid"]
                 and e["group_dead"]]
    assert sum(p["wall_ns"] for p in phases) == root_exit[0] - first
    steps = {s["name"] for s in doc["steps"] if s["kind"] == "step"}
    assert (runtime == "glassrun") == bool(steps), steps
    if runtime == "glassrun":
        # `run`'s init shared the runtime's memory and started itself: no start.* step (test_run_clone.py)
        assert {"create.config", "create.clone", "init.pivot_root", "create.state"} <= steps, steps

    text = run([GLASSTRACE, "show", out, "--format", "summary"]).stdout
    assert re.search(r"^phase exec +1 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +\d+$", text, re.M), text

    chrome = json.loads(run([GLASSTRACE, "show", out, "--format", "chrome"]).stdout)["traceEvents"]
    assert {"running", "runnable", "blocked"} <= {e["name"] for e in chrome if e.get("cat") == "sched"}
    tracks = [e["args"]["name"] for e in chrome if e["ph"] == "M" and e["name"] == "thread_name"]
    assert any(t.endswith("(cpu state)") for t in tracks) and "critical path: phases" in tracks, tracks
    path = [e for e in chrome if e.get("cat") == "critical_path"]
    assert {e["name"] for e in path} >= set(names)
    assert all(e["args"]["on_cpu_ms"] + e["args"]["runnable_ms"] + e["args"]["blocked_ms"] == pytest.approx(
        e["args"]["wall_ms"]) for e in path)


def test_diff_shows_hot_spots(workdir, containers):
    a = traced_run("glassrun", workdir, containers)
    b = traced_run("crun", workdir, containers)
    d = run([GLASSTRACE, "diff", a, b, "--top", "3"])
    assert d.returncode in (0, 1), d.stderr
    assert "\nhot spots (critical path" in d.stdout, d.stdout
    hot = [l for l in d.stdout.splitlines() if re.match(r"hot (phase|step) ", l)]
    assert len(hot) == 3, d.stdout
    phases_a = {s["name"] for s in critical_path(a)["steps"] if s["kind"] == "phase"}
    phases_b = {s["name"] for s in critical_path(b)["steps"] if s["kind"] == "phase"}
    for line in hot:
        m = re.match(r"^hot phase +(\S+) +wall +([\d.]+) vs +([\d.]+) \(([-+][\d.]+)\) +on-cpu", line)
        assert m and m.group(1) in phases_a | phases_b, line
        assert float(m.group(4)) == pytest.approx(float(m.group(3)) - float(m.group(2)), abs=0.002)


def test_no_sched(workdir):
    out = workdir / "u.jsonl"
    assert run([GLASSTRACE, "--no-sched", "-o", out, "--", PROBE_DEMO]).returncode == 0
    events = load(out)
    check_schema(events)
    assert not [e for e in events if e["type"] == "sched"] and "sched_events" not in events[-1]
    r = run([GLASSTRACE, "critical-path", out])
    assert r.returncode == 0 and r.stdout.startswith("no sched records"), r.stdout
    assert re.search(r"^step demo.outer +1 +[\d.]+ +- +- +- +1$", r.stdout, re.M), r.stdout
    with_sched = workdir / "s.jsonl"
    assert run([GLASSTRACE, "-o", with_sched, "--", PROBE_DEMO]).returncode == 0
    doc = critical_path(with_sched)
    outer = [s for s in doc["steps"] if s["name"] == "demo.outer"]
    assert doc["sched"] and outer and outer[0]["on_cpu_ns"] > 0
