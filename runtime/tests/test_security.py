"""Regression tests for runc's CVE classes. Each builds the attacking rootfs or
config, runs glassrun and asserts the host is untouched; the same attack runs
against runc (the installed 1.1.5) and its outcome is recorded, not asserted:
`pytest -s` prints it, --junitxml keeps it as a property."""
import errno
import fcntl
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import BUILD, mounts_mentioning, run
from security.helpers import (GLASSRUN_SEAL, bundle_template, fast_bundle, file_digest,  # noqa: F401
                              private_glassrun, private_runc, probe_binary, record, runc_version,
                              sealed_glassrun, unseal_quietly)


def wait_for(path, what, must=True):
    """Waits for a file the container writes; a hang is a failure, not a pass."""
    for _ in range(3000):
        if Path(path).exists():
            return True
        time.sleep(0.01)
    if must:
        pytest.fail(f"timed out waiting for {what} ({path})")
    return False


@pytest.fixture
def runtimes(glassrun, runc):
    return {"runc": runc, "glassrun": glassrun}  # the reference first: recorded even when glassrun fails


@pytest.fixture
def host_dir(tmp_path_factory):
    """A directory on the host that attacks aim at; empty, with no mounts."""
    d = Path(f"/tmp/glassrun-host-target-{uuid.uuid4().hex[:8]}")
    d.mkdir()
    yield d
    for line in reversed(mounts_mentioning(str(d))):
        subprocess.run(["umount", "-l", line.split()[4]], check=False)
    shutil.rmtree(d, ignore_errors=True)


def run_container(rt, bundle, record_property, name, *extra, **kw):
    cid = rt.new_id("sec")
    r = rt("run", *extra, "-b", bundle.path, cid, stdin=subprocess.DEVNULL, **kw)
    record(record_property, name, r)
    return r


# --- CVE-2019-5736: the runtime binary seen through /proc/<pid>/exe -----------

