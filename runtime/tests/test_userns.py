"""User namespaces: id maps, ownership of files written to bind mounts, /dev
nodes bound from the host, sysfs without a network namespace, setgroups.
glassrun is asserted; runc runs the same bundle as the reference."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import leftovers, namespace_holder, run
from security.helpers import (bundle_template, chown_tree, fast_bundle, open_to_traverse, probe_binary,  # noqa: F401
                              record)

HOST_ID, SIZE = 100000, 65536


@pytest.fixture
def runtimes(glassrun, runc):
    return {"runc": runc, "glassrun": glassrun}


@pytest.fixture
def userns_bundle(fast_bundle, tmp_path):
    """A bundle with a user namespace, container 0 -> host 100000 (65536 ids),
    its rootfs (a copy) owned by 100000."""
    open_to_traverse(tmp_path / "x")
    os.chmod(tmp_path, 0o711)

    def make(*args, name, edit=None):
        b = fast_bundle(*args, name=name)
        chown_tree(b.path / "rootfs", HOST_ID, HOST_ID)

        def e(c):
            c["linux"]["namespaces"].append({"type": "user"})
            c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
            c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
            if edit:
                edit(c)

        b.edit(e)
        return b

    return make


def run_both(runtimes, userns_bundle, record_property, script, name, edit=None):
    out = {}
    for rt_name, rt in runtimes.items():
        b = userns_bundle("sh", "-c", script, name=f"{name}-{rt_name}", edit=edit)
        cid = rt.new_id("uns")
        r = rt("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        record(record_property, rt_name, r)
        out[rt_name] = r
    return out


def test_root_in_the_container_is_100000_on_the_host(runtimes, userns_bundle, record_property):
    res = run_both(runtimes, userns_bundle, record_property,
                   "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups", "ids")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["0", "0"]
    assert lines[2].split() == ["0", str(HOST_ID), str(SIZE)]
    assert lines[3].split() == ["0", str(HOST_ID), str(SIZE)]
    # setgroups stays allowed when the runtime (root) writes the maps, as runc.
    assert lines[4] == res["runc"].stdout.splitlines()[-1] == "allow"


def test_files_written_to_a_bind_mount_are_owned_by_the_mapped_id(runtimes, userns_bundle, record_property, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, HOST_ID, HOST_ID)

    def edit(c):
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared), "options": ["rbind"]})

    res = run_both(runtimes, userns_bundle, record_property, "touch /shared/by-$(id -u)-$$; ls -ln /shared", "bind",
                   edit=edit)
    assert res["glassrun"].returncode == 0, res["glassrun"].stderr
    files = list(shared.iterdir())
    assert files  # by-0-1: runc's and glassrun's have the same name
    for f in files:
        st = f.stat()
        assert (st.st_uid, st.st_gid) == (HOST_ID, HOST_ID), f


def test_dev_nodes_are_bind_mounts_of_the_host_nodes(runtimes, userns_bundle, record_property):
    script = ("for d in null zero full tty random urandom; do grep -c \" /dev/$d \" /proc/self/mountinfo; done;"
              " echo x > /dev/null && head -c 4 /dev/zero | wc -c")
    res = run_both(runtimes, userns_bundle, record_property, script, "dev")
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1"] * 6 + ["4"]


def test_sysfs_without_a_network_namespace(runtimes, userns_bundle, record_property):
    """A user namespace may not mount a sysfs for a network namespace it does
    not own: runc binds the host's /sys (rbind) instead."""

    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]

    res = run_both(runtimes, userns_bundle, record_property, "ls /sys/class/net | grep -c lo; grep ' /sys ' /proc/self/mountinfo",
                   "sysfs", edit=edit)
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "1"


