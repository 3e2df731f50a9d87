"""The one process-finalisation path (container/process.cpp) that the init and
exec share: cwd and args[0] through /proc/self/fd/N (CVE-2024-21626), exec
non-dumpable before it joins anything (CVE-2016-9962), and runc's cwd, stdio,
HOME and executable rules. Every case runs against runc 1.1.5 too: its outcome
is recorded (`pytest -s` prints it, --junitxml keeps it), glassrun's asserted."""
import json
import os
import re
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import run
from security.helpers import bundle_template, fast_bundle, probe_binary, record  # noqa: F401

FDS = range(3, 65)


@pytest.fixture
def runtimes(glassrun, runc):
    return {"runc": runc, "glassrun": glassrun}  # the reference first: recorded even when glassrun fails


def start_detached(rt, bundle):
    cid = rt.new_id("xsec")
    r = rt("run", "-d", "-b", bundle.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return cid


def one_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return len(lines) == 1, lines


def summarise(record_property, name, outcomes):
    """outcomes: {n: CompletedProcess}; one recorded line per runtime."""
    refused = sorted(n for n, r in outcomes.items() if r.returncode != 0)
    ran = sorted(n for n, r in outcomes.items() if r.returncode == 0)
    sample = next((r.stderr.strip() for r in outcomes.values() if r.returncode != 0), "")
    text = f"refused fds {refused[:3]}..({len(refused)}), ran {ran}; e.g. {sample[-200:]!r}"
    record_property(name, text)
    print(f"[{name}] {text}")


def assert_all_refused(outcomes, marker, names):
    for n, r in outcomes.items():
        assert r.returncode != 0, f"fd {n}: the process ran: {r.stdout!r}"
        assert marker not in r.stdout, f"fd {n}: the host was reached"
        ok, lines = one_line(r.stderr)
        assert ok, f"fd {n}: not one line: {lines}"
        assert names in lines[0], f"fd {n}: {lines[0]}"


# --- CVE-2024-21626: /proc/self/fd/N as cwd or args[0], for run and exec ------

ESCAPE = "ls -a . .. ../.. ../../.. ../../../..; cat ../../../../etc/hostname"


@pytest.fixture
def host_marker(tmp_path):
    """A file next to the state dirs: seeing its name means the host was reached."""
    m = f"HOST-MARKER-{uuid.uuid4().hex[:8]}"
    (tmp_path / m).write_text("")
    return m


def test_run_with_cwd_in_proc_self_fd_is_refused(runtimes, fast_bundle, record_property, host_marker):
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", ESCAPE, name=f"runcwd-{name}")
        outcomes = {}
        for n in FDS:
            b.edit(lambda c: c["process"].__setitem__("cwd", f"/proc/self/fd/{n}"))
            outcomes[n] = rt("run", "-b", b.path, rt.new_id("cwd"), stdin=subprocess.DEVNULL)
        summarise(record_property, name, outcomes)
        if name == "glassrun":
            assert_all_refused(outcomes, host_marker, "process.cwd")


@pytest.mark.parametrize("how", ["--cwd", "--process"])
def test_exec_with_cwd_in_proc_self_fd_is_refused(runtimes, fast_bundle, record_property, host_marker, tmp_path,
                                                  how):
    """The issue's escape: `exec --cwd /proc/self/fd/3 c1 sh -c 'cd ../../..; ls'`."""
    for name, rt in runtimes.items():
        cid = start_detached(rt, fast_bundle("sleep", "100000", name=f"execcwd-{name}"))
        outcomes = {}
        for n in FDS:
            if how == "--cwd":
                outcomes[n] = rt("exec", "--cwd", f"/proc/self/fd/{n}", cid, "sh", "-c", ESCAPE,
                                 stdin=subprocess.DEVNULL)
            else:
                proc = tmp_path / f"process-{name}.json"
                proc.write_text(json.dumps({"args": ["sh", "-c", ESCAPE], "cwd": f"/proc/self/fd/{n}",
                                            "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}))
                outcomes[n] = rt("exec", "--process", proc, cid, stdin=subprocess.DEVNULL)
        summarise(record_property, name, outcomes)
        if name == "glassrun":
            assert_all_refused(outcomes, host_marker, "process.cwd")
            # the container is still fine afterwards
            r = rt("exec", cid, "true")
            assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("cmd", ["run", "exec"])
def test_args0_in_proc_self_fd_is_refused(runtimes, fast_bundle, record_property, host_marker, cmd):
    for name, rt in runtimes.items():
        b = fast_bundle("sleep", "100000", name=f"arg0-{cmd}-{name}")
        cid = start_detached(rt, b) if cmd == "exec" else None
        outcomes = {}
        for n in FDS:
            exe = f"/proc/self/fd/{n}"
            if cmd == "run":
                b.set_args(exe, "-c", ESCAPE)
                outcomes[n] = rt("run", "-b", b.path, rt.new_id("arg0"), stdin=subprocess.DEVNULL)
            else:
                outcomes[n] = rt("exec", cid, exe, "-c", ESCAPE, stdin=subprocess.DEVNULL)
        summarise(record_property, name, outcomes)
        if name == "glassrun":
            for n, r in outcomes.items():
                assert_all_refused({n: r}, host_marker, f'"/proc/self/fd/{n}"')


# --- CVE-2016-9962: the entering process cannot be reached from the container -

def test_exec_is_not_dumpable_before_its_first_setns(glassrun, fast_bundle, tmp_path):
    """strace of `glassrun exec`: prctl(PR_SET_DUMPABLE, 0) comes before any setns."""
    if not Path("/usr/bin/strace").exists():
        pytest.fail("strace is needed (apt-get install strace)")
    cid = start_detached(glassrun, fast_bundle("sleep", "100000", name="dumpable"))
    log = tmp_path / "strace.log"
    r = run(["strace", "-f", "-qq", "-e", "trace=prctl,setns", "-o", log, glassrun.binary, "--root", glassrun.root,
             "exec", cid, "true"], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    calls = [l for l in log.read_text().splitlines() if "setns(" in l or "PR_SET_DUMPABLE" in l]
    first_setns = next(i for i, l in enumerate(calls) if "setns(" in l)
    assert any(re.search(r"PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)\)", l) for l in calls[:first_setns]), calls


PTRACE_CASES = {
    # (user namespace, CAP_SYS_PTRACE)
    "default-caps": (False, False),
    "userns-with-cap-sys-ptrace": (True, True),
    "cap-sys-ptrace-no-userns": (False, True),
}


@pytest.mark.parametrize("case", PTRACE_CASES)
def test_container_cannot_ptrace_or_read_the_entering_process(runtimes, fast_bundle, record_property, case):
    """The container's /etc/passwd is a FIFO: the entering process blocks on it
    (the HOME lookup) after its setns and before execve. The container's init
    (root) finds it and tries PTRACE_ATTACH and /proc/<pid>/mem|environ|fd,
    then releases it. Non-dumpable stops every attempt unless the container
    holds CAP_SYS_PTRACE of the host's user namespace: the kernel lets such a
    container ptrace any root process it sees, so there the assertion is that
    the process holds no host fd (only stdio, the channel, the container's own
    root and namespaces)."""
    userns, ptrace_cap = PTRACE_CASES[case]
    caps = ["CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_MKNOD"]
    if ptrace_cap:
        caps.append("CAP_SYS_PTRACE")
    for name, rt in runtimes.items():
        b = fast_bundle("/bin/probe", "attach", "/etc/passwd", "/tmp/attack", name=f"ptrace-{name}")

        def edit(c):
            c["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
            c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("HOME=")]
            c["root"]["readonly"] = False
            if userns:
                c["linux"]["namespaces"].append({"type": "user"})
                c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
                c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]

        b.edit(edit)
        work = b.path / "rootfs" / "tmp" / "attack"
        work.mkdir(parents=True)
        cid = start_detached(rt, b)
        for _ in range(3000):
            if (work / "ready").exists():
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"[{name}] the attacker never got ready")
        r = rt("exec", cid, "/bin/probe", "cwd", stdin=subprocess.DEVNULL, timeout=180)
        record(record_property, f"{name}-exec", r)
        result = (work / "result").read_text() if (work / "result").exists() else "no result"
        record_property(f"{name}-attack", result)
        print(f"[{name}] attack: {result!r}")
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            got = dict(l.split(" ", 1) for l in result.splitlines() if " " in l)
            assert got.get("found", "0") != "0", result  # the attacker did see the process
            if ptrace_cap and not userns:
                fds = got.get("fd", "")
                assert fds.startswith("ok"), result
                for entry in fds[3:].strip().strip(";").split(";"):
                    n, target = entry.split("=", 1)
                    if int(n) < 3:
                        continue  # stdio: the process gets it anyway
                    # the channel, the container's own passwd (being read), root and
                    # namespaces; nothing of the host's
                    assert target in ("/", "/etc/passwd") or re.fullmatch(r"(socket|mnt|net|ipc|uts|cgroup|user|time|pid):\[\d+\]",
                                                         target), entry
            else:
                for what in ("ptrace", "mem", "environ", "fd"):
                    assert not got.get(what, "").startswith("ok"), f"{what}: {result}"


# --- runc's cwd, stdio, HOME and executable rules, for run and exec -------------

def run_and_exec(rt, fast_bundle, name, argv, edit=None, prepare=None, exec_args=()):
    """(run's result, exec's result) of the same command; exec goes into a
    container made from the same bundle edit (and rootfs preparation)."""
    results = []
    for mode, args in (("run", argv), ("exec", ["sleep", "100000"])):
        b = fast_bundle(*args, name=f"{name}-{mode}")
        if edit:
            b.edit(edit)
        if prepare:
            prepare(b)
        if mode == "run":
            results.append(rt("run", "-b", b.path, rt.new_id("rule"), stdin=subprocess.DEVNULL))
        else:
            cid = rt.new_id("rule")
            started = rt("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
            results.append(rt("exec", *exec_args, cid, *argv, stdin=subprocess.DEVNULL) if started.returncode == 0
                           else started)
    return results


def test_cwd_only_root_may_enter_is_entered_before_the_user_switch(runtimes, fast_bundle, record_property):
    """/root 0700: the process (uid 1000, no capabilities) starts there, as runc."""
    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["process"]["cwd"] = "/root"
        c["process"]["capabilities"] = {k: [] for k in ("bounding", "effective", "permitted")}

    def prepare(b):
        (b.path / "rootfs" / "root").mkdir(exist_ok=True)
        os.chmod(b.path / "rootfs" / "root", 0o700)

    for name, rt in runtimes.items():
        ran, execd = run_and_exec(rt, fast_bundle, f"root700-{name}", ["sh", "-c", "pwd; id -u"], edit=edit,
                                  prepare=prepare, exec_args=("-u", "1000:1000", "--cwd", "/root"))
        record(record_property, f"{name}-run", ran)
        record(record_property, f"{name}-exec", execd)
        if name == "glassrun":
            for r in (ran, execd):
                assert (r.returncode, r.stdout) == (0, "/root\n1000\n"), r.stderr


def test_missing_cwd_is_created_0755(runtimes, fast_bundle, record_property):
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "pwd", name=f"mkcwd-{name}")
        b.edit(lambda c: c["process"].__setitem__("cwd", "/new/work dir"))
        r = rt("run", "-b", b.path, rt.new_id("mkcwd"), stdin=subprocess.DEVNULL)
        record(record_property, name, r)
        made = b.path / "rootfs" / "new" / "work dir"
        modes = [oct(stat.S_IMODE(os.stat(p).st_mode)) if p.exists() else None for p in (made.parent, made)]
        record_property(f"{name}-modes", str(modes))
        if name == "glassrun":
            assert (r.returncode, r.stdout) == (0, "/new/work dir\n"), r.stderr
            assert modes == ["0o755", "0o755"]


def test_stdio_belongs_to_the_process_user_but_never_dev_null(runtimes, fast_bundle, record_property, tmp_path):
    null_before = os.stat("/dev/null")
    script = "stat -L -c '%u:%g' /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2"
    edit = lambda c: c["process"].__setitem__("user", {"uid": 1000, "gid": 1000})  # noqa: E731
    for name, rt in runtimes.items():
        ran, execd = run_and_exec(rt, fast_bundle, f"stdio-{name}", ["sh", "-c", script], edit=edit,
                                  exec_args=("-u", "1000:1000"))
        record(record_property, f"{name}-run", ran)
        record(record_property, f"{name}-exec", execd)
        if name == "glassrun":
            for r in (ran, execd):
                assert r.returncode == 0, r.stderr
                # fd 0 is the host's /dev/null (left alone), 1 and 2 our files: the user's, their group kept
                null_owner = f"{null_before.st_uid}:{null_before.st_gid}"
                assert r.stdout.split() == [null_owner, f"1000:{os.getgid()}", f"1000:{os.getgid()}"], r.stdout
    after = os.stat("/dev/null")
    assert (after.st_uid, after.st_gid, after.st_mode) == (null_before.st_uid, null_before.st_gid, null_before.st_mode)


def test_pty_belongs_to_the_process_user(glassrun, runc, fast_bundle, record_property):
    from test_terminal import RecvTty
    import tempfile
    for name, rt in {"runc": runc, "glassrun": glassrun}.items():
        with tempfile.TemporaryDirectory() as d:
            tty = RecvTty(Path(d), "single")
            try:
                b = fast_bundle("sh", "-c", "stat -c '%u:%g' $(tty)", terminal=True, name=f"pty-{name}")
                b.edit(lambda c: c["process"].__setitem__("user", {"uid": 1000, "gid": 1000}))
                cid = rt.new_id("pty")
                r = rt("run", "-d", "--console-socket", tty.sock, "-b", b.path, cid, stdin=subprocess.DEVNULL)
                record(record_property, name, r)
                tty.wait()
                out = tty.stdout().replace("\r", "").strip()
            finally:
                tty.stop()
        record_property(f"{name}-tty-owner", out)
        print(f"[{name}] tty owner {out}")
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            assert out.split(":")[0] == "1000", out


def test_home_from_the_container_passwd_or_slash(runtimes, fast_bundle, record_property, tmp_path):
    def edit(c):
        c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("HOME=")]

    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", 'echo "$HOME"', name=f"home-{name}")
        b.edit(edit)
        (b.path / "rootfs" / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                                          "app:x:1000:1000::/home/app:/bin/sh\n")
        got = {}
        for uid in (0, 1000, 4242):
            b.edit(lambda c: c["process"].__setitem__("user", {"uid": uid, "gid": uid}))
            got[f"run-{uid}"] = rt("run", "-b", b.path, rt.new_id("home"), stdin=subprocess.DEVNULL)
        b.set_args("sleep", "100000")
        b.edit(lambda c: c["process"].__setitem__("user", {"uid": 0, "gid": 0}))
        cid = start_detached(rt, b)
        for uid in (0, 1000, 4242):
            got[f"exec-{uid}"] = rt("exec", "-u", f"{uid}:{uid}", cid, "sh", "-c", 'echo "$HOME"',
                                    stdin=subprocess.DEVNULL)
            # issue 14: a --process whose user has no home entry crashed glassrun
            proc = tmp_path / f"p-{name}-{uid}.json"
            proc.write_text(json.dumps({"args": ["sh", "-c", 'echo "$HOME"'], "cwd": "/", "env": ["PATH=/bin"],
                                        "user": {"uid": uid, "gid": uid}}))
            got[f"process-{uid}"] = rt("exec", "--process", proc, cid, stdin=subprocess.DEVNULL)
        for k, r in got.items():
            record(record_property, f"{name}-{k}", r)
        if name == "glassrun":
            want = {0: "/root", 1000: "/home/app", 4242: "/"}
            for k, r in got.items():
                assert (r.returncode, r.stdout) == (0, want[int(k.split("-")[1])] + "\n"), (k, r.stderr)


@pytest.mark.parametrize("nnp", [False, True], ids=["without-nnp", "with-nnp"])
def test_seccomp_profile_denying_getcwd(runtimes, fast_bundle, record_property, nnp):
    """The cwd check runs before the filter is loaded (crun runs this; runc 1.1.5,
    checking after the filter, fails)."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    for name, rt in runtimes.items():
        def edit(c):
            c["linux"]["seccomp"] = profile
            c["process"]["noNewPrivileges"] = nnp
            c["process"]["cwd"] = "/tmp"

        ran, execd = run_and_exec(rt, fast_bundle, f"getcwd-{name}", ["/bin/probe", "cwd"], edit=edit)
        record(record_property, f"{name}-run", ran)
        record(record_property, f"{name}-exec", execd)
        if name == "glassrun":
            for r in (ran, execd):
                assert (r.returncode, r.stdout) == (0, "errno 1\n"), r.stderr  # started, in its cwd, filter on


@pytest.mark.parametrize("arg0", ["/etc/passwd", "noexec", "/tmp"], ids=["absolute", "on-path", "directory"])
def test_non_executable_args0(runtimes, fast_bundle, record_property, arg0):
    """EACCES and ENOENT stay apart for a path: podman maps "permission denied"
    to 126. A name looked up on PATH is "not found" when the file there is not
    executable, as runc 1.1.5 (Go's LookPath) says it."""
    for name, rt in runtimes.items():
        b = fast_bundle(arg0, name=f"eacces-{name}")
        (b.path / "rootfs" / "bin" / "noexec").write_text("#!/bin/sh\necho no\n")
        os.chmod(b.path / "rootfs" / "bin" / "noexec", 0o644)
        ran = rt("run", "-b", b.path, rt.new_id("eacces"), stdin=subprocess.DEVNULL)
        b.set_args("sleep", "100000")
        cid = start_detached(rt, b)
        execd = rt("exec", cid, arg0, stdin=subprocess.DEVNULL)
        record(record_property, f"{name}-run", ran)
        record(record_property, f"{name}-exec", execd)
        if name == "glassrun":
            for r in (ran, execd):
                assert r.returncode != 0
                ok, lines = one_line(r.stderr)
                assert ok, lines
                want = "executable file not found in $PATH" if "/" not in arg0 else "permission denied"
                assert want in lines[0] and f'"{arg0}"' in lines[0], lines[0]
                assert "no such file" not in lines[0]