def attack_runtime_binary(rt, fast_bundle, record_property, name):
    """A process in a created (not yet started) container holds /proc/1/exe (the
    runtime's init) open with O_PATH, waits until `start` execs the container
    process, then reopens it O_WRONLY through /proc/self/fd and writes."""
    b = fast_bundle("sleep", "100000", name=f"b5736-{name}")
    caps = ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]
    def edit(c):
        c["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        c["root"]["readonly"] = False  # the attacker reports through the rootfs

    b.edit(edit)
    work = b.path / "rootfs" / "tmp" / "attack"
    work.mkdir()
    before = file_digest(rt.binary)
    cid = rt.new_id("cve5736")
    r = rt("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    r = rt("exec", "-d", cid, "/bin/probe", "hold", "/proc/1/exe", "/tmp/attack", stdin=subprocess.DEVNULL)
    record(record_property, f"{name}-exec", r)
    if r.returncode != 0:
        return before, file_digest(rt.binary), f"exec refused: {r.stderr.strip()}"
    if not wait_for(work / "ready", "the attacker", must=name == "glassrun"):
        return before, file_digest(rt.binary), "the attacker never ran"
    r = rt("start", cid)
    assert r.returncode == 0, r.stderr
    (work / "go").write_text("")
    wait_for(work / "result", "the attack's result")
    result = (work / "result").read_text().strip()
    record_property(f"{name}-attack", result)
    print(f"[{name}] attack: {result}")
    return before, file_digest(rt.binary), result


def test_cve_2019_5736_runtime_binary_cannot_be_overwritten(private_glassrun, private_runc, fast_bundle,
                                                             record_property):
    record_property("runc-version", runc_version())
    before, after, result = attack_runtime_binary(private_runc, fast_bundle, record_property, "runc")
    print(f"[runc] binary {'unchanged' if before == after else 'OVERWRITTEN'}")
    before, after, result = attack_runtime_binary(private_glassrun, fast_bundle, record_property, "glassrun")
    assert before == after, f"the host's glassrun binary was overwritten from the container ({result})"
    assert result != "WROTE"


def test_cve_2019_5736_with_a_sealed_install(sealed_glassrun, fast_bundle, record_property):
    """The same attack against a sealed install (glassrun-seal), where create
    and exec skip their re-exec: the binary they start from is the view."""
    before, after, result = attack_runtime_binary(sealed_glassrun, fast_bundle, record_property, "glassrun")
    assert before == after, f"the sealed glassrun binary was overwritten from the container ({result})"
    assert result != "WROTE"


@pytest.mark.parametrize("install", ["untraced", "traced", "sealed", "tmpfs-layer"])
def test_init_exe_is_an_unwritable_view_of_the_binary(private_glassrun, fast_bundle, tmp_path, install):
    """The init of a created container runs glassrun's code; its /proc/<pid>/exe
    is the same bytes as the installed binary, but opening it for writing fails
    (EROFS through the detached read-only overlay; the sealed memfd fallback
    has F_SEAL_WRITE), and no mount of that overlay shows up on the host.
    Under glasstrace (`--trace`) as well: the re-exec used to be skipped there.
    And from a sealed install (glassrun-seal), which has no re-exec. And with
    the view's second layer an empty tmpfs, where the kernel refuses /dev as
    its data-only layer (injected: EINVAL for `datadir+`)."""
    rt = private_glassrun
    traced = install == "traced"
    wrap = []
    if install == "sealed":
        r = run([GLASSRUN_SEAL, rt.binary])
        assert r.returncode == 0, r.stderr
    if install == "tmpfs-layer":
        if not shutil.which("strace"):
            pytest.skip("strace is not installed: the refusal cannot be injected")
        # Not -f: the create's own process makes the view (strace would wait for the init).
        wrap = ["strace", "-qq", "-o", tmp_path / "trace", "-e", "trace=fsopen,fsconfig",
                "-e", "inject=fsconfig:error=EINVAL:when=3"]
    try:
        check_init_exe(rt, fast_bundle, traced, wrap)
    finally:
        if install == "sealed":
            unseal_quietly(rt.binary)
    if wrap:
        calls = (tmp_path / "trace").read_text().splitlines()
        refused = [i for i, x in enumerate(calls) if '"datadir+"' in x and "(INJECTED)" in x]
        assert len(refused) == 1, calls
        assert any('fsopen("tmpfs"' in x for x in calls[refused[0]:]), calls


def check_init_exe(rt, fast_bundle, traced, wrap=()):
    b = fast_bundle("true", name="exe-view")
    cid = rt.new_id("exeview")
    pid_file = b.path / "init.pid"
    mounts_before = Path("/proc/self/mountinfo").read_text()
    argv = [*wrap, rt.binary, "--root", rt.root, "create", "--pid-file", pid_file, "-b", b.path, cid]
    tracer = None
    if traced:
        # glasstrace follows the container until it exits, so it runs in the
        # background; the private copy has no glasstrace next to it: PATH.
        glasstrace = BUILD / "tracer" / "glasstrace"
        if not glasstrace.exists():
            pytest.skip(f"{glasstrace} is not built")
        env = {**os.environ, "PATH": f"{glasstrace.parent}:{os.environ['PATH']}"}
        tracer = subprocess.Popen([str(a) for a in [argv[0], "--trace", b.path / "trace.jsonl", *argv[1:]]],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text() or tracer.poll() is not None:
                break
            time.sleep(0.05)
        assert pid_file.exists(), f"traced create exited {tracer.poll()} without a pid file"
    else:
        r = run(argv, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
    try:
        exe = f"/proc/{pid_file.read_text()}/exe"
        assert file_digest(exe) == file_digest(rt.binary)
        if os.readlink(exe).startswith("/memfd:"):
            fd = os.open(exe, os.O_RDONLY)
            try:
                assert fcntl.fcntl(fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_WRITE
            finally:
                os.close(fd)
        else:  # ETXTBSY here would mean the host binary itself, writable once the init has exec'd
            with pytest.raises(OSError) as err:
                os.close(os.open(exe, os.O_WRONLY))
            assert err.value.errno == errno.EROFS, err.value
        assert Path("/proc/self/mountinfo").read_text() == mounts_before
    finally:
        rt("delete", "--force", cid)
        if tracer:
            tracer.wait(timeout=60)


def execs_of(rt, *args, cwd=None):
    """The execve/execveat calls of one glassrun command, under strace -f."""
    r = run(["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-e", "signal=none",
             rt.binary, "--root", rt.root, *args], stdin=subprocess.DEVNULL, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return [l for l in r.stderr.splitlines() if "execve" in l and "= 0" in l]


def test_a_sealed_install_runs_without_the_re_exec(private_glassrun, fast_bundle):
    """run from a sealed install: glassrun's own execve, then the container's
    program; unsealed, the same run re-executes itself (execveat) in between."""
    rt = private_glassrun
    b = fast_bundle("true", name="sealed-run")
    plain = execs_of(rt, "run", "-b", b.path, rt.new_id("plain"))
    assert [("execveat" in l) for l in plain] == [False, True, False], plain
    r = run([GLASSRUN_SEAL, rt.binary])
    assert r.returncode == 0, r.stderr
    try:
        sealed = execs_of(rt, "run", "-b", b.path, rt.new_id("sealed"))
        assert len(sealed) == 2 and not any("execveat" in l for l in sealed), sealed
        assert '"/bin/true"' in sealed[1] or "true" in sealed[1], sealed
    finally:
        unseal_quietly(rt.binary)


def mounts_on(path):
    return [l for l in Path("/proc/self/mountinfo").read_text().splitlines() if f" {path} " in l]


def test_glassrun_seal_seals_reports_and_undoes(private_glassrun):
    """glassrun-seal PATH puts the view over PATH (the host cannot write the
    file either, so an upgrade must --undo first); a second seal is a no-op;
    --status says which; --undo removes exactly that mount."""
    path = private_glassrun.binary
    digest = file_digest(path)
    try:
        r = run([GLASSRUN_SEAL, path])
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
        assert len(mounts_on(path)) == 1 and " - overlay glassrun-sealed " in mounts_on(path)[0]
        with pytest.raises(OSError) as err:
            os.close(os.open(path, os.O_WRONLY))
        assert err.value.errno == errno.EROFS
        assert file_digest(path) == digest
        r = run([GLASSRUN_SEAL, path])
        assert (r.returncode, r.stdout.strip()) == (0, f"{path}: sealed already")
        assert len(mounts_on(path)) == 1
        r = run([GLASSRUN_SEAL, "--status", path])
        assert (r.returncode, r.stdout.strip()) == (0, "sealed")
        r = run([GLASSRUN_SEAL, "--undo", path])
        assert (r.returncode, r.stderr) == (0, "")
        assert mounts_on(path) == []
        os.close(os.open(path, os.O_WRONLY))
        r = run([GLASSRUN_SEAL, "--status", path])
        assert (r.returncode, r.stdout.strip()) == (1, "not sealed")
        r = run([GLASSRUN_SEAL, "--undo", path])
        assert r.returncode == 1
        assert r.stderr.strip() == f"glassrun-seal: {path}: not sealed (no glassrun-sealed mount on it)"
    finally:
        unseal_quietly(path)


@pytest.mark.parametrize("case", ["missing", "directory", "no-args"])
def test_glassrun_seal_bad_input(tmp_path, case):
    arg = {"missing": [str(tmp_path / "nope")], "directory": [str(tmp_path)], "no-args": []}[case]
    r = run([GLASSRUN_SEAL, *arg])
    expected = {"missing": f"glassrun-seal: {tmp_path}/nope: no such file or directory",
                "directory": f"glassrun-seal: {tmp_path}: not a regular file",
                "no-args": "usage: glassrun-seal [--undo|--status] PATH"}[case]
    assert (r.returncode, r.stderr.strip()) == (2 if case == "no-args" else 1, expected)
    assert mounts_on(str(tmp_path)) == [] and mounts_mentioning(str(tmp_path)) == []


@pytest.mark.parametrize("call,step", [("fsopen", "fsopen overlay"), ("open_tree", "open_tree glassrun"),
                                       ("move_mount", "move_mount the read-only view onto")])
def test_glassrun_seal_failed_step_leaves_no_mount(private_glassrun, call, step):
    """Each step of sealing failing (strace's injection): one line naming it,
    exit 1, no mount on the path or anywhere mentioning it."""
    path = private_glassrun.binary
    try:
        r = run(["strace", "-qq", "-o", "/dev/null", "-e", f"inject={call}:error=EPERM:when=1",
                 GLASSRUN_SEAL, path])
        assert r.returncode == 1, r.stderr
        assert r.stderr.count("\n") == 1 and step in r.stderr and "operation not permitted" in r.stderr, r.stderr
        assert mounts_on(str(path)) == [] and mounts_mentioning(str(Path(path).parent)) == []
    finally:
        unseal_quietly(path)


# --- CVE-2016-9962 / CVE-2024-21626: host fds and cwd ------------------------------

def fd_listing(out):
    return dict(l.split(" -> ", 1) for l in out.splitlines() if " -> " in l)


def test_no_host_fd_reaches_the_container(runtimes, fast_bundle, record_property, tmp_path):
    """The runtime gets extra host fds (a host directory, a file): none reach the
    container process, only 0-2."""
    host = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    f = os.open(tmp_path / "secret", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for name, rt in runtimes.items():
            b = fast_bundle("/bin/probe", "fds", name=f"fds-{name}")
            r = run_container(rt, b, record_property, name, pass_fds=(host, f))
            if name == "glassrun":
                assert r.returncode == 0, r.stderr
                fds = fd_listing(r.stdout)
                assert set(fds) == {"0", "1", "2"}, fds
                for target in fds.values():
                    assert target == "/dev/null" or target.startswith(("pipe:", "/tmp/")), fds
    finally:
        os.close(host)
        os.close(f)


def test_preserve_fds_passes_exactly_the_asked_ones(runtimes, fast_bundle, record_property, tmp_path):
    passed = tmp_path / "passed"
    passed.write_text("x")
    for name, rt in runtimes.items():
        b = fast_bundle("/bin/probe", "fds", name=f"pfds-{name}")
        with open(passed) as fh:
            cid = rt.new_id("sec")
            os.dup2(fh.fileno(), 100)
            try:
                r = subprocess.run([rt.binary, "--root", rt.root, "run", "--preserve-fds", "1", "-b", b.path, cid],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                                   close_fds=False, preexec_fn=lambda: os.dup2(100, 3))
            finally:
                os.close(100)
        record(record_property, name, r)
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            fds = fd_listing(r.stdout)
            assert set(fds) == {"0", "1", "2", "3"}, fds
            assert fds["3"] == str(passed)


@pytest.mark.parametrize("n", range(3, 12))
def test_cwd_through_proc_self_fd_cannot_reach_the_host(runtimes, fast_bundle, record_property, tmp_path, n):
    marker = f"HOST-MARKER-{uuid.uuid4().hex[:8]}"
    (tmp_path / marker).write_text("")
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "/bin/probe cwd; ls -a . .. ../.. ../../.. ../../../.. ../../../../..",
                        name=f"cwd-{name}-{n}")
        b.edit(lambda c: c["process"].__setitem__("cwd", f"/proc/self/fd/{n}"))
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            assert marker not in r.stdout
            if r.returncode == 0:
                cwd = r.stdout.splitlines()[0]
                assert cwd.startswith("/") and "unreachable" not in cwd, cwd


# --- CVE-2021-30465 / CVE-2019-19921 / CVE-2023-27561: symlinked mount targets -------

def host_untouched(host_dir):
    return not any(host_dir.iterdir()) and not mounts_mentioning(str(host_dir))


@pytest.mark.parametrize("link", ["absolute", "relative", "absolute-dangling"])
def test_mount_destination_symlink_stays_in_the_rootfs(runtimes, fast_bundle, record_property, host_dir, link):
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "touch /evil/pwned && grep -c ' /tmp/glassrun-host-target' /proc/self/mountinfo",
                        name=f"ml-{name}-{link}")
        rootfs = b.path / "rootfs"
        target = str(host_dir) if link.startswith("absolute") else "../../../../../../../.." + str(host_dir)
        (rootfs / "evil").symlink_to(target)
        if not link.endswith("dangling"):
            (rootfs / str(host_dir).lstrip("/")).mkdir()
        b.edit(lambda c: c["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs",
                                             "options": ["nosuid", "nodev"]}))
        r = run_container(rt, b, record_property, name)
        untouched = host_untouched(host_dir)
        record_property(f"{name}-host-untouched", untouched)
        print(f"[{name}] host untouched: {untouched}")
        if name == "glassrun":
            assert untouched
            if link.endswith("dangling"):
                # runc creates the target in the rootfs; glassrun refuses, naming the path.
                assert r.returncode == 0 or "/evil" in r.stderr, r.stderr
            else:
                assert r.returncode == 0, r.stderr
            if r.returncode == 0:  # it landed where the symlink points inside the rootfs
                assert r.stdout.strip() == "1"
                assert not list((rootfs / str(host_dir).lstrip("/")).iterdir())  # a tmpfs took the write
        for line in reversed(mounts_mentioning(str(host_dir))):
            subprocess.run(["umount", "-l", line.split()[4]], check=False)
        for p in host_dir.iterdir():
            p.unlink()


def test_mount_inside_a_volume_whose_symlink_points_out(runtimes, fast_bundle, record_property, host_dir, tmp_path):
    """CVE-2021-30465's shape: a first mount brings a directory the attacker
    controls (with sub -> /host/dir); a second mount targets /vol/sub."""
    vol = tmp_path / "volume"
    vol.mkdir()
    (vol / "sub").symlink_to(host_dir)
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "touch /vol/sub/pwned", name=f"vol-{name}")

        def edit(c):
            c["mounts"].append({"destination": "/vol", "type": "bind", "source": str(vol), "options": ["rbind"]})
            c["mounts"].append({"destination": "/vol/sub", "type": "tmpfs", "source": "tmpfs"})

        b.edit(edit)
        r = run_container(rt, b, record_property, name)
        untouched = host_untouched(host_dir)
        print(f"[{name}] host untouched: {untouched}")
        record_property(f"{name}-host-untouched", untouched)
        if name == "glassrun":
            assert untouched
        for line in reversed(mounts_mentioning(str(host_dir))):
            subprocess.run(["umount", "-l", line.split()[4]], check=False)
        for p in host_dir.iterdir():
            p.unlink()
        (vol / "sub").unlink(missing_ok=True)
        (vol / "sub").symlink_to(host_dir)


# --- CVE-2019-16884 / CVE-2023-28642 / CVE-2025-52881: /proc in the rootfs ----------

def test_proc_symlink_in_rootfs(runtimes, fast_bundle, record_property):
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "cat /proc/kcore | head -c 1 | wc -c; cat /proc/keys | wc -c", name=f"proc-{name}")
        rootfs = b.path / "rootfs"
        (rootfs / "proc").rmdir()
        (rootfs / "fakeproc").mkdir()
        (rootfs / "proc").symlink_to("/fakeproc")
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            if r.returncode == 0:  # landed correctly: the masks hold
                assert r.stdout.split() == ["0", "0"], r.stdout
            else:
                assert "/proc" in r.stderr
            assert not list((rootfs / "fakeproc").iterdir())  # nothing mounted on or written into it


@pytest.mark.parametrize("route", ["bind-host-file", "tmpfs-over-proc-sys-kernel"])
def test_sysctl_cannot_be_redirected_out_of_procfs(runtimes, fast_bundle, record_property, tmp_path, route):
    """A mount over /proc/sys/... must not receive the sysctl write. A bind
    inside /proc is refused as runc refuses it (checkProcMount, since session
    23), so the host file is never even covered; a tmpfs there (runc lets
    tmpfs through) has no such file and the sysctl fails naming itself.
    Behind both, glassrun writes only to files on procfs (linux/sysctl.cpp),
    which no config reaches any more: it was this test's bind route until
    the mount itself was refused."""
    host_file = tmp_path / "core_pattern_lookalike"
    for name, rt in runtimes.items():
        host_file.write_text("original\n")
        b = fast_bundle("true", name=f"sysctl-{name}")

        def edit(c):
            if route == "bind-host-file":
                c["mounts"].append({"destination": "/proc/sys/kernel/domainname", "type": "bind",
                                    "source": str(host_file), "options": ["bind"]})
            else:
                c["mounts"].append({"destination": "/proc/sys/kernel", "type": "tmpfs", "source": "tmpfs"})
            c["linux"]["sysctl"] = {"kernel.domainname": "pwned"}
            c["linux"]["readonlyPaths"] = [p for p in c["linux"]["readonlyPaths"] if p != "/proc/sys"]

        b.edit(edit)
        r = run_container(rt, b, record_property, name)
        content = host_file.read_text()
        print(f"[{name}] host file: {content!r}")
        record_property(f"{name}-host-file", content)
        if name == "glassrun":
            assert content == "original\n"
            assert r.returncode != 0
            if route == "bind-host-file":
                assert '"/proc/sys/kernel/domainname" cannot be mounted because it is inside /proc' in r.stderr, r.stderr
            else:
                assert r.stderr.strip().splitlines() == [
                    "glassrun: run: init: linux.sysctl.kernel.domainname: open /proc/sys/kernel/domainname: "
                    "no such file or directory"], r.stderr


def test_sysctl_written_through_a_symlink_in_proc_sys(runtimes, fast_bundle, record_property):
    """A path with .. or an unknown key cannot escape /proc/sys."""
    for name, rt in runtimes.items():
        b = fast_bundle("true", name=f"sysctl2-{name}")
        b.edit(lambda c: c["linux"].__setitem__("sysctl", {"kernel/../../../../etc/passwd": "x"}))
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            assert r.returncode != 0
            assert "x" != (b.path / "rootfs" / "etc" / "passwd").read_text().strip()


# --- CVE-2025-31133 / CVE-2025-52565: /dev/null and /dev/console ------------------

@pytest.mark.parametrize("kind", ["symlink-to-proc", "symlink-to-host-path", "regular-file", "missing"])
def test_masked_paths_with_a_fake_dev_null(runtimes, fast_bundle, record_property, host_dir, kind):
    core_pattern = Path("/proc/sys/kernel/core_pattern").read_text()
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "echo pwned > /proc/kcore; echo '|/tmp/evil' > /proc/sys/kernel/core_pattern;"
                        " cat /proc/kcore | head -c 1 | wc -c", name=f"devnull-{name}-{kind}")
        rootfs = b.path / "rootfs"

        def edit(c):
            c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]  # the rootfs's own /dev
            c["linux"]["maskedPaths"].append("/proc/sys/kernel/core_pattern")

        b.edit(edit)
        null = rootfs / "dev" / "null"
        if kind == "symlink-to-proc":
            null.symlink_to("/proc/sys/kernel/core_pattern")
        elif kind == "symlink-to-host-path":
            null.symlink_to(host_dir / "file")
        elif kind == "regular-file":
            null.write_text("")
        r = run_container(rt, b, record_property, name)
        now = Path("/proc/sys/kernel/core_pattern").read_text()
        if now != core_pattern:  # put it back before anything else
            Path("/proc/sys/kernel/core_pattern").write_text(core_pattern)
        print(f"[{name}] core_pattern {'unchanged' if now == core_pattern else 'CHANGED'}")
        record_property(f"{name}-core-pattern-unchanged", now == core_pattern)
        if name == "glassrun":
            assert now == core_pattern
            assert host_untouched(host_dir)
            if r.returncode == 0:
                assert r.stdout.split()[-1] == "0", r.stdout  # /proc/kcore still masked
            else:
                assert "/dev/null" in r.stderr, r.stderr


