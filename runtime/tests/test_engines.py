"""glassrun under real engines: podman (through conmon) and containerd 1.6
(through ctr and containerd-shim-runc-v2), each case run with runc as the
reference and with glassrun, in the same session. tools/engines/setup.sh
starts containerd under a temp dir and makes a local busybox image (no
registry is reachable); the session fixture always stops containerd and
removes every container, shim, mount and temp dir, also when a test fails.

A case that runc itself fails on this machine is marked xfail for runc with
the reason (RUNC_FAILS); a glassrun failure is always a failure."""
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import GLASSRUN, REPO, mounts_mentioning, processes_mentioning, run
from test_terminal import Tmux

SETUP = REPO / "tools" / "engines" / "setup.sh"
RUNTIMES = ["runc", "glassrun"]
LABEL = "glassrun.engines"
# What runc (the reference) cannot do on this machine: test name → reason.
RUNC_FAILS = {}

CAP_CHOWN, CAP_NET_RAW, CAP_SYS_ADMIN = 0, 13, 21


class Engines:
    """What setup.sh made, and the commands to drive it."""

    def __init__(self, values, session):
        self.dir = Path(values["DIR"])
        self.conf = values["CONTAINERS_CONF"]
        self.image = values["IMAGE"]
        self.sock = values.get("CONTAINERD_SOCK")
        self.session = session
        self.env = {**os.environ, "CONTAINERS_CONF": self.conf}

    def binary(self, runtime):
        return str(GLASSRUN) if runtime == "glassrun" else shutil.which("runc")

    def podman(self, *args, **kw):
        return run(["podman", *args], env=self.env, **kw)

    def ctr(self, *args, **kw):
        return run(["ctr", "--address", self.sock, "-n", "glassrun", *args], **kw)


def parse_setup_output(text):
    return dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z_]+=", line))


def stop_process(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    give_up = time.monotonic() + 30  # a hang bound, not a timing assertion
    while Path(f"/proc/{pid}").exists() and time.monotonic() < give_up:
        try:
            os.waitpid(pid, os.WNOHANG)  # containerd is not our child; harmless if so
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)


# Directories containerd's shims make under /run whatever state dir it is
# given (the runc shim's default --root for our namespace, its fifos).
CONTAINERD_RUN_DIRS = [Path("/run/containerd/runc/glassrun"), Path("/run/containerd/runc"),
                       Path("/run/containerd/fifo"), Path("/run/containerd/s"), Path("/run/containerd")]


def podman_cgroup_parents():
    """podman's cgroupfs parent (/libpod_parent, with conmon's cgroup in it) in
    every hierarchy: podman makes it on its first container and never removes it."""
    root = Path("/sys/fs/cgroup")
    return [d for d in [*root.glob("*/libpod_parent"), root / "libpod_parent"] if d.is_dir()]


def remove_cgroup_tree(d):
    """rmdir d and everything below it, deepest first (empty cgroups only)."""
    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        d.rmdir()
    except OSError:
        pass


def stop_engines(engine_dir, session, made_run_dirs=(), podman_parents_before=None):
    env = {**os.environ, "CONTAINERS_CONF": str(engine_dir / "containers.conf")}
    ids = run(["podman", "ps", "-aq", "--filter", f"label={LABEL}={session}"], env=env).stdout.split()
    if ids:
        run(["podman", "rm", "-f", "-t", "0", *ids], env=env, timeout=300)
    sock = engine_dir / "containerd" / "containerd.sock"
    if sock.exists():
        ctr = ["ctr", "--address", sock, "-n", "glassrun"]
        for task in run([*ctr, "task", "ls", "-q"]).stdout.split():
            run([*ctr, "task", "kill", "--all", "-s", "KILL", task])
            run([*ctr, "task", "delete", "-f", task], timeout=120)
        for c in run([*ctr, "containers", "ls", "-q"]).stdout.split():
            run([*ctr, "containers", "rm", c])
    pid_file = engine_dir / "containerd.pid"
    if pid_file.exists():
        stop_process(int(pid_file.read_text()))
    # Shims outlive containerd: theirs name our socket on their command line.
    for pid in processes_mentioning(str(engine_dir)):
        if int(pid) != os.getpid():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for line in reversed(mounts_mentioning(str(engine_dir))):
        run(["umount", "-l", line.split()[4]])
    shutil.rmtree(engine_dir, ignore_errors=True)
    # containerd makes its namespace's cgroup (/glassrun) in every hierarchy
    # and never removes it; empty once the containers are gone.
    root = Path("/sys/fs/cgroup")
    for d in [*root.glob("*/glassrun"), root / "glassrun"]:
        try:
            d.rmdir()
        except FileNotFoundError:
            pass
    # podman's cgroup parent, where the session made it (empty once its
    # containers and their conmons are gone).
    if podman_parents_before is not None:
        for d in podman_cgroup_parents():
            if d not in podman_parents_before:
                remove_cgroup_tree(d)
    # Those of containerd's /run directories that did not exist before the
    # session (deepest first; empty once its tasks are gone).
    for d in CONTAINERD_RUN_DIRS:
        if d in made_run_dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass


