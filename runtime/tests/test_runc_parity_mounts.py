"""runc parity, mounts and rootfs (issue 16 items 5-11 and 20, issue 15 item
13's proc phrase): each case runs the same bundle under runc 1.1.5 (and crun
1.8.1 where the issue names it), records their outcome (-s or the junit XML)
and asserts glassrun's. Where glassrun follows the runtime-spec or crun
instead of runc, conformance/accepted_differences.toml says why."""
import ctypes
import fcntl
import os
import re
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import mounts_mentioning, run
from security.helpers import bundle_template, chown_tree, fast_bundle, open_to_traverse, probe_binary, record  # noqa: F401

HOST_ID, SIZE = 100000, 65536


def run_each(runtimes, fast_bundle, record_property, name, script, edit=None, args=(), wrap=()):
    """`run` of `sh -c script` under each runtime, each on its own bundle copy."""
    out = {}
    for rt_name, rt in runtimes.items():
        b = fast_bundle("sh", "-c", script, name=f"{name}-{rt_name}")
        if edit:
            b.edit(edit)
        cid = rt.new_id("pm")
        if wrap:
            r = run([*wrap, rt.binary, "--root", rt.root, "run", *args, "-b", b.path, cid], stdin=subprocess.DEVNULL)
        else:
            r = rt("run", *args, "-b", b.path, cid, stdin=subprocess.DEVNULL)
        record(record_property, rt_name, r)
        out[rt_name] = r
    return out


def userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]


# ---- item 5: bind sources opened on the host ---------------------------------

@pytest.mark.parametrize("through_symlink", [False, True], ids=["dir", "symlink"])
def test_userns_bind_source_under_a_0700_directory_mounts(glassrun, runc, fast_bundle, record_property, tmp_path,
                                                          through_symlink):
    open_to_traverse(tmp_path / "x")
    os.chmod(tmp_path, 0o711)
    secret = tmp_path / "secret"  # root's, 0700: the mapped root cannot pass it
    (secret / "data").mkdir(parents=True)
    os.chmod(secret, 0o700)
    (secret / "data" / "file").write_text("reached\n")
    source = secret / "data"
    if through_symlink:
        source = tmp_path / "link-to-data"
        source.symlink_to(secret / "data")

    out = {}
    for rt_name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("cat", "/data/file", name=f"bind0700-{rt_name}")
        chown_tree(b.path / "rootfs", HOST_ID, HOST_ID)
        b.edit(lambda c: (userns(c), c["mounts"].append(
            {"destination": "/data", "type": "bind", "source": str(source), "options": ["rbind", "ro"]})))
        r = rt("run", "-b", b.path, rt.new_id("b700"), stdin=subprocess.DEVNULL)
        record(record_property, rt_name, r)
        out[rt_name] = r
    assert out["glassrun"].returncode == 0, out["glassrun"].stderr
    assert out["glassrun"].stdout == "reached\n"
    assert out["runc"].returncode == 0 and out["runc"].stdout == "reached\n"


# ---- item 6: a dangling relative symlink as mount destination ----------------

# "below": the link is a middle component of the destination, so the
# resolution is not of the last component only (inroot's fast path hands the
# walk over to the by-hand resolution at the link).
@pytest.mark.parametrize("below", ["", "/deeper/leaf"], ids=["last", "middle"])
def test_mount_on_a_dangling_relative_symlink_is_resolved_in_the_rootfs(glassrun, runc, fast_bundle,
                                                                         record_property, below):
    out = {}
    for rt_name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("sh", "-c", f"test -d /target/sub{below} && grep -c ' /target/sub{below} ' /proc/self/mountinfo; "
                        "readlink /mnt/link", name=f"dangling-{rt_name}")
        (b.path / "rootfs" / "mnt").mkdir(exist_ok=True)
        (b.path / "rootfs" / "mnt" / "link").symlink_to("../target/sub")
        assert not (b.path / "rootfs" / "target").exists()
        b.edit(lambda c: c["mounts"].append({"destination": f"/mnt/link{below}", "type": "tmpfs", "source": "tmpfs"}))
        r = rt("run", "-b", b.path, rt.new_id("dl"), stdin=subprocess.DEVNULL)
        record(record_property, rt_name, r)
        out[rt_name] = r
        # Resolved inside the rootfs: nothing was made on the host's /target.
        assert not Path("/target/sub").exists()
    assert out["glassrun"].returncode == 0, out["glassrun"].stderr
    assert out["glassrun"].stdout == out["runc"].stdout == "1\n../target/sub\n"


