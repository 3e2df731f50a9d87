"""Syscall-count guards for `run` and `exec` (issue 18 item 2): counts under strace are
exact where times are not. Bounds come from the bundle, not from a measured
number, so they hold on any machine; they fail only if a per-component walk
comes back."""
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import leftovers, run
from security.helpers import bundle_template, fast_bundle, probe_binary  # noqa: F401


def straced(rt, args, out, trace, fd_paths=False):
    """The glassrun command (args after --root) under strace -f -e
    trace=TRACE (-y: fds with their paths); the lines strace wrote."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the system calls cannot be seen")
    r = run(["strace", "-f", "-qq", *(["-y"] if fd_paths else []), "-o", out, "-e", f"trace={trace}", rt.binary,
             "--root", rt.root, *args], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return Path(out).read_text().splitlines()


def straced_run(rt, bundle, out, trace, fd_paths=False):
    """`run` of the bundle under straced()."""
    return straced(rt, ["run", "-b", bundle.path, rt.new_id("sb")], out, trace, fd_paths)


def traced_run(rt, bundle, out):
    """`run` of the bundle under strace -f; syscall name -> count."""
    calls = Counter()
    for line in straced_run(rt, bundle, out, "readlinkat,openat2,mkdirat"):
        name = line.split(None, 1)[1].split("(", 1)[0] if " " in line else ""
        calls[name] += 1
    return calls


def test_run_resolves_mount_targets_without_a_readlinkat_per_component(glassrun, fast_bundle, tmp_path):
    """Missing mount targets are made from their parent (inroot's fast path);
    readlinkat is for dangling links only. The walk it replaced made ~50 for
    the default bundle's 7 mounts (one per component of every missing target)."""
    b = fast_bundle("true")
    mounts = b.config["mounts"]
    calls = traced_run(glassrun, b, tmp_path / "trace")
    assert calls["readlinkat"] <= len(mounts), calls
    # Something was resolved and made, so the trace saw the setup at all.
    assert calls["openat2"] >= len(mounts) and calls["mkdirat"] >= 1, calls


def test_a_dangling_link_is_still_walked_by_hand(glassrun, fast_bundle, tmp_path):
    """The fallback: a destination through a dangling link costs readlinkat
    calls (one per component walked) and lands where the link points."""
    b = fast_bundle("sh", "-c", "grep -c ' /target/sub/leaf ' /proc/self/mountinfo")
    (b.path / "rootfs" / "mnt").mkdir(exist_ok=True)
    (b.path / "rootfs" / "mnt" / "link").symlink_to("../target/sub")
    b.edit(lambda c: c["mounts"].append({"destination": "/mnt/link/leaf", "type": "tmpfs", "source": "tmpfs"}))
    calls = traced_run(glassrun, b, tmp_path / "trace")
    assert calls["readlinkat"] >= 1, calls
    assert (b.path / "rootfs" / "target" / "sub" / "leaf").is_dir()


@pytest.mark.parametrize("global_args", [[], ["--log-format", "text"], ["--log-format=text"]])
def test_the_sealed_re_exec_comes_before_the_command_line_is_parsed(glassrun, fast_bundle, tmp_path, global_args):
    """`run` re-executes itself from the read-only view of its binary
    (CVE-2019-5736) before it builds the command line parser and acts on
    its options (main's geteuid for --root's default, the subreaper prctl of
    run), so the first process pays only the loader and the re-exec."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the syscall order cannot be seen")
    b = fast_bundle("true")
    out = tmp_path / "trace"
    cid = glassrun.new_id("sb")
    r = run(["strace", "-qq", "-o", out, "-e", "trace=execveat,geteuid,prctl",
             glassrun.binary, "--root", glassrun.root, *global_args, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    names = [line.split("(", 1)[0] for line in Path(out).read_text().splitlines()]
    assert "execveat" in names, names  # the re-exec happened
    before = names[:names.index("execveat")]
    assert "geteuid" not in before, before
    assert not any("PR_SET_CHILD_SUBREAPER" in line for line in Path(out).read_text().split("execveat", 1)[0].splitlines())


def test_state_files_are_never_renamed_over_the_old_file(glassrun, fast_bundle, tmp_path):
    """`run` writes glassrun.json (the clean-up record before the clone) and
    state.json once each; `update` replaces glassrun.json. A new file takes
    its name with RENAME_NOREPLACE; a replacement swaps names
    (RENAME_EXCHANGE) and unlinks the old file. A plain rename over the old
    file made ext4 allocate the new file's blocks at once (auto_da_alloc),
    and `delete` then waited on their discard (/run here is ext4 mounted
    with discard)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the syscall order cannot be seen")
    b = fast_bundle("sleep", "100000")
    out = tmp_path / "trace"
    cid = glassrun.new_id("sb")
    renames = ["-e", "trace=rename,renameat,renameat2,unlinkat"]
    # Not -f: strace would wait for the detached container; the runtime's
    # own process writes the files.
    r = run(["strace", "-qq", "-o", out, *renames, glassrun.binary, "--root", glassrun.root,
             "run", "-d", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    r = run(["strace", "-qq", "-o", f"{out}.update", *renames, glassrun.binary, "--root", glassrun.root,
             "update", "--pids-limit", "100", cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    text = Path(out).read_text() + Path(f"{out}.update").read_text()
    lines = [" ".join(l.split()) for l in text.splitlines() if "rename" in l]  # no pid column: not -f
    assert lines, "no rename seen"
    assert not any(l.startswith(("rename(", "renameat(")) for l in lines), lines
    new = [l for l in lines if "RENAME_NOREPLACE" in l and l.endswith("= 0")]
    assert any('"state.json"' in l for l in new) and any('"glassrun.json"' in l for l in new), lines
    swaps = [l for l in lines if "RENAME_EXCHANGE" in l and l.endswith("= 0")]
    assert any('"glassrun.json"' in l for l in swaps), lines
    assert '".glassrun.json.tmp", 0) = 0' in " ".join(text.split()), text  # the old record, unlinked


def test_the_sealed_re_exec_comes_before_libc_starts(glassrun, fast_bundle, tmp_path):
    """The re-exec runs from glassrun's own ELF entry point
    (linux/early_reexec.h), before glibc's start-up (its TLS, brk, and the
    cpuid probes that cost ~0.8 ms in this VM) and before libcap's
    constructor (PR_CAPBSET_READ probing): up to the execveat, the first
    process makes only the view's system calls."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the syscall order cannot be seen")
    b = fast_bundle("true")
    out = tmp_path / "trace"
    r = run(["strace", "-qq", "-o", out, glassrun.binary, "--root", glassrun.root, "run", "-b", b.path,
             glassrun.new_id("sb")], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    text = Path(out).read_text()
    assert "execveat(" in text, text
    before = [l.split("(", 1)[0] for l in text.split("execveat(", 1)[0].splitlines()]
    assert set(before) <= {"execve", "access", "readlink", "fsopen", "fsconfig", "fsmount", "close", "openat"}, before


def test_the_entry_point_needs_nothing_from_libc():
    """What runs before libc is set up may call none of it (its string
    functions are IFUNCs resolved later; errno and the stack protector's
    canary are thread-local, and there is no TLS yet): the object file of
    early_reexec.cpp needs no symbol but glibc's _start, where it jumps."""
    from conftest import BUILD
    obj = BUILD / "runtime" / "CMakeFiles" / "glassrun_core.dir" / "src" / "linux" / "early_reexec.cpp.o"
    if not obj.exists():
        pytest.fail(f"{obj} is not built (make build)")
    r = run(["nm", "-u", obj])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["U", "_start"], r.stdout


def traced_paths(rt, args, out):
    """The glassrun command under strace -f, counting the opens: path -> count
    (openat's path argument, as strace prints it)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the opens cannot be counted")
    r = run(["strace", "-f", "-qq", "-s", "4096", "-o", out, "-e", "trace=openat", rt.binary, "--root", rt.root, *args],
            stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    opened = Counter()
    for line in Path(out).read_text().splitlines():
        if '"' in line:
            opened[line.split('"')[1]] += 1
    return opened


def opens_of(opened, name):
    return sum(n for path, n in opened.items() if path == name or path.endswith("/" + name))


def test_run_starts_and_deletes_the_container_it_created_without_reading_its_state_back(glassrun, fast_bundle, tmp_path):
    """`run` keeps the container create wrote (as runc's run keeps its
    object): start and the delete after exit read neither state.json nor
    glassrun.json (each was one open, a read and a JSON parse, twice); the
    delete of an exited container asks nothing of its freezer."""
    b = fast_bundle("true")
    cid = glassrun.new_id("sb")
    opened = traced_paths(glassrun, ["run", "-b", b.path, cid], tmp_path / "trace")
    assert opens_of(opened, "state.json") == 0, opened
    assert opens_of(opened, "glassrun.json") == 0, opened
    # create's check that the cgroup is not frozen already (runc's); neither
    # start's status (runc's run does not look: it made the container) nor
    # delete's.
    assert opens_of(opened, "freezer.state") <= 1, opened
    assert opens_of(opened, ".state.json.tmp") == 1, opened  # it was written, once
    assert glassrun("state", cid).returncode != 0  # and deleted after the exit



def test_exec_reads_the_container_state_once(glassrun, fast_bundle, tmp_path):
    """A guard (main already met it; issue 18 asked): `exec` into a running
    container opens state.json, glassrun.json and the freezer's state once
    each, and the init's /proc/<pid>/stat (liveness) once."""
    b = fast_bundle("sleep", "100000")
    cid = glassrun.new_id("sb")
    r = glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = glassrun.state(cid)["pid"]
    opened = traced_paths(glassrun, ["exec", cid, "true"], tmp_path / "trace")
    assert opens_of(opened, "state.json") == 1, opened
    assert opens_of(opened, "glassrun.json") == 1, opened
    assert opens_of(opened, "freezer.state") <= 1, opened  # none on a v2 host
    assert opened[f"/proc/{pid}/stat"] == 1, opened


@pytest.mark.parametrize("when", ["1", "1+"], ids=["first-fails", "every-one-fails"])
def test_a_failed_re_exec_before_the_constructors_is_retried_by_main(glassrun, fast_bundle, when):
    """The re-exec from the entry point (before libc) cannot report anything:
    its execveat failing goes on into glibc's start and main, whose ensure()
    tries again and, failing too, says so on one line."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the fault cannot be injected")
    b = fast_bundle("true")
    cid = glassrun.new_id("sb")
    r = run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"inject=execveat:error=EIO:when={when}",
             glassrun.binary, "--root", glassrun.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    if when == "1":
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
    else:
        assert r.returncode == 1, r.stderr
        assert r.stderr == "glassrun: run: re-execute from a read-only view of the binary: input/output error\n"
        assert not (Path(glassrun.root) / cid).exists()


def test_run_asks_whether_selinux_is_enabled_once(glassrun, fast_bundle, tmp_path):
    """Each mount that may take a label (mountLabel) asked the host whether
    selinuxfs is mounted, a statfs each (11 per `run` of the default
    bundle); the answer does not change during a command: asked once."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "statfs")
    asks = [line for line in lines if '"/sys/fs/selinux"' in line]
    assert len(asks) == 1, asks


def test_cgroup_paths_are_walked_from_one_directory_fd(glassrun, fast_bundle, tmp_path):
    """The runtime reaches its cgroups through a directory fd of
    /sys/fs/cgroup, never by a path from / (each walked /sys, sysfs, whose
    kernfs lock a network namespace's set-up holds: ~70 such walks per `run`
    on a v1 host waited there when runs overlap). The init's bind mounts of
    its cgroups still name them from /: they are left out."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "%file")
    walks = [x for x in lines if '"/sys/fs/cgroup/' in x and " mount(" not in x]
    assert walks == [], walks
    opened = [x for x in lines if '"/sys/fs/cgroup"' in x]
    # Once before the init is cloned and once after (the fd is closed for
    # the clone), and the cgroups were made through it.
    assert 1 <= len(opened) <= 2, opened
    assert any("mkdirat(" in x for x in lines), lines


def test_the_record_of_cgroups_to_make_does_not_look_at_the_hierarchies(glassrun, fast_bundle, tmp_path):
    """Before it makes the container's cgroups, create records which
    directories it will make, walking up from each path to the first that
    exists; a hierarchy's mount point exists and is not asked about (a
    faccessat each: 11 per `run` on this v1 host)."""
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split(" - ")[1].split()[0] in ("cgroup", "cgroup2")]
    names = {m[len("/sys/fs/cgroup/"):] if m.startswith("/sys/fs/cgroup/") else m for m in mounts}
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "faccessat,faccessat2", fd_paths=True)
    asked = [m.group(1) for m in (re.search(r'faccessat2?\([^,]*, "([^"]+)"', x) for x in lines) if m]
    assert asked, lines  # the container's own cgroups were asked about
    assert [a for a in asked if a in names or a.rstrip("/") in mounts] == [], asked


def test_run_writes_glassrun_json_once(glassrun, fast_bundle, tmp_path):
    """glassrun.json records the cgroups create will make before it makes
    them; when they are the ones made (the usual case) it is not written a
    second time with the same content (a new inode and a rename each)."""
    b = fast_bundle("true")
    opened = traced_paths(glassrun, ["run", "-b", b.path, glassrun.new_id("sb")], tmp_path / "trace")
    assert opens_of(opened, ".glassrun.json.tmp") == 1, opened


def cgroup_mount_lines(text):
    """The container's /proc/self/mountinfo lines of /sys/fs/cgroup and below,
    without mount ids (fields 1-3)."""
    return sorted(" ".join(line.split()[3:]) for line in text.splitlines() if " /sys/fs/cgroup" in line)


def test_the_cgroup_binds_get_their_flags_with_one_mount_setattr(glassrun, fast_bundle, tmp_path):
    """On a v1 host each hierarchy's bind got the mount's flags (ro, nosuid,
    ...) with a remount of its own, taking the kernel's global mount lock
    (two calls per hierarchy); one recursive mount_setattr over the tmpfs
    does it for all. What the container sees is unchanged: the same lines
    as with the remounts, which a kernel without mount_setattr (ENOSYS,
    injected) still gets."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("pure cgroup v2 host: /sys/fs/cgroup is one bind, no per-hierarchy binds to set")
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "mount,mount_setattr")
    binds = [i for i, x in enumerate(lines) if 'mount("/sys/fs/cgroup/' in x and "MS_BIND" in x]
    assert len(binds) >= 2, lines
    after = [lines[i + 1] for i in binds]
    assert not any("MS_REMOUNT" in x for x in after), after
    setattrs = [x for x in lines if "mount_setattr(" in x]
    assert len(setattrs) == 1 and "MOUNT_ATTR_RDONLY" in setattrs[0] and "AT_RECURSIVE" in setattrs[0], setattrs

    b = fast_bundle("cat", "/proc/self/mountinfo")
    cid = glassrun.new_id("sb")
    seen = glassrun("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert seen.returncode == 0, seen.stderr
    cid2 = glassrun.new_id("sb")
    old = run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "inject=mount_setattr:error=ENOSYS", glassrun.binary,
               "--root", glassrun.root, "run", "-b", b.path, cid2], stdin=subprocess.DEVNULL)
    assert old.returncode == 0, old.stderr
    mine = cgroup_mount_lines(seen.stdout.replace(cid, "ID"))
    assert mine == cgroup_mount_lines(old.stdout.replace(cid2, "ID")), (seen.stdout, old.stdout)
    assert mine and all(line.split()[2].startswith("ro,nosuid,nodev,noexec") for line in mine), mine


def test_a_refused_mount_setattr_of_the_cgroup_binds_fails_the_run_cleanly(glassrun, fast_bundle):
    """Refused for another reason than an old kernel, it is the create's
    error: one line naming the call and the mount, exit 1, nothing left."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("pure cgroup v2 host: no per-hierarchy binds")
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the fault cannot be injected")
    b = fast_bundle("true")
    cid = glassrun.new_id("sb")
    r = run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "inject=mount_setattr:error=EPERM", glassrun.binary,
             "--root", glassrun.root, "run", "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines() == [
        "glassrun: run: init: mount_setattr /sys/fs/cgroup (its cgroup binds): operation not permitted"], r.stderr
    assert leftovers(glassrun.root, cid, b.path) == []


ONE_VALUE_FILES = ("cpuset.cpus", "cpuset.mems", "freezer.state", "freezer.self_freezing", "memory.limit_in_bytes",
                   "memory.usage_in_bytes", "cgroup.freeze", "memory.current", "cgroup.type")


def test_one_value_files_are_read_with_one_read(glassrun, fast_bundle, tmp_path):
    """A cgroup control value and /proc/PID/stat are one seq_file record: the
    first read(2), shorter than the buffer, has all of it, and the read that
    would return 0 is not made (a `run` read ~20 such files twice over)."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "read", fd_paths=True)
    fd_path = re.compile(r'read\(\d+<([^>]*)>')
    reads = Counter()
    for line in lines:
        m = fd_path.search(line)
        if m and (m.group(1).rsplit("/", 1)[-1] in ONE_VALUE_FILES or re.fullmatch(r"/proc/\d+/stat", m.group(1))):
            reads[m.group(1)] += 1
            assert not line.endswith(" = 0"), line
    # The files a v1 or v2 create reads were seen (strace -y names them).
    assert any(p.endswith("/stat") for p in reads), lines
    assert any(p.rsplit("/", 1)[-1] in ONE_VALUE_FILES for p in reads), lines


def test_the_parent_cpuset_is_read_once_per_file(glassrun, fast_bundle, tmp_path):
    """A new v1 cpuset cgroup copies cpus and mems from its parent: each of
    the parent's files is read once on the way down, not again to copy."""
    if not Path("/sys/fs/cgroup/cpuset/cpuset.cpus").exists():
        pytest.skip("no cgroup v1 cpuset hierarchy on this machine (pure cgroup v2: nothing is copied)")
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "openat")
    opened = Counter(re.search(r'"([^"]+)"', x).group(1) for x in lines if "cpuset." in x and "O_RDONLY" in x)
    assert opened["cpuset/cpuset.cpus"] == 1 and opened["cpuset/cpuset.mems"] == 1, opened


def test_cgroup_facts_are_read_only_for_the_limits_that_need_them(glassrun, fast_bundle, tmp_path):
    """Whether swap accounting is on, the memory limit and usage now, and
    whether block I/O weights are BFQ's only decide how memory and blockIO
    limits are written: a config without them does not look (9 calls per
    `run` on a v1 host did, for every container). With a memory limit they
    are still looked at."""
    facts = ("memory.memsw.limit_in_bytes", "memory.usage_in_bytes", "memory.current", "blkio.weight",
             "blkio.bfq.weight", "io.bfq.weight")
    b = fast_bundle("true")
    assert not b.config["linux"].get("resources", {}).get("memory"), b.config["linux"]
    lines = straced_run(glassrun, b, tmp_path / "plain", "%file")
    assert any("mkdirat(" in x for x in lines), lines  # the cgroups were made under the trace
    assert [x for x in lines if any(f in x for f in facts)] == []
    b.edit(lambda c: c["linux"].setdefault("resources", {}).__setitem__("memory", {"limit": 64 << 20}))
    lines = straced_run(glassrun, b, tmp_path / "limited", "%file")
    v1 = Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
    fact = "memory.memsw.limit_in_bytes" if v1 else "memory.current"
    assert [x for x in lines if fact in x], lines


def test_a_run_does_not_ask_whether_the_cgroups_it_made_are_frozen(glassrun, fast_bundle, tmp_path):
    """A cgroup this run has just made is not frozen itself (a frozen
    parent does not make it so): only a cgroup that was there before is
    asked (test_reliability's frozen target is refused). Two files on a v1
    host, opened and read each."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "%file")
    assert any("mkdirat(" in x for x in lines), lines
    asked = [x for x in lines if any(f in x for f in ("freezer.state", "freezer.self_freezing", "cgroup.freeze"))]
    assert asked == [], asked


def test_ambient_capabilities_the_sets_do_not_allow_are_not_asked_for(glassrun, fast_bundle, tmp_path):
    """The kernel refuses to raise an ambient capability that is not both
    permitted and inheritable (EPERM, which runc ignores): the default
    config's three are not asked for. One the sets allow is raised."""
    b = fast_bundle("true")
    caps = b.config["process"]["capabilities"]
    assert caps.get("ambient") and not set(caps["ambient"]) <= set(caps.get("inheritable", [])), caps
    lines = straced_run(glassrun, b, tmp_path / "default", "prctl")
    assert any("PR_CAPBSET_DROP" in x for x in lines), lines  # the init's capability step is in the trace
    assert [x for x in lines if "PR_CAP_AMBIENT_RAISE" in x] == []
    b.edit(lambda c: c["process"]["capabilities"].__setitem__("inheritable", ["CAP_KILL"]))
    lines = straced_run(glassrun, b, tmp_path / "allowed", "prctl")
    raised = [x for x in lines if "PR_CAP_AMBIENT_RAISE" in x]
    assert len(raised) == 1 and "CAP_KILL" in raised[0] and raised[0].endswith(" = 0"), raised


def test_default_devices_take_one_mknod_each(glassrun, fast_bundle, tmp_path):
    """As runc: made with the umask cleared and owned by the init's uid and
    gid (the config's 0:0), so neither a chmod nor a chown follows, and on
    the fresh /dev tmpfs nothing is unlinked first."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "mknodat,fchmodat,fchownat,unlinkat")
    names = ("null", "zero", "full", "tty", "urandom", "random")
    calls = [x for x in lines if any(f'"{n}"' in x for n in names)]
    assert sorted(x.split("(", 1)[0].split()[-1] for x in calls) == ["mknodat"] * len(names), calls


def test_dev_is_not_reopened_for_its_nodes_and_links(glassrun, fast_bundle, tmp_path):
    """The resolved O_PATH fd of the container's /dev serves mknodat,
    fchownat, fstat and symlinkat as it is: it is not opened again as a
    directory (an openat of "." below it, and a close, for the nodes and
    again for the links)."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "openat,mknodat,symlinkat", fd_paths=True)
    assert any(" mknodat(" in x for x in lines) and any(" symlinkat(" in x for x in lines), lines
    reopens = [x for x in lines if re.search(r'openat\(\d+<[^>]*/dev>, "\."', x)]
    assert reopens == [], reopens


def bundle_without_dev_mount(fast_bundle, *args):
    """/dev is the rootfs' own directory (no tmpfs of the config), with one
    device of the config owned by 1000:1001, mode 0640. (Root read-write:
    runc 1.1.5 fails its read-only remount of / over nodes made in it.)"""
    b = fast_bundle(*args)
    (b.path / "rootfs" / "dev").mkdir(exist_ok=True)
    b.edit(lambda c: (c.__setitem__("mounts", [m for m in c["mounts"] if m["destination"] != "/dev"]),
                      c["root"].__setitem__("readonly", False),
                      c["linux"].__setitem__("devices", [{"path": "/dev/fuse0", "type": "c", "major": 10, "minor": 229,
                                                          "fileMode": 0o640, "uid": 1000, "gid": 1001}])))
    return b


def test_dev_without_a_tmpfs_gets_nodes_and_links_as_with_runc(glassrun, runc, fast_bundle):
    """runc sets /dev up (default and configured nodes, /dev/fd and the other
    links, ptmx) unless the config binds a /dev over it: also with no /dev
    mount at all. The configured device is chowned to its uid/gid (not the
    init's) with its mode; the container sees what runc's sees."""
    script = ("stat -c '%n %F %t:%T %u:%g %a' /dev/null /dev/zero /dev/full /dev/tty /dev/random /dev/urandom "
              "/dev/fuse0; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done")
    seen = {}
    for rt in (runc, glassrun):
        r = rt("run", "-b", bundle_without_dev_mount(fast_bundle, "sh", "-c", script).path, rt.new_id("dev"))
        assert r.returncode == 0, r.stderr
        seen[rt] = r.stdout
    assert seen[glassrun] == seen[runc]
    assert "/dev/null character special file 1:3 0:0 666" in seen[glassrun]
    assert "/dev/fuse0 character special file a:e5 1000:1001 640" in seen[glassrun]
    assert "pts/ptmx" in seen[glassrun]


def test_a_node_the_rootfs_ships_is_replaced(glassrun, fast_bundle):
    """A file already at a device's path is replaced by the node (mknod,
    EEXIST, unlink, mknod). runc 1.1.5 keeps what is there; glassrun makes
    the node the config asks for, and refuses to mask paths with a
    /dev/null that is not the null device."""
    b = bundle_without_dev_mount(fast_bundle, "stat", "-c", "%n %F %t:%T", "/dev/null")
    (b.path / "rootfs" / "dev" / "null").write_text("a plain file the rootfs shipped\n")
    r = glassrun("run", "-b", b.path, glassrun.new_id("dev"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/dev/null character special file 1:3\n"


def test_the_cgroup_placement_fds_are_closed_by_range(glassrun, fast_bundle, tmp_path):
    """The init's v1 `tasks` files are opened one after the other, so both
    the parent (after the clone) and the init (after moving itself) close
    them with one close_range(2), not a close(2) per hierarchy."""
    if not any(Path("/sys/fs/cgroup", c, "tasks").exists() for c in ("pids", "memory", "cpu")):
        pytest.skip("no cgroup v1 hierarchies here (pure cgroup v2: one unified fd, nothing to range)")
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "close,close_range", fd_paths=True)
    assert not [x for x in lines if " close(" in x and "/tasks>" in x], lines
    ranges = [x for x in lines if "close_range(" in x and "CLOSE_RANGE_CLOEXEC" not in x]
    assert len({x.split()[0] for x in ranges}) == 2, ranges  # by two processes


def test_exec_closes_the_cgroup_placement_fds_by_range(glassrun, fast_bundle, tmp_path):
    """The same for `exec`'s process: its parent closes the `tasks` files
    it opened for the child with one close_range(2) after the clone."""
    if not any(Path("/sys/fs/cgroup", c, "tasks").exists() for c in ("pids", "memory", "cpu")):
        pytest.skip("no cgroup v1 hierarchies here (pure cgroup v2: one unified fd, nothing to range)")
    b = fast_bundle("sleep", "100000")
    cid = glassrun.new_id("sb")
    r = glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    lines = straced(glassrun, ["exec", cid, "true"], tmp_path / "trace", "close,close_range", fd_paths=True)
    assert not [x for x in lines if " close(" in x and "/tasks>" in x], lines
    ranges = [x for x in lines if "close_range(" in x and "CLOSE_RANGE_CLOEXEC" not in x]
    assert len({x.split()[0] for x in ranges}) == 2, ranges  # the parent's and the child's


def test_exec_without_a_user_namespace_does_not_read_setgroups(glassrun, fast_bundle, tmp_path):
    """Only a user namespace can deny setgroups(2): exec into a container
    without one reads no /proc/self/setgroups (the container's /proc, after
    the chroot), as the init does not; with one it still reads it
    (test_userns.py execs into such containers)."""
    b = fast_bundle("sleep", "100000")
    assert not any(n["type"] == "user" for n in b.config["linux"]["namespaces"]), b.config["linux"]["namespaces"]
    cid = glassrun.new_id("sb")
    r = glassrun("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    lines = straced(glassrun, ["exec", cid, "true"], tmp_path / "trace", "openat")
    assert any("state.json" in x for x in lines), lines  # the trace saw exec's opens at all
    assert not [x for x in lines if "setgroups" in x], lines


def v1_controller(name, file):
    """Whether the cgroup v1 hierarchy of `name` is mounted where runtimes look."""
    return (Path("/sys/fs/cgroup") / name / file).exists()


def test_a_cpuset_cgroup_just_made_is_given_its_parents_values_without_being_read(glassrun, fast_bundle, tmp_path):
    """A v1 cpuset cgroup that `run` has just made holds nothing (or, with
    cgroup.clone_children, its parent's values): the parent's cpus and mems
    are read and written into it, its own are not read first (three calls
    each), and the parent's existence is not asked."""
    if not v1_controller("cpuset", "cpuset.cpus"):
        pytest.skip("no cgroup v1 cpuset hierarchy here: nothing is copied down")
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "openat,newfstatat,write")
    cid_reads = [l for l in lines if re.search(r'"cpuset/[^"]*sb[^"/]*/cpuset\.(cpus|mems)", O_RDONLY', l)]
    assert cid_reads == [], cid_reads
    assert not [l for l in lines if "newfstatat(" in l and "cpuset.cpus" in l], lines
    parent_reads = [l for l in lines if re.search(r'"cpuset/cpuset\.(cpus|mems)", O_RDONLY', l)]
    writes = [l for l in lines if re.search(r'/cpuset\.(cpus|mems)", O_WRONLY', l)]
    assert len(parent_reads) == 2 and len(writes) == 2, lines


def test_the_spec_s_leading_deny_all_device_rule_is_not_written_again(glassrun, fast_bundle, tmp_path):
    """The v1 devices cgroup starts from `a` written to devices.deny; the
    spec's own first rule, deny all (rwm), would take nothing more away."""
    b = fast_bundle("true")
    assert b.config["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    if not v1_controller("devices", "devices.deny"):
        pytest.skip("no cgroup v1 devices hierarchy here: device rules are a BPF program")
    lines = straced_run(glassrun, b, tmp_path / "trace", "write", fd_paths=True)
    denies = [l for l in lines if "devices.deny>" in l]
    assert len(denies) == 1 and '"a", 1)' in denies[0], denies


def test_delete_removes_the_state_directory_by_name(glassrun, fast_bundle, tmp_path):
    """The container's directory holds state.json and glassrun.json once it
    has started: they are unlinked by name, without listing the directory
    (opendir, fstat, two fcntl and two getdents64)."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "getdents64,fcntl,unlinkat,rmdir")
    assert not [l for l in lines if "getdents64(" in l], lines
    assert len([l for l in lines if re.search(r'unlinkat\(\d+, "(state|glassrun)\.json", 0\)\s+= 0', l)]) == 2, lines


def test_delete_still_removes_what_else_the_state_directory_holds(glassrun, fast_bundle, tmp_path):
    """Anything else in the directory (exec.fifo of a container never
    started, a left temporary file) makes the by-name removal find it not
    empty; the listing then takes it and the id is free again."""
    b = fast_bundle("true")
    cid = glassrun.new_id("sb")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    (Path(glassrun.root) / cid / ".state.json.tmp").write_text("left")
    r = glassrun("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert not (Path(glassrun.root) / cid).exists()


def test_an_existing_state_root_is_made_with_one_mkdir(glassrun, fast_bundle, tmp_path):
    """--root is usually there: one mkdir of it (EEXIST), not one for each
    of its ancestors from /; a missing one is still made whole."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "mkdir")
    made = [re.search(r'mkdir\("([^"]*)"', l).group(1) for l in lines if "mkdir(" in l]
    assert made[0] == glassrun.root and all(p.startswith(glassrun.root) for p in made), lines
    deep = tmp_path / "a" / "b" / "root"
    r = run([glassrun.binary, "--root", str(deep), "run", "-b", fast_bundle("true").path, glassrun.new_id("sb")],
            stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert deep.is_dir() and oct(deep.stat().st_mode & 0o777) == "0o700"


def test_the_sealed_binary_is_checked_once_after_the_re_exec(glassrun, fast_bundle, tmp_path):
    """The entry point's access(/proc/self/exe, W_OK) finds the view
    read-only (EROFS); main trusts that answer instead of asking again."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "access,execveat")
    after = "\n".join(lines).split("execveat(", 1)[1].splitlines()
    asks = [l for l in after if 'access("/proc/self/exe", W_OK)' in l]
    assert len(asks) == 1 and "EROFS" in asks[0], after


def test_the_rootfs_is_not_opened_again_to_look_below_it(glassrun, fast_bundle, tmp_path):
    """/proc and /sys must be plain directories before procfs and sysfs go
    there (CVE-2019-16884): looked at with one fstatat from the rootfs's fd,
    not by opening the rootfs again as their parent; and a cwd of "/"
    exists without asking."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "openat2,newfstatat")
    assert not [l for l in lines if re.search(r'openat2\(\d+, "\."', l)], lines
    looks = [l for l in lines if re.search(r'newfstatat\(\d+, "(proc|sys)", .*AT_SYMLINK_NOFOLLOW', l)]
    assert len(looks) == 2, lines


def test_a_cgroup_about_to_be_made_is_not_asked_for_its_processes(glassrun, fast_bundle, tmp_path):
    """runc 1.1 warns when the container's cgroup already has processes; one
    that `run` is about to make has none, and its cgroup.procs is not read
    (it would be an ENOENT)."""
    lines = straced_run(glassrun, fast_bundle("true"), tmp_path / "trace", "openat")
    assert not [l for l in lines if re.search(r'/sb-[^"/]*/cgroup\.procs", O_RDONLY', l)], lines