def test_writes_as_an_unmapped_id_are_refused(runtimes, userns_bundle, record_property, tmp_path):
    """A host root-owned directory bound in stays root's: the container's root
    (host 100000) cannot write it."""
    hostdir = tmp_path / "rootowned"
    hostdir.mkdir(mode=0o755)

    def edit(c):
        c["mounts"].append({"destination": "/host", "type": "bind", "source": str(hostdir), "options": ["rbind"]})

    res = run_both(runtimes, userns_bundle, record_property, "touch /host/x && echo WROTE; ls -ln / | grep host",
                   "unmapped", edit=edit)
    r = res["glassrun"]
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout
    assert not list(hostdir.iterdir())
    assert "65534" in r.stdout  # the host's root shows as the overflow id


@pytest.fixture
def userns_holder():
    """pid of a process in a user namespace of its own, its maps 0 -> 100000
    (65536 ids) written."""
    for pid in namespace_holder("user", "--user"):
        for f in ("uid_map", "gid_map"):
            Path(f"/proc/{pid}/{f}").write_text(f"0 {HOST_ID} {SIZE}\n")
        yield pid


def join_userns(holder, maps=(0, HOST_ID, SIZE)):
    """Edits a userns_bundle's config to join the holder's user namespace by
    path (uts, mount, ... new), with the maps given (runc 1.1.5 needs them)."""
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]
        c["linux"]["namespaces"].append({"type": "user", "path": f"/proc/{holder}/ns/user"})
        c["hostname"] = "joined"
        for key in ("uidMappings", "gidMappings"):
            c["linux"][key] = [{"containerID": maps[0], "hostID": maps[1], "size": maps[2]}]
    return edit


def test_joined_user_namespace_owns_the_new_namespaces_as_runc(runtimes, userns_bundle, record_property,
                                                                 userns_holder):
    """The new uts (and other) namespaces are made after the join, so they
    belong to the joined user namespace: sethostname works; the maps are the
    holder's, not written again."""
    script = "cat /proc/self/uid_map /proc/self/gid_map; hostname; id; readlink /proc/self/ns/user"
    res = run_both(runtimes, userns_bundle, record_property, script, "joined", edit=join_userns(userns_holder))
    for name, r in res.items():
        assert r.returncode == 0, (name, r.stderr)
    assert res["glassrun"].stdout == res["runc"].stdout
    lines = res["glassrun"].stdout.splitlines()
    assert lines[0].split() == lines[1].split() == ["0", str(HOST_ID), str(SIZE)]
    assert lines[2:4] == ["joined", "uid=0(root) gid=0(root)"], lines
    assert lines[-1] == os.readlink(f"/proc/{userns_holder}/ns/user")


def test_joined_user_namespace_maps_that_differ_are_refused(glassrun, userns_bundle, userns_holder):
    """runc 1.2's check (runc 1.1.5 runs the container, its maps unused): the
    config's maps must be the joined namespace's; one line naming the field,
    nothing left behind."""
    b = userns_bundle("true", name="joined-mismatch", edit=join_userns(userns_holder, (0, 200000, SIZE)))
    cid = glassrun.new_id("uns")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "linux.uidMappings" in r.stderr and f"/proc/{userns_holder}/uid_map" in r.stderr, r.stderr
    assert leftovers(glassrun.root, cid, b.path) == []


def test_joined_user_namespace_without_maps_reads_the_namespaces_maps(runtimes, userns_bundle, record_property,
                                                                     userns_holder):
    """A user namespace joined by path needs no maps in the config: glassrun
    takes the joined namespace's own (runc 1.2 does the same); runc 1.1.5
    refuses the config (accepted difference lifecycle/userns.join-without-maps)."""
    def no_maps(c):
        join_userns(userns_holder)(c)
        del c["linux"]["uidMappings"], c["linux"]["gidMappings"]
    script = "cat /proc/self/uid_map; hostname; id -u"
    res = run_both(runtimes, userns_bundle, record_property, script, "joined-nomaps", edit=no_maps)
    assert res["runc"].returncode != 0 and "no uid mappings found" in res["runc"].stderr, res["runc"].stderr
    g = res["glassrun"]
    assert g.returncode == 0, g.stderr
    assert g.stdout.split() == ["0", str(HOST_ID), str(SIZE), "joined", "0"], g.stdout