# --- CVE-2023-25809 / CVE-2022-0492: cgroupfs in the container ------------------

def test_sys_fs_cgroup_is_read_only(runtimes, fast_bundle, record_property):
    script = ("for d in /sys/fs/cgroup /sys/fs/cgroup/*; do mkdir $d/evil-$$ 2>/dev/null && echo WROTE $d;"
              " for f in cgroup.procs release_agent notify_on_release cgroup.subtree_control; do"
              " [ -e $d/$f ] && (echo 1 > $d/$f) 2>/dev/null && echo WROTE $d/$f; done; done; echo done")
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", script, name=f"cg-{name}")
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip().splitlines()[-1] == "done"
            assert "WROTE" not in r.stdout, r.stdout


# --- Capabilities, no_new_privs, oomScoreAdj (CVE-2022-29162: CapInh) ------------

CAP = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21}


def mask(*names):
    return sum(1 << CAP[n] for n in names)


def status_caps(text):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in text.splitlines() if l.startswith("Cap")}


@pytest.mark.parametrize("case", ["root-no-inheritable", "root-with-inheritable", "user-ambient"])
def test_exactly_the_five_capability_sets(runtimes, fast_bundle, record_property, case):
    sets = {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]}
    user = {"uid": 0, "gid": 0}
    if case == "root-with-inheritable":
        sets["inheritable"] = ["CAP_NET_RAW"]
    if case == "user-ambient":
        sets = {k: ["CAP_NET_BIND_SERVICE"] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
        user = {"uid": 1000, "gid": 1000}
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; id -u", name=f"caps-{name}-{case}")

        def edit(c):
            c["process"]["capabilities"] = sets
            c["process"]["user"] = user

        b.edit(edit)
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            got = status_caps(r.stdout)
            want = {"CapInh": mask(*sets.get("inheritable", [])), "CapPrm": mask(*sets["permitted"]),
                    # execve as uid 0 raises the effective set to the permitted one (the kernel, runc alike)
                    "CapEff": mask(*sets["permitted" if user["uid"] == 0 else "effective"]),
                    "CapBnd": mask(*sets["bounding"]),
                    "CapAmb": mask(*sets.get("ambient", []))}
            assert got == want, (got, want)
            assert r.stdout.splitlines()[-1] == str(user["uid"])


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges_and_oom_score_adj(runtimes, fast_bundle, record_property, nnp):
    for name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj",
                        name=f"nnp-{name}-{nnp}")

        def edit(c):
            c["process"]["noNewPrivileges"] = nnp
            c["process"]["oomScoreAdj"] = 432

        b.edit(edit)
        r = run_container(rt, b, record_property, name)
        if name == "glassrun":
            assert r.returncode == 0, r.stderr
            assert r.stdout.split() == ["NoNewPrivs:", "1" if nnp else "0", "432"]
