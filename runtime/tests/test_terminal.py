"""Terminals: --console-socket for create and exec -t (received with
tools/recvtty, which checks the message as containerd's shim does), and the
foreground proxy of `run`/`exec -t` driven through tmux."""
import os
import shlex
import time
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import REPO, run

RECVTTY = REPO / "tools" / "recvtty" / "recvtty"


class RecvTty:
    def __init__(self, tmp_path, mode):
        self.sock = tmp_path / f"console-{uuid.uuid4().hex[:6]}.sock"
        self.out = open(tmp_path / f"recvtty-{mode}.out", "w+b")
        self.err = open(tmp_path / f"recvtty-{mode}.err", "w+b")
        self.proc = subprocess.Popen(["/usr/bin/python3", str(RECVTTY), "--mode", mode, "--no-stdin",
                                      str(self.sock)], stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)
        # recvtty renames its socket into place once it listens.
        give_up = time.monotonic() + 120  # a hang bound, not a timing assertion
        while not self.sock.exists():
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < give_up, "recvtty never listened"
            time.sleep(0.01)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def stdout(self):
        self.out.seek(0)
        return self.out.read().decode(errors="replace")

    def wait(self):
        return self.proc.wait(timeout=60)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.out.close()
        self.err.close()


@pytest.fixture
def recvtty(tmp_path):
    made = []

    def make(mode="single"):
        r = RecvTty(tmp_path, mode)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def test_create_with_console_socket(glassrun, make_bundle, recvtty):
    b = make_bundle("sh", "-c", "tty; stty size; echo done", terminal=True)
    b.edit(lambda c: c["process"].__setitem__("consoleSize", {"height": 33, "width": 111}))
    rt = recvtty("single")
    cid = glassrun.new_id("tty")
    r = glassrun("create", "-b", b.path, "--console-socket", rt.sock, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert glassrun("start", cid).returncode == 0
    assert rt.wait() == 0, rt.stderr()
    assert "recvtty: got fd, payload" in rt.stderr()
    lines = rt.stdout().replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/"), lines
    assert lines[1:] == ["33 111", "done"]


def test_exec_tty_with_console_socket(glassrun, make_bundle, recvtty):
    b = make_bundle("sleep", "100000")
    cid = glassrun.new_id("tty")
    assert glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL).returncode == 0
    rt = recvtty("single")
    r = glassrun("exec", "-t", "-d", "--console-socket", rt.sock, cid, "sh", "-c",
                 "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; readlink /proc/self/fd/0; ps -o pid,tty | tail -n +2 | head -1 >/dev/null; echo done",
                 stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert rt.wait() == 0, rt.stderr()
    lines = rt.stdout().replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "all-tty"
    assert lines[2] == lines[0]  # from the container's devpts, seen by its path inside
    assert lines[-1] == "done"


def test_exec_tty_is_the_controlling_terminal(glassrun, make_bundle, recvtty):
    b = make_bundle("sleep", "100000")
    cid = glassrun.new_id("tty")
    assert glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL).returncode == 0
    rt = recvtty("single")
    # /dev/tty opens only for a process with a controlling terminal.
    r = glassrun("exec", "-t", "-d", "--console-socket", rt.sock, cid, "sh", "-c",
                 "echo via-dev-tty > /dev/tty && echo ok", stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    rt.wait()
    assert rt.stdout().replace("\r", "").splitlines() == ["via-dev-tty", "ok"]


# ---- the foreground proxy, through tmux


class Tmux:
    def __init__(self, tmp_path):
        self.sock = f"glassrun-test-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp_path

    def __call__(self, *args):
        conf = self.tmp / "tmux.conf"
        conf.write_text("set -g status off\n")
        return run(["tmux", "-L", self.sock, "-f", conf, *args])

    def start(self, script):
        path = self.tmp / "session.sh"
        path.write_text(script)
        r = self("new-session", "-d", "-x", "80", "-y", "24", "-s", "t", f"sh {path}")
        assert r.returncode == 0, r.stderr

    def screen(self):
        return self("capture-pane", "-p", "-t", "t").stdout

    def wait_for(self, text):
        """Polls the screen until text shows up (the bound is against hangs only)."""
        give_up = time.monotonic() + 120
        while text not in (s := self.screen()):
            r = self("has-session", "-t", "t")
            assert r.returncode == 0, f"tmux session ended before {text!r} showed"
            assert time.monotonic() < give_up, f"{text!r} never showed; screen:\n{s}"
            time.sleep(0.05)
        return s

    def keys(self, *keys):
        assert self("send-keys", "-t", "t", *keys).returncode == 0

    def kill(self):
        self("kill-server")


@pytest.fixture
def tmux(tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (ci/install-deps.sh installs it)")
    t = Tmux(tmp_path)
    yield t
    t.kill()


def proxy_script(tmp_path, command):
    """Runs command in the tmux pane; records the terminal settings around it."""
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    return before, after, (
        f"stty -g > {before}\n"
        f"{command}\n"
        f"echo EXITED-$?\n"
        f"stty -g > {after}\n"
        f"sleep 100000\n")


def check_interactive(tmux, tmp_path, before, after):
    tmux.wait_for("[gr]")
    tmux.keys("echo typed-$((6*7))", "Enter")
    tmux.wait_for("typed-42")
    tmux.keys("stty size", "Enter")
    tmux.wait_for("24 80")
    assert tmux("resize-window", "-t", "t", "-x", "100", "-y", "30").returncode == 0
    tmux.keys("clear; stty size", "Enter")
    tmux.wait_for("30 100")
    tmux.keys("sleep 100000", "Enter")
    tmux.wait_for("[gr]sleep 100000")
    tmux.keys("C-c")
    tmux.keys("echo after-int-$?", "Enter")
    tmux.wait_for("after-int-130")
    tmux.keys("exit 3", "Enter")
    tmux.wait_for("EXITED-3")
    give_up = time.monotonic() + 120
    while not after.exists() or not after.read_text():
        assert tmux("has-session", "-t", "t").returncode == 0
        assert time.monotonic() < give_up
        time.sleep(0.05)
    assert after.read_text() == before.read_text()  # the terminal is restored


def test_run_foreground_proxies_the_terminal(glassrun, make_bundle, tmux, tmp_path):
    b = make_bundle("sh", terminal=True)
    b.edit(lambda c: c["process"]["env"].append("PS1=[gr]"))
    cid = glassrun.new_id("tty")
    before, after, script = proxy_script(
        tmp_path, f"{shlex.quote(glassrun.binary)} --root {shlex.quote(glassrun.root)} run -b {shlex.quote(str(b.path))} {cid}")
    tmux.start(script)
    check_interactive(tmux, tmp_path, before, after)


def test_exec_foreground_proxies_the_terminal(glassrun, make_bundle, tmux, tmp_path):
    b = make_bundle("sleep", "100000")
    cid = glassrun.new_id("tty")
    assert glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL).returncode == 0
    before, after, script = proxy_script(
        tmp_path, f"{shlex.quote(glassrun.binary)} --root {shlex.quote(glassrun.root)} exec -t -e 'PS1=[gr]' {cid} sh")
    tmux.start(script)
    check_interactive(tmux, tmp_path, before, after)


# ---- a foreground terminal when the caller has none ----------------------------

@pytest.mark.parametrize("command", ["run", "exec"])
def test_foreground_terminal_without_a_caller_tty_relays(glassrun, runc, make_bundle, command):
    """Accepted difference (conformance/accepted_differences.toml,
    process.terminal:foreground-without-a-tty): runc and crun fail when the
    caller's stdin is no terminal; glassrun relays the container's pty."""
    outs = {}
    for name, rt in [("runc", runc), ("glassrun", glassrun)]:
        cid = rt.new_id("notty")
        if command == "run":
            b = make_bundle("sh", "-c", "tty; echo done").edit(lambda c: c["process"].__setitem__("terminal", True))
            r = rt("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        else:
            b = make_bundle("sleep", "100000")
            assert rt("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL).returncode == 0, name
            r = rt("exec", "-t", cid, "sh", "-c", "tty; echo done", stdin=subprocess.DEVNULL)
        outs[name] = r
    assert outs["runc"].returncode != 0 and "/dev/tty" in outs["runc"].stderr, outs["runc"].stderr
    g = outs["glassrun"]
    assert g.returncode == 0, g.stderr
    assert g.stdout.replace("\r", "").splitlines() == ["/dev/pts/0", "done"], g.stdout
