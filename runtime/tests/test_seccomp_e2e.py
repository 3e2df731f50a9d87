"""seccomp end to end: real profiles loaded into real containers. Each case runs
with glassrun (asserted) and with runc as the reference (recorded, not
asserted: `pytest -s` prints it, the junit XML keeps it as a property)."""
import copy
import errno
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, REPO, run
from security.helpers import bundle_template, fast_bundle, probe_binary, record  # noqa: F401 (fixtures)

DATA = Path(__file__).resolve().parent / "data"
PODMAN = json.loads((DATA / "seccomp-podman.json").read_text())
STRICT = json.loads((DATA / "seccomp-strict.json").read_text())
AGENT = BUILD / "tools" / "seccomp-agent" / "glassrun-seccomp-agent"
ENOSYS, EPERM, EACCES = errno.ENOSYS, errno.EPERM, errno.EACCES
BLOCKED = ["unshare", "mount", "keyctl", "ptrace"]
NR_ADD_KEY = 248  # x86_64 add_key: not in podman's allow list; EFAULT (NULL args) without seccomp


def with_blocked(profile, names, errno_ret):
    p = copy.deepcopy(profile)
    for rule in p["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n not in names]
    p["syscalls"] = [r for r in p["syscalls"] if r["names"]]
    p["syscalls"].append({"names": list(names), "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret})
    return p


@pytest.fixture
def both(glassrun, runc, fast_bundle, record_property):
    """run(profile, script) -> {"glassrun": result, "runc": result}; each in a
    fresh bundle with the probe in /bin."""

    def go(profile, script, edit=None, runtimes=("runc", "glassrun")):
        out = {}
        for name in runtimes:
            rt = glassrun if name == "glassrun" else runc
            b = fast_bundle("sh", "-c", script, name=f"{name}-{len(rt.ids)}-{os.urandom(3).hex()}")

            def e(c):
                if profile is not None:
                    c["linux"]["seccomp"] = profile
                if edit:
                    edit(c)

            b.edit(e)
            cid = rt.new_id("sc")
            try:
                r = rt("run", "-b", b.path, cid, stdin=subprocess.DEVNULL, timeout=60 if name == "glassrun" else 20)
            except subprocess.TimeoutExpired:
                if name == "glassrun":
                    raise
                r = subprocess.CompletedProcess([], -1, "", "timed out (reference only)")
            record(record_property, name, r)
            out[name] = r
        return out

    return go


def probe_lines(r):
    return r.stdout.splitlines()


def test_podman_profile_blocks_by_caps_and_default_errno(both):
    script = ("grep Seccomp: /proc/self/status; for c in unshare mount keyctl ptrace; do /bin/probe $c; done;"
              f" /bin/probe syscall {NR_ADD_KEY}; echo allowed-$(echo hi)")
    res = both(PODMAN, script)
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    lines = probe_lines(r)
    assert lines[0].split() == ["Seccomp:", "2"]
    # Allowed by the profile, refused by the kernel: no CAP_SYS_ADMIN (unshare, mount);
    # keyctl and ptrace(TRACEME) are allowed and work.
    assert lines[1:5] == [f"errno {EPERM}", f"errno {EPERM}", "ok", "ok"]
    assert lines[5] == f"errno {ENOSYS}"  # defaultErrnoRet 38, not the kernel's EPERM
    assert lines[6] == "allowed-hi"


def test_configured_errno_for_blocked_calls(both):
    profile = with_blocked(PODMAN, BLOCKED, errno.EOPNOTSUPP)
    res = both(profile, "for c in unshare mount keyctl ptrace; do /bin/probe $c; done; /bin/probe syscall 39")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert probe_lines(r) == [f"errno {errno.EOPNOTSUPP}"] * 4 + ["ok"]  # 39: getpid still works


def test_without_seccomp_the_same_calls_reach_the_kernel(both):
    """The control for the cases above: no profile, no Seccomp: 2, kernel errnos."""
    res = both(None, f"grep Seccomp: /proc/self/status; /bin/probe keyctl; /bin/probe syscall {NR_ADD_KEY}",
               edit=lambda c: c["linux"].pop("seccomp", None))
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert probe_lines(r) == ["Seccomp:\t0", "ok", f"errno {errno.EFAULT}"]


def test_default_errno_ret_is_honoured(both):
    profile = with_blocked(PODMAN, [], 0)
    profile["syscalls"].pop()
    profile["defaultErrnoRet"] = errno.EXDEV
    res = both(profile, f"/bin/probe syscall {NR_ADD_KEY}; /bin/probe syscall 39")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert probe_lines(r) == [f"errno {errno.EXDEV}", "ok"]


def test_kill_action_kills_with_sigsys(both):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_KILL"}]}
    res = both(profile, "/bin/probe keyctl; echo survived")
    r = res["glassrun"]
    assert "survived" in r.stdout  # the shell lives on; the probe was killed
    res = both(profile, "exec /bin/probe keyctl")
    r = res["glassrun"]
    assert r.returncode == 128 + signal.SIGSYS, r.stderr
    assert r.stdout == ""


def test_kill_process_action(both):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    res = both(profile, "exec /bin/probe keyctl")
    assert res["glassrun"].returncode == 128 + signal.SIGSYS, res["glassrun"].stderr


def test_unknown_syscall_names_are_skipped(both):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["no_such_syscall_glassrun", "keyctl", "also_not_a_syscall"],
                             "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOTBLK}]}
    res = both(profile, "/bin/probe keyctl")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert probe_lines(r) == [f"errno {errno.ENOTBLK}"]


def test_argument_conditions(both):
    """personality: allowed for the podman list of values only, ENOSYS otherwise."""
    res = both(PODMAN, "/bin/probe personality; /bin/probe syscall 135")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    # personality(0xffffffff) is listed; personality(0) (syscall 135 with 0) is listed too.
    assert probe_lines(r) == ["ok", "ok"]


def test_strict_profile(both):
    """seccomp-strict.json allows neither execve nor the init's last steps
    (openat of exec.fifo is EACCES): the container cannot start, as with runc,
    and the error says why instead of dying without a word."""
    res = both(STRICT, "true")
    r = res["glassrun"]
    assert r.returncode != 0
    assert "permission denied" in r.stderr.lower() or "operation not permitted" in r.stderr.lower(), r.stderr


@pytest.fixture
def agent(tmp_path):
    """The seccomp agent on a socket; answers mkdir with EDQUOT."""
    if not AGENT.exists():
        r = run(["cmake", "--build", BUILD, "--target", "glassrun-seccomp-agent"], timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
    sock = tmp_path / "agent.sock"
    log = open(tmp_path / "agent.log", "w+")
    p = subprocess.Popen([AGENT, sock, "mkdir", str(errno.EDQUOT)], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(500):  # wait for the socket to exist, not a timing assertion
        if sock.exists() or p.poll() is not None:
            break
        time.sleep(0.01)
    assert sock.exists(), (tmp_path / "agent.log").read_text()
    yield sock, tmp_path / "agent.log"
    p.terminate()
    p.wait()
    log.close()


def test_notify_is_answered_by_the_agent(both, agent):
    sock, log = agent
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(sock),
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    res = both(profile, "/bin/probe mkdir /tmp/x; /bin/probe keyctl")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert probe_lines(r) == [f"errno {errno.EDQUOT}", "ok"]
    text = log.read_text()
    assert "notify fd received" in text


def test_notify_without_listener_path_is_refused(glassrun, fast_bundle):
    b = fast_bundle("true")
    b.edit(lambda c: c["linux"].__setitem__(
        "seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}))
    cid = glassrun.new_id("sc")
    r = glassrun("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "listenerPath" in r.stderr
    assert not Path(glassrun.root, cid).exists()