# ---- item 7: bind mounts with data options -----------------------------------

def test_bind_mount_with_filesystem_data_options(glassrun, runc, fast_bundle, record_property, tmp_path):
    src = tmp_path / "bind-data"
    src.mkdir()
    (src / "file").write_text("bound\n")
    res = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, "binddata",
                   "cat /b/file; grep ' /b ' /proc/self/mountinfo | cut -d' ' -f6",
                   edit=lambda c: c["mounts"].append({"destination": "/b", "type": "bind", "source": str(src),
                                                      "options": ["rbind", "ro", "size=1m,mode=755", "mode=700"]}))
    assert res["glassrun"].returncode == 0, res["glassrun"].stderr
    assert res["glassrun"].stdout == res["runc"].stdout
    assert res["glassrun"].stdout.splitlines()[0] == "bound"
    assert res["glassrun"].stdout.splitlines()[1].startswith("ro,")


# ---- item 8: /dev read-only in the config ------------------------------------

def dev_readonly(c):
    for m in c["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = m.get("options", []) + ["ro"]


def test_readonly_dev_is_populated_then_remounted_readonly(glassrun, runc, fast_bundle, record_property):
    script = ("test -c /dev/null && test -c /dev/pts/ptmx && readlink /dev/ptmx; readlink /dev/fd; "
              "touch /dev/new 2>/dev/null && echo writable || echo read-only; "
              "grep ' /dev ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1")
    res = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, "devro", script,
                   edit=dev_readonly)
    assert res["glassrun"].returncode == 0, res["glassrun"].stderr
    assert res["glassrun"].stdout == res["runc"].stdout == "pts/ptmx\n/proc/self/fd\nread-only\nro\n"


def test_readonly_dev_with_a_terminal_gets_its_console(glassrun, fast_bundle):
    b = fast_bundle("sh", "-c", "test -c /dev/console && echo console", terminal=True, name="devro-tty")
    b.edit(dev_readonly)
    r = glassrun("run", "-b", b.path, glassrun.new_id("devtty"))
    assert r.returncode == 0, r.stderr
    assert "console" in r.stdout


# ---- item 9: linux.rootfsPropagation -----------------------------------------

def root_propagation(mountinfo_line):
    """The optional fields of "/" in mountinfo, as kinds: shared, master, unbindable."""
    fields = mountinfo_line.split(" - ")[0].split()[6:]
    return sorted(re.sub(r":.*", "", f) for f in fields)


@pytest.mark.parametrize("propagation", ["shared", "slave", "private", "unbindable"])
def test_rootfs_propagation(glassrun, runc, crun, fast_bundle, record_property, propagation):
    # The container also makes a mount of its own: it must never show on the host.
    script = ("mkdir -p /dev/shm/own && mount -t tmpfs own-" + propagation + " /dev/shm/own && "
              "awk '$5 == \"/\"' /proc/self/mountinfo")

    def edit(c):
        c["linux"]["rootfsPropagation"] = propagation
        c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")

    res = run_each({"runc": runc, "crun": crun, "glassrun": glassrun}, fast_bundle, record_property,
                   f"prop-{propagation}", script, edit=edit)
    g = res["glassrun"]
    assert g.returncode == 0, g.stderr
    assert res["crun"].returncode == 0, res["crun"].stderr
    seen = root_propagation(g.stdout.strip().splitlines()[-1])
    assert seen == root_propagation(res["crun"].stdout.strip().splitlines()[-1])
    expected = {"shared": "shared", "unbindable": "unbindable"}.get(propagation)
    assert (expected in seen) if expected else ("shared" not in seen and "unbindable" not in seen), seen
    assert not mounts_mentioning(f"own-{propagation}")


# ---- item 10: no mount namespace ---------------------------------------------

def no_mount_namespace(all_of_them):
    def edit(c):
        c["linux"]["namespaces"] = [] if all_of_them else [n for n in c["linux"]["namespaces"]
                                                           if n["type"] != "mount"]
        c["linux"]["maskedPaths"] = []
        c["linux"]["readonlyPaths"] = []
        c.pop("hostname", None)
    return edit


