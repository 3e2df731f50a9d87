"""CVE-2025-52565: with process.terminal the pty slave is bound onto
/dev/console, a path in the (attacker-controlled) image. The attacking rootfs
makes /dev/console, or /dev, a symlink: to a host path through
/proc/<host pid>/root (no pid namespace, so the container's /proc shows host
processes), absolute, or relative with enough "..". glassrun must leave the host path as it was (same
content, no mount on it); runc 1.1.5 runs the same bundle and its outcome is
recorded (`pytest -s` prints it), not asserted."""
import os
import shutil
import stat
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from conftest import mounts_mentioning
from security.helpers import bundle_template, fast_bundle, probe_binary, record, runc_version  # noqa: F401
from test_terminal import RecvTty

ORIGINAL = "host file, must stay as it is\n"


@pytest.fixture
def runtimes(glassrun, runc):
    return {"runc": runc, "glassrun": glassrun}  # the reference first: recorded even when glassrun fails


@pytest.fixture
def host_target():
    """A host directory with one file in it; attacks aim at both."""
    d = Path(f"/tmp/glassrun-console-target-{uuid.uuid4().hex[:8]}")
    d.mkdir()
    (d / "file").write_text(ORIGINAL)
    yield d
    unmount_all(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def recvtty(tmp_path):
    made = []

    def make():
        r = RecvTty(tmp_path, "single")
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def unmount_all(path):
    for line in reversed(mounts_mentioning(str(path))):
        subprocess.run(["umount", "-l", line.split()[4]], check=False)


def host_state(d):
    """What the attack could have changed: the file's content, the directory's
    entries, and mounts on either (in this, the host's, mount namespace)."""
    content = (d / "file").read_text() if (d / "file").is_file() else None
    return {"content": content, "entries": sorted(p.name for p in d.iterdir()), "mounts": mounts_mentioning(str(d))}


UNTOUCHED = {"content": ORIGINAL, "entries": ["file"], "mounts": []}


def terminal_bundle(fast_bundle, name, *args):
    """A terminal container on the image's own /dev (no tmpfs over it, as an
    image that ships /dev would be run), with devpts still mounted."""
    b = fast_bundle(*(args or ("true",)), terminal=True, name=name)

    def edit(c):
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]

    b.edit(edit)
    dev = b.path / "rootfs" / "dev"
    if not (dev / "ptmx").is_symlink():
        (dev / "ptmx").symlink_to("pts/ptmx")  # what a tmpfs /dev would have had
    if not (dev / "null").exists():
        os.mknod(dev / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # masking binds it
    return b


def without_pid_namespace(b):
    b.edit(lambda c: c["linux"].__setitem__("namespaces", [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]))


def create_and_start(rt, b, recvtty, record_property, name):
    tty = recvtty()
    cid = rt.new_id("con")
    r = rt("create", "-b", b.path, "--console-socket", tty.sock, cid, stdin=subprocess.DEVNULL)
    record(record_property, f"{name}-create", r)
    if r.returncode == 0:
        s = rt("start", cid)
        record(record_property, f"{name}-start", s)
        if s.returncode == 0:
            tty.wait()
    return r, tty


# /proc/<pid>/root of a host process (this test's own: no pid namespace, so
# the container's /proc shows host pids) is the host's root.
HOST_ROOT = f"/proc/{os.getpid()}/root"

ATTACKS = {
    "console-via-proc-pid-root": lambda d: ("dev/console", HOST_ROOT + str(d / "file")),
    "console-absolute": lambda d: ("dev/console", str(d / "file")),
    "console-relative": lambda d: ("dev/console", "../../../../../../../.." + str(d / "file")),
    "dev-absolute": lambda d: ("dev", str(d)),
    "dev-via-proc-pid-root": lambda d: ("dev", HOST_ROOT + str(d)),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_dev_console_symlink_cannot_reach_the_host(runtimes, fast_bundle, recvtty, record_property, host_target,
                                                   attack):
    record_property("runc-version", runc_version())
    for name, rt in runtimes.items():
        b = terminal_bundle(fast_bundle, f"con-{name}-{attack}")
        without_pid_namespace(b)
        rootfs = b.path / "rootfs"
        link, points_to = ATTACKS[attack](host_target)
        if link == "dev":
            shutil.rmtree(rootfs / "dev")
            # What the absolute link resolves to inside the rootfs: the /dev
            # mounts land there, and /dev/ptmx must still find devpts.
            inside = rootfs / str(host_target).lstrip("/")
            inside.mkdir(parents=True)
            (inside / "ptmx").symlink_to("pts/ptmx")
        else:
            (rootfs / "dev" / "console").unlink(missing_ok=True)
        (rootfs / link).symlink_to(points_to)
        r, tty = create_and_start(rt, b, recvtty, record_property, name)
        state = host_state(host_target)
        print(f"[{name}] {attack}: host {'untouched' if state == UNTOUCHED else f'CHANGED {state}'}")
        record_property(f"{name}-host-untouched", state == UNTOUCHED)
        # Put the host back before asserting (runc may have changed it).
        unmount_all(host_target)
        for p in host_target.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        (host_target / "file").write_text(ORIGINAL)
        if name == "glassrun":
            assert state == UNTOUCHED, state
            # Refused, naming the path, before the container ran.
            assert r.returncode != 0, tty.stdout()
            if attack == "dev-via-proc-pid-root":  # already the /dev/pts mount target is refused (a magic link)
                assert "/dev/pts" in r.stderr, r.stderr
            else:
                assert "process.terminal: /dev/console: it or /dev is a symlink" in r.stderr, r.stderr


@pytest.mark.parametrize("dev", ["image-dev", "tmpfs-dev"])
def test_dev_console_is_the_terminal(glassrun, fast_bundle, recvtty, dev):
    """Without an attack /dev/console is the pty (created where the image, or
    the default tmpfs /dev, has none; bound from devpts); the container sees it
    in its mountinfo."""
    script = ("awk '$5 == \"/dev/console\" { for (i = 7; i <= NF; i++) if ($i == \"-\") print $(i + 1) }'"
              " /proc/self/mountinfo; stat -c %t:%T /dev/console")
    if dev == "image-dev":
        b = terminal_bundle(fast_bundle, "con-plain", "sh", "-c", script)
    else:
        b = fast_bundle("sh", "-c", script, terminal=True, name="con-plain-tmpfs")
    (b.path / "rootfs" / "dev" / "console").unlink(missing_ok=True)
    tty = recvtty()
    cid = glassrun.new_id("con")
    r = glassrun("create", "-b", b.path, "--console-socket", tty.sock, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert glassrun("start", cid).returncode == 0
    assert tty.wait() == 0, tty.stderr()
    lines = tty.stdout().replace("\r", "").splitlines()
    assert lines[0].split()[0] == "devpts", lines
    assert int(lines[1].split(":")[0], 16) in range(136, 144), lines  # a Unix98 pty slave
    if dev == "image-dev":
        assert (b.path / "rootfs" / "dev" / "console").is_file()  # the mount point glassrun made


def test_dev_console_that_is_a_directory_is_refused(glassrun, fast_bundle, recvtty):
    b = terminal_bundle(fast_bundle, "con-dir")
    console = b.path / "rootfs" / "dev" / "console"
    console.unlink(missing_ok=True)
    console.mkdir()
    tty = recvtty()
    cid = glassrun.new_id("con")
    r = glassrun("create", "-b", b.path, "--console-socket", tty.sock, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "process.terminal: /dev/console: not a regular file or a character device" in r.stderr, r.stderr
    assert not list((Path(glassrun.root)).glob(f"{cid}*"))  # nothing left behind


def test_dev_console_swapped_during_setup_cannot_reach_the_host(glassrun, fast_bundle, recvtty, host_target):
    """The race of CVE-2025-52565: while glassrun sets the container up, a host
    thread keeps swapping the image's /dev/console (rename, atomic) between a
    regular file and a symlink to a host file. Each create either binds the pty
    onto a regular file or refuses the symlink; the host file is never reached.
    (A bind that succeeded may be gone by the time the container looks: the
    host's next rename replaces the mount point, which detaches the mount.
    That the bind happens at all is test_dev_console_is_the_terminal's job.)"""
    script = ("awk '$5 == \"/dev/console\" { for (i = 7; i <= NF; i++) if ($i == \"-\") print $(i + 1) }'"
              " /proc/self/mountinfo")
    b = terminal_bundle(fast_bundle, "con-race", "sh", "-c", script)
    without_pid_namespace(b)
    dev = b.path / "rootfs" / "dev"
    (dev / "console").unlink(missing_ok=True)
    stop = threading.Event()

    def swap():
        flip = 0
        while not stop.is_set():
            entry = dev / f".console-{flip % 2}"
            if flip % 2:
                entry.symlink_to(HOST_ROOT + str(host_target / "file"))
            else:
                entry.write_text("")
            os.rename(entry, dev / "console")
            flip += 1

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    outcomes = []
    try:
        for _ in range(12):
            tty = recvtty()
            cid = glassrun.new_id("race")
            r = glassrun("create", "-b", b.path, "--console-socket", tty.sock, cid, stdin=subprocess.DEVNULL)
            if r.returncode == 0:
                assert glassrun("start", cid).returncode == 0
                assert tty.wait() == 0, tty.stderr()
                seen = tty.stdout().replace("\r", "").split()
                assert seen in (["devpts"], []), seen
                outcomes.append("bound" if seen else "bound, then detached by the swap")
            else:
                assert "/dev/console" in r.stderr, r.stderr
                outcomes.append("refused")
            glassrun("delete", "--force", cid)
            assert host_state(host_target) == UNTOUCHED, outcomes
    finally:
        stop.set()
        swapper.join()
    print(f"[glassrun] outcomes under the swap: {outcomes}")