@pytest.fixture(scope="session")
def engines():
    missing = [t for t in ("podman", "conmon", "containerd", "ctr", "runc", "tmux") if not shutil.which(t)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (ci/install-deps.sh installs them)")
    if not GLASSRUN.exists():
        pytest.fail(f"{GLASSRUN} is not built (make build)")
    engine_dir = Path(tempfile.mkdtemp(prefix="glassrun-engines."))
    made_run_dirs = [d for d in CONTAINERD_RUN_DIRS if not d.exists()]
    podman_parents_before = podman_cgroup_parents()
    session = uuid.uuid4().hex[:10]
    try:
        r = run(["bash", SETUP, "--glassrun", GLASSRUN, "--dir", engine_dir], timeout=600)
        values = parse_setup_output(r.stdout)
        if r.returncode or "CONTAINERD_SOCK" not in values:
            pytest.fail(f"tools/engines/setup.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        yield Engines(values, session)
    finally:
        stop_engines(engine_dir, session, made_run_dirs, podman_parents_before)


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    """The runtime's name; runc's known failures on this machine are xfail."""
    name = request.node.originalname
    if request.param == "runc" and name in RUNC_FAILS:
        request.applymarker(pytest.mark.xfail(reason=f"runc fails this here: {RUNC_FAILS[name]}", strict=True))
    return request.param


# ---- podman


class EngineClient:
    """One engine's command line with one runtime; remembers the containers it
    names, for the cleanup after the test."""

    def __init__(self, engines, runtime):
        self.e = engines
        self.runtime = runtime
        self.names = []

    def new_name(self):
        name = f"gr-{self.runtime}-{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        return name


class Podman(EngineClient):
    """podman; every container it makes carries the session label."""

    def __call__(self, *args, **kw):
        return self.e.podman(*args, **kw)

    def run_args(self, *opts):
        return ["--runtime", self.runtime, "run", "--label", f"{LABEL}={self.e.session}", *opts]

    def run(self, *args, opts=(), **kw):
        """podman run --rm [opts] IMAGE args..."""
        return self(*self.run_args("--rm", *opts), self.e.image, *args, **kw)

    def start(self, *args, opts=()):
        """podman run -d: a named, running container."""
        name = self.new_name()
        r = self(*self.run_args("-d", "--name", name, *opts), self.e.image, *args)
        assert r.returncode == 0, r.stderr
        return name

    def status(self, name):
        return self("inspect", "-f", "{{.State.Status}}", name).stdout.strip()

    def cleanup(self):
        if self.names:
            self("rm", "-f", "-t", "0", *self.names, timeout=300)


def cleaned_up(client):
    """Fixture body: the client for the test, its containers removed after."""
    try:
        yield client
    finally:
        client.cleanup()


@pytest.fixture
def podman(engines, runtime):
    yield from cleaned_up(Podman(engines, runtime))


def cap_eff(status_text):
    return int(re.search(r"^CapEff:\s*([0-9a-f]+)$", status_text, re.M).group(1), 16)


def test_podman_echo(podman):
    r = podman.run("echo", "hello from the container")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from the container\n"


def test_podman_exit_codes(podman):
    r = podman.run("sh", "-c", "echo before-exit; exit 7")
    assert (r.returncode, r.stdout) == (7, "before-exit\n"), r.stderr
    missing = podman.run("/bin/no-such-command")
    assert missing.returncode == 127, missing.stderr
    assert "no-such-command" in missing.stderr


def test_podman_stdin(podman):
    r = podman.run("sh", "-c", "read line; echo got-$line; wc -l", opts=["-i"], input=b"first\nsecond\nthird\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["got-first", "2"]


def test_podman_process_options(podman):
    """-e, -w, --hostname and -u, as the process sees them."""
    r = podman.run("sh", "-c", 'echo "$GREETING"; pwd; hostname; id -u; id -g',
                   opts=["-e", "GREETING=hello engines", "-w", "/tmp", "--hostname", "box-7", "-u", "65534:65534"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["hello engines", "/tmp", "box-7", "65534", "65534"]


def test_podman_caps(podman):
    r = podman.run("sh", "-c", "grep CapEff /proc/self/status; chown 1 /tmp && echo chown-worked",
                   opts=["--cap-drop", "CHOWN", "--cap-add", "SYS_ADMIN"])
    eff = cap_eff(r.stdout)
    assert not eff & (1 << CAP_CHOWN), r.stdout
    assert eff & (1 << CAP_SYS_ADMIN), r.stdout
    assert eff & (1 << CAP_NET_RAW), r.stdout  # a default one stays
    assert "chown-worked" not in r.stdout
    assert "Operation not permitted" in r.stderr


def test_podman_read_only(podman):
    """--read-only: / refuses writes; /tmp is podman's tmpfs (with tmpcopyup)."""
    r = podman.run("sh", "-c", "touch /new-file; touch /tmp/ok && echo tmp-writable",
                   opts=["--read-only"])
    assert "Read-only file system" in r.stderr
    assert "tmp-writable" in r.stdout


def test_podman_tmpfs_keeps_image_files(podman):
    """--tmpfs asks for tmpcopyup: the image's /etc shows through the tmpfs."""
    r = podman.run("sh", "-c", "stat -f -c %T /etc; grep ^root: /etc/passwd; echo new > /etc/new && cat /etc/new",
                   opts=["--tmpfs", "/etc"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["tmpfs", "root:x:0:0:root:/root:/bin/sh", "new"]


def test_podman_network_none(podman):
    r = podman.run("sh", "-c", "ls /sys/class/net", opts=["--network", "none"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["lo"]


def test_podman_resource_limits(podman):
    r = podman.run("cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                   "/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/pids/pids.max",
                   opts=["--memory", "64m", "--cpus", "0.5", "--pids-limit", "50"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(64 << 20), "50000", "100000", "50"]


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.kill()


def session_script(env, command):
    exports = "".join(f"export {k}={v}\n" for k, v in env.items())
    return f"{exports}{command}\necho EXITED-$?\nsleep 100000\n"


def check_shell_on_pty(tmux):
    """A shell on a terminal: typed input runs, `tty` names a pty, exit ends it."""
    tmux.wait_for("/ #")  # the prompt; capture-pane drops its trailing space
    tmux.keys("echo typed-$((6*7))", "Enter")
    tmux.wait_for("typed-42")
    tmux.keys("tty", "Enter")
    tmux.wait_for("/dev/pts/")
    tmux.keys("exit 3", "Enter")
    tmux.wait_for("EXITED-3")


def test_podman_run_it(podman, tmux):
    cmd = " ".join(["podman", *podman.run_args("--rm", "-it"), podman.e.image, "sh"])
    tmux.start(session_script({"CONTAINERS_CONF": podman.e.conf}, cmd))
    check_shell_on_pty(tmux)


@pytest.fixture
def sleeper(podman):
    """A running container whose pid 1 sleeps."""
    return podman.start("sleep", "100000")


def test_podman_exec(podman, sleeper):
    r = podman("exec", sleeper, "sh", "-c", "echo exec-as-$(id -u); tr '\\0' ' ' < /proc/1/cmdline")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exec-as-0\nsleep 100000 "


def test_podman_exec_user(podman, sleeper):
    r = podman("exec", "-u", "65534:65534", sleeper, "id")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("uid=65534(nobody) gid=65534(nogroup)")


def test_podman_exec_exit_codes(podman, sleeper):
    r = podman("exec", sleeper, "sh", "-c", "echo failing; exit 5")
    assert (r.returncode, r.stdout) == (5, "failing\n"), r.stderr
    missing = podman("exec", sleeper, "/bin/no-such-command")
    assert missing.returncode == 127, missing.stderr
    assert "no-such-command" in missing.stderr


def test_podman_exec_detached(podman, sleeper):
    r = podman("exec", "-d", sleeper, "sh", "-c", "echo written-by-exec-d > /tmp/mark; sleep 100000")
    assert r.returncode == 0, r.stderr
    # The detached exec runs on; its file shows up (polled: no timing assumed).
    give_up = time.monotonic() + 60
    while (out := podman("exec", sleeper, "cat", "/tmp/mark").stdout) != "written-by-exec-d\n":
        assert time.monotonic() < give_up, f"exec -d never wrote its file: {out!r}"
        time.sleep(0.1)
    ps = podman("exec", sleeper, "ps", "-o", "args")
    # pid 1's sleep and the detached exec's (sh -c execs its last command)
    assert ps.stdout.splitlines().count("sleep 100000") == 2, ps.stdout


def test_podman_exec_it(podman, sleeper, tmux):
    tmux.start(session_script({"CONTAINERS_CONF": podman.e.conf}, f"podman exec -it {sleeper} sh"))
    check_shell_on_pty(tmux)


def test_podman_top(podman, sleeper):
    r = podman("top", sleeper, "pid", "args")
    assert r.returncode == 0, r.stderr
    rows = [line.split(None, 1) for line in r.stdout.strip().splitlines()[1:]]
    assert ["1", "sleep 100000"] in [[c.strip() for c in row] for row in rows], r.stdout


def test_podman_pause_unpause(podman, sleeper):
    assert podman("pause", sleeper).returncode == 0
    assert podman.status(sleeper) == "paused"
    assert podman("unpause", sleeper).returncode == 0
    assert podman.status(sleeper) == "running"
    r = podman("exec", sleeper, "echo", "alive-after-unpause")
    assert r.stdout == "alive-after-unpause\n", r.stderr


def test_podman_update(podman, sleeper):
    if podman("update", "--help").returncode != 0:
        pytest.skip(f"podman {podman('--version').stdout.split()[-1]} has no `podman update` (added in 4.4)")
    r = podman("update", "--memory", "96m", sleeper)
    assert r.returncode == 0, r.stderr
    r = podman("exec", sleeper, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert r.stdout.strip() == str(96 << 20)


TRAP_TERM = "trap 'echo got-TERM; exit 3' TERM; echo ready; while :; do sleep 1 & wait; done"


def wait_for_log(podman, name, text):
    give_up = time.monotonic() + 60  # a hang bound, not a timing assertion
    while text not in (out := podman("logs", name).stdout):
        assert time.monotonic() < give_up, f"{text!r} never in the logs: {out!r}"
        time.sleep(0.1)


def test_podman_kill(podman):
    name = podman.start("sh", "-c", TRAP_TERM)
    wait_for_log(podman, name, "ready")
    assert podman("kill", "-s", "TERM", name).returncode == 0
    assert podman("wait", name).stdout.strip() == "3"
    assert "got-TERM" in podman("logs", name).stdout
    assert podman.status(name) == "exited"


def test_podman_stop_timeout(podman, sleeper):
    """pid 1 ignores SIGTERM (no handler): stop -t 1 ends it with SIGKILL."""
    r = podman("stop", "-t", "1", sleeper)
    assert r.returncode == 0, r.stderr
    assert podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", sleeper).stdout.split() == \
        ["exited", "137"]


def test_podman_restart(podman):
    name = podman.start("sh", "-c", "echo started; sleep 100000")
    wait_for_log(podman, name, "started")
    pid_before = podman("inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
    r = podman("restart", "-t", "0", name)
    assert r.returncode == 0, r.stderr
    assert podman.status(name) == "running"
    assert podman("inspect", "-f", "{{.State.Pid}}", name).stdout.strip() != pid_before
    wait_for_log(podman, name, "started\nstarted")


def test_podman_rm_force(podman):
    """rm -f of a running container (one that ends on SIGTERM, so that podman
    need not wait out its 10 s stop timeout)."""
    name = podman.start("sh", "-c", TRAP_TERM)
    wait_for_log(podman, name, "ready")
    cid = podman("inspect", "-f", "{{.Id}}", name).stdout.strip()
    r = podman("rm", "-f", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in (name, cid)
    assert podman("ps", "-a", "-q", "--filter", f"name={name}").stdout == ""
    assert processes_mentioning(cid) == []


# ---- containerd (ctr)


class Ctr(EngineClient):
    """ctr with the runtime's binary as the runc shim's runc."""

    def __init__(self, engines, runtime):
        super().__init__(engines, runtime)
        self.binary = engines.binary(runtime)

    def __call__(self, *args, **kw):
        return self.e.ctr(*args, **kw)

    def run_args(self, *opts):
        return ["run", "--runc-binary", self.binary, *opts]

    def run(self, *args, opts=(), **kw):
        return self(*self.run_args("--rm", *opts), self.e.image, self.new_name(), *args, **kw)

    def start(self, *args, opts=()):
        cid = self.new_name()
        r = self(*self.run_args("-d", *opts), self.e.image, cid, *args)
        assert r.returncode == 0, r.stderr
        return cid

    def tasks(self):
        """{id: (pid, status)} from `ctr task ls`."""
        rows = [line.split() for line in self("task", "ls").stdout.splitlines()[1:]]
        return {r[0]: (r[1], r[2]) for r in rows if len(r) == 3}

    def cleanup(self):
        for cid in self.names:
            if cid in self.tasks():
                self("task", "kill", "--all", "-s", "KILL", cid)
                self("task", "delete", "-f", cid, timeout=120)
            self("containers", "rm", cid)


@pytest.fixture
def ctr(engines, runtime):
    yield from cleaned_up(Ctr(engines, runtime))


def test_ctr_run(ctr):
    r = ctr.run("sh", "-c", "echo hello-from-ctr; exit 4")
    assert (r.returncode, r.stdout) == (4, "hello-from-ctr\n"), r.stderr
    assert ctr.names[-1] not in ctr("containers", "ls", "-q").stdout.split()  # --rm


def test_ctr_run_tty(ctr, tmux):
    cmd = " ".join(["ctr", "--address", ctr.e.sock, "-n", "glassrun", *ctr.run_args("--rm", "-t"), ctr.e.image,
                    ctr.new_name(), "sh"])
    tmux.start(session_script({}, cmd))
    check_shell_on_pty(tmux)


def test_ctr_memory_limit_and_metrics(ctr):
    cid = ctr.start("sleep", "100000", opts=["--memory-limit", str(64 << 20)])
    r = ctr("task", "metrics", cid)
    assert r.returncode == 0, r.stderr
    metrics = dict(line.split()[:2] for line in r.stdout.splitlines() if line.startswith(("memory.", "pids.")))
    assert metrics["memory.limit_in_bytes"] == str(64 << 20), r.stdout
    assert int(metrics["memory.usage_in_bytes"]) > 0


def test_ctr_task_exec(ctr):
    cid = ctr.start("sleep", "100000")
    r = ctr("task", "exec", "--exec-id", "probe-1", cid, "sh", "-c", "echo exec-$(cat /proc/1/cmdline | tr '\\0' ' ')")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exec-sleep 100000\n"
    failing = ctr("task", "exec", "--exec-id", "probe-2", cid, "sh", "-c", "exit 6")
    assert failing.returncode == 6, failing.stderr


def test_ctr_task_exec_tty(ctr, tmux):
    cid = ctr.start("sleep", "100000")
    cmd = f"ctr --address {ctr.e.sock} -n glassrun task exec -t --exec-id shell {cid} sh"
    tmux.start(session_script({}, cmd))
    check_shell_on_pty(tmux)


def test_ctr_task_ps(ctr):
    cid = ctr.start("sleep", "100000")
    pid, status = ctr.tasks()[cid]
    assert status == "RUNNING"
    r = ctr("task", "ps", cid)
    assert r.returncode == 0, r.stderr
    assert pid in [line.split()[0] for line in r.stdout.splitlines()[1:]], r.stdout
    assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x00100000\x00"


def test_ctr_pause_resume(ctr):
    cid = ctr.start("sleep", "100000")
    assert ctr("task", "pause", cid).returncode == 0
    assert ctr.tasks()[cid][1] == "PAUSED"
    assert ctr("task", "resume", cid).returncode == 0
    assert ctr.tasks()[cid][1] == "RUNNING"
    r = ctr("task", "exec", "--exec-id", "after-resume", cid, "echo", "resumed")
    assert r.stdout == "resumed\n", r.stderr


def test_ctr_kill_all(ctr):
    cid = ctr.start("sh", "-c", "sleep 100000 & sleep 100000")
    r = ctr("task", "exec", "--exec-id", "count", cid, "sh", "-c", "ps -o comm | grep -c sleep")
    assert r.stdout.strip() == "2", r.stdout + r.stderr
    pids = [line.split()[0] for line in ctr("task", "ps", cid).stdout.splitlines()[1:]]
    assert ctr("task", "kill", "--all", "-s", "KILL", cid).returncode == 0
    give_up = time.monotonic() + 60  # a hang bound, not a timing assertion
    while ctr.tasks()[cid][1] != "STOPPED":
        assert time.monotonic() < give_up, ctr("task", "ls").stdout
        time.sleep(0.1)
    assert [p for p in pids if Path(f"/proc/{p}").exists() and
            b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes()] == []
    r = ctr("task", "delete", cid)
    assert r.returncode == 0, r.stderr


def test_ctr_delete_force(ctr):
    cid = ctr.start("sleep", "100000")
    pid = ctr.tasks()[cid][0]
    r = ctr("task", "delete", "-f", cid, timeout=120)
    assert r.returncode == 0, r.stderr
    assert cid not in ctr.tasks()
    assert not Path(f"/proc/{pid}").exists() or b"sleep" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    r = ctr("containers", "rm", cid)
    assert r.returncode == 0, r.stderr
    assert cid not in ctr("containers", "ls", "-q").stdout.split()


def test_ctr_runtime_state_vanished(ctr):
    """The runtime's state dir of a task is removed (a reboot of /run, an admin's
    rm -rf) and its process dies: containerd must still delete the task."""
    cid = ctr.start("sleep", "100000")
    try:
        pid = int(ctr.tasks()[cid][0])
        state = Path("/run/containerd/runc/glassrun") / cid  # the runc shim's default --root, per namespace
        assert state.is_dir(), f"no runtime state at {state}"
        shutil.rmtree(state)
        os.kill(pid, signal.SIGKILL)
        give_up = time.monotonic() + 60  # a hang bound, not a timing assertion
        while ctr.tasks()[cid][1] != "STOPPED":
            assert time.monotonic() < give_up, ctr("task", "ls").stdout
            time.sleep(0.1)
        r = ctr("task", "delete", cid, timeout=120)
        assert r.returncode == 0, r.stderr
        assert cid not in ctr.tasks()
        r = ctr("containers", "rm", cid)
        assert r.returncode == 0, r.stderr
    finally:
        # With its state gone, no runtime can know the container's cgroups
        # (containerd's /NAMESPACE/ID in every hierarchy): the test made that
        # loss, so it removes them.
        def left():  # v1/hybrid: in each hierarchy; pure v2: at the top
            root = Path("/sys/fs/cgroup")
            return list(root.glob(f"*/glassrun/{cid}")) + list(root.glob(f"glassrun/{cid}"))
        for d in left():
            d.rmdir()
        assert left() == []