@pytest.mark.parametrize("all_of_them", [False, True], ids=["no-mount-ns", "no-namespaces"])
def test_no_mount_namespace_mounts_in_the_callers_and_chroots(glassrun, runc, fast_bundle, record_property,
                                                              all_of_them):
    """In a throwaway mount namespace (unshare -m): the mounts are made in the
    caller's namespace, which must not be the host's here."""
    script = ("test -e /proc/self/status && test -c /dev/null && ls /sys/fs/cgroup >/dev/null && echo ok; "
              "touch /new 2>/dev/null && echo rw || echo ro")
    res = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property,
                   f"nomntns-{all_of_them}", script, edit=no_mount_namespace(all_of_them),
                   wrap=("unshare", "-m", "--propagation", "private"))
    assert res["glassrun"].returncode == 0, res["glassrun"].stderr
    # root.readonly is true in the bundle: runc 1.1.5 leaves "/" writable without
    # a mount namespace; the spec says MUST be read-only (accepted difference).
    assert res["runc"].stdout == "ok\nrw\n"
    assert res["glassrun"].stdout == "ok\nro\n"


@pytest.mark.parametrize("all_of_them", [False, True], ids=["no-mount-ns", "no-namespaces"])
def test_no_mount_namespace_create_reports_a_live_init(glassrun, fast_bundle, all_of_them):
    b = fast_bundle("sh", "-c", "echo started", name=f"nomntns-create-{all_of_them}")
    b.edit(no_mount_namespace(all_of_them))
    cid = glassrun.new_id("nmc")
    r = run(["unshare", "-m", "--propagation", "private", glassrun.binary, "--root", glassrun.root, "create",
             "-b", b.path, cid], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    st = glassrun.state(cid)
    assert st["status"] == "created" and st["pid"] > 0, st
    assert Path(f"/proc/{st['pid']}").exists()


def test_masked_paths_without_a_mount_namespace_are_refused_as_runc(glassrun, runc, fast_bundle, record_property):
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]
    res = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, "nomntns-masked", "true",
                   edit=edit, wrap=("unshare", "-m", "--propagation", "private"))
    assert res["runc"].returncode != 0
    assert res["glassrun"].returncode != 0
    assert "unable to restrict sys entries without a private MNT namespace" in res["glassrun"].stderr


# ---- item 11: --no-pivot hides the host's procfs and sysfs -------------------

PROC_SUPER_MAGIC, SYSFS_MAGIC = 0x9FA0, 0x62656572


def procfs_sysfs_in_namespace(pid):
    """How many procfs and sysfs mounts the mount namespace of pid holds, all
    of them, also those its root cannot reach (listmount/statmount, Linux 6.8+;
    /proc/<pid>/mountinfo leaves those out)."""
    libc = ctypes.CDLL(None, use_errno=True)
    sys_statmount, sys_listmount, ns_get_mntns_id, lsmt_root, statmount_sb_basic = 457, 458, 0x8008B705, 2**64 - 1, 1
    fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, ns_get_mntns_id, buf)
    finally:
        os.close(fd)
    ns_id = struct.unpack("Q", buf)[0]

    def request(mnt_id, param):  # struct mnt_id_req, version 1
        return ctypes.create_string_buffer(struct.pack("IIQQQ", 32, 0, mnt_id, param, ns_id))

    ids = (ctypes.c_uint64 * 4096)()
    n = libc.syscall(sys_listmount, request(lsmt_root, 0), ids, 4096, 0)
    if n < 0:
        pytest.fail(f"listmount: {os.strerror(ctypes.get_errno())}")
    magics = []
    for mnt_id in ids[:n]:
        sm = ctypes.create_string_buffer(4096)
        if libc.syscall(sys_statmount, request(mnt_id, statmount_sb_basic), sm, 4096, 0) < 0:
            pytest.fail(f"statmount: {os.strerror(ctypes.get_errno())}")
        magics.append(struct.unpack_from("Q", sm.raw, 24)[0])  # struct statmount.sb_magic
    return magics.count(PROC_SUPER_MAGIC), magics.count(SYSFS_MAGIC)


def procfs_sysfs_reachable(pid):
    fstypes = [l.split(" - ", 1)[1].split()[0] for l in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
    return fstypes.count("proc"), fstypes.count("sysfs")


def test_no_pivot_hides_the_hosts_proc_and_sys_below_the_chroot(glassrun, runc, fast_bundle, record_property):
    """Every procfs/sysfs in the container's mount namespace must be one the
    container can see: a host one left under the chroot would let a process
    in a user namespace mount a fresh /proc (the kernel allows it while a
    fully visible one exists)."""
    out = {}
    for rt_name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("sleep", "60", name=f"nopivot-{rt_name}")
        cid = rt.new_id("np")
        r = rt("run", "-d", "--no-pivot", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        pid = rt.state(cid)["pid"]
        out[rt_name] = (procfs_sysfs_in_namespace(pid), procfs_sysfs_reachable(pid))
        rt("delete", "--force", cid)
        print(f"[{rt_name}] (proc, sysfs) in the namespace, reachable: {out[rt_name]}")
        record_property(rt_name, repr(out[rt_name]))
    in_ns, reachable = out["glassrun"]
    assert in_ns == reachable, out
    assert out["runc"][0] == out["runc"][1], out


# ---- item 20: linux.mountLabel without SELinux -------------------------------

def test_mount_label_without_selinux_mounts_without_context_as_crun(glassrun, runc, crun, fast_bundle,
                                                                     record_property):
    if Path("/sys/fs/selinux/enforce").exists():
        pytest.skip("SELinux is enabled on this host: the label is applied, there is nothing to drop")
    label = "system_u:object_r:container_file_t:s0:c1,c2"
    res = run_each({"runc": runc, "crun": crun, "glassrun": glassrun}, fast_bundle, record_property, "mountlabel",
                   "echo $(grep -c context= /proc/self/mountinfo)",
                   edit=lambda c: c["linux"].__setitem__("mountLabel", label))
    g = res["glassrun"]
    assert res["crun"].returncode == 0, res["crun"].stderr
    assert res["runc"].returncode != 0  # runc 1.1.5: the kernel refuses context= (EINVAL)
    assert g.returncode == 0 and g.stdout == res["crun"].stdout == "0\n", (g.stdout, g.stderr)  # no context=
    warnings = [l for l in g.stderr.splitlines() if "mountLabel" in l]
    assert len(warnings) == 1, g.stderr
    assert "level=warning" in warnings[0] and "SELinux is not enabled on this host" in warnings[0], g.stderr


# ---- issue 15 item 13: proc on a non-directory -------------------------------

@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_proc_on_a_non_directory_names_runcs_phrase(glassrun, runc, fast_bundle, record_property, kind):
    out = {}
    for rt_name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("true", name=f"procfile-{kind}-{rt_name}")
        proc = b.path / "rootfs" / "proc"
        if proc.exists():
            proc.rmdir()
        if kind == "file":
            proc.write_text("")
        else:
            proc.symlink_to("/tmp")
        cid = rt.new_id("pf")
        r = rt("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        record(record_property, rt_name, r)
        out[rt_name] = r
    phrase = 'filesystem "proc" must be mounted on ordinary directory'
    assert phrase in out["runc"].stderr.replace('\\"', '"')
    g = out["glassrun"]
    assert g.returncode != 0 and phrase in g.stderr, g.stderr
    assert len([l for l in g.stderr.splitlines() if l.strip()]) == 1, g.stderr


# ---- linux.devices: nodes in /dev, in a subdirectory made for them, and in /dev again
# (glassrun keeps the directory fd from one node to the next while the
# directory stays the same: the switch back must reopen /dev).

def test_device_nodes_in_dev_and_a_new_subdirectory(runc, glassrun, fast_bundle, record_property):
    devs = [("/dev/gr-a", 1, 3), ("/dev/gr-sub/deeper/b", 1, 5), ("/dev/gr-sub/c", 1, 7), ("/dev/gr-d", 1, 9)]

    def edit(c):
        c["linux"]["devices"] = [{"path": p, "type": "c", "major": ma, "minor": mi, "fileMode": 0o640,
                                  "uid": 0, "gid": 0} for p, ma, mi in devs]

    script = "stat -c '%n %F %t:%T %a %u:%g' " + " ".join(p for p, _, _ in devs)
    out = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, "devnodes", script, edit=edit)
    assert out["glassrun"].returncode == 0, out["glassrun"].stderr
    assert out["glassrun"].stdout == out["runc"].stdout
    assert out["glassrun"].stdout.splitlines() == [
        f"{p} character special file {ma:x}:{mi:x} 640 0:0" for p, ma, mi in devs]


# ---- /sys/fs/cgroup on v1/hybrid: runc's layout is the reference -------------
# (glassrun makes the hierarchy directories relative to the new tmpfs' fd:
# the names, their mounts and flags must stay runc's).

def test_sys_fs_cgroup_layout_matches_runc(runc, glassrun, fast_bundle, record_property):
    if not Path("/sys/fs/cgroup/unified").is_mount() and not Path("/sys/fs/cgroup/memory").is_mount():
        pytest.skip("not a cgroup v1/hybrid host: /sys/fs/cgroup is one cgroup2 mount")
    # mount point, per-mount options, fstype for everything at or below /sys/fs/cgroup;
    # then what a listing shows (names and kinds: a symlink for a co-mounted pair).
    script = ("awk '$5 ~ \"^/sys/fs/cgroup\" { for (i = 7; $i != \"-\"; i++); print $5, $6, $(i+1) }' "
              "/proc/self/mountinfo | sort; ls -l /sys/fs/cgroup | awk 'NR > 1 { print substr($1, 1, 1), $9, $10, $11 }'")
    out = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, "cglayout", script)
    assert out["glassrun"].returncode == 0, out["glassrun"].stderr
    g = [l.rstrip() for l in out["glassrun"].stdout.splitlines()]
    # The two differences conformance/accepted_differences.toml records: the
    # tmpfs itself read-only as the config asks, and the unified hierarchy too.
    assert "/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime tmpfs" in g, g
    if Path("/sys/fs/cgroup/unified").is_mount():
        assert "/sys/fs/cgroup/unified ro,nosuid,nodev,noexec,relatime cgroup2" in g and "d unified" in g, g
    g = [l.replace("/sys/fs/cgroup ro,", "/sys/fs/cgroup rw,") for l in g if "unified" not in l]
    assert g == [l.rstrip() for l in out["runc"].stdout.splitlines()]
    assert any(l.endswith(" cgroup") for l in g), g


# ---- runc's proc-safety check (checkProcMount) --------------------------------
# A bind, or any type but proc, sysfs, mqueue, tmpfs and cgroup, may not land
# inside the container's /proc (where it would cover what masking and the
# LSMs rely on: a bind over /proc/self/attr/exec keeps the process from its
# exec label, CVE-2019-19921), except on the files lxcfs emulates; on /proc
# itself only a procfs. The target counts where it resolves to. glassrun let
# all of these through before session 23.

PROC_CASES = [
    # (id, type, source ("F": a host file, "D": a host directory), destination, runc's outcome)
    ("cpuinfo", "bind", "F", "/proc/cpuinfo", "ok"),
    ("ns_last_pid", "bind", "F", "/proc/sys/kernel/ns_last_pid", "ok"),
    ("proc-sys", "bind", "D", "/proc/sys", '"/proc/sys" cannot be mounted because it is inside /proc'),
    ("attr-exec", "bind", "F", "/proc/self/attr/exec", '"/proc/1/attr/exec" cannot be mounted because it is inside /proc'),
    ("net-dev", "bind", "F", "/proc/net/dev", '"/proc/1/net/dev" cannot be mounted because it is inside /proc'),
    ("proc-acpi", "bind", "D", "/proc/acpi", '"/proc/acpi" cannot be mounted because it is inside /proc'),
    ("devpts-in-proc", "devpts", "devpts", "/proc/bus", '"/proc/bus" cannot be mounted because it is inside /proc'),
    ("mqueue-in-proc", "mqueue", "mqueue", "/proc/sys/fs/mqueue", "ok"),
    ("hosts-proc-on-proc", "bind", "/proc", "/proc", "ok"),
    ("dir-on-proc", "bind", "D", "/proc", '"/proc" cannot be mounted because it is not of type proc'),
]


@pytest.mark.parametrize("case", PROC_CASES, ids=[c[0] for c in PROC_CASES])
def test_mounts_inside_proc_are_refused_as_runc(glassrun, runc, fast_bundle, record_property, tmp_path, case):
    name, typ, source, dest, expected = case
    (tmp_path / "hostfile").write_text("not what the kernel says\n")
    (tmp_path / "hostdir").mkdir()
    source = {"F": str(tmp_path / "hostfile"), "D": str(tmp_path / "hostdir")}.get(source, source)
    mount = {"destination": dest, "type": typ, "source": source}
    if typ == "bind":
        mount["options"] = ["bind"]
    res = run_each({"runc": runc, "glassrun": glassrun}, fast_bundle, record_property, f"proc-{name}", "true",
                   edit=lambda c: c["mounts"].append(mount))
    if expected == "ok":
        for rt_name, r in res.items():
            assert r.returncode == 0, (rt_name, r.stderr)
        return
    assert res["runc"].returncode != 0 and expected.split('"')[2] in res["runc"].stderr, res["runc"].stderr
    g = res["glassrun"]
    assert g.returncode == 1
    shown = source if typ == "bind" else typ
    assert g.stderr.strip().splitlines() == [f"glassrun: run: init: mount {shown} on {dest}: {expected}"], g.stderr
    cid = glassrun.ids[-1]
    assert not Path(glassrun.root, cid).exists()
    assert mounts_mentioning(str(tmp_path)) == []
