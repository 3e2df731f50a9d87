"""idmapped mounts (runtime-spec 1.1 mounts[].uidMappings/gidMappings): a
bind mount idmapped with mount_setattr(MOUNT_ATTR_IDMAP) shows host ids as
the mapped container ids; filesystems that cannot be idmapped, and bad
mappings, give one clear line; nothing is left behind."""
import os
import tempfile
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, mounts_mentioning, processes_mentioning
from security.helpers import bundle_template, fast_bundle, open_to_traverse, probe_binary  # noqa: F401
from test_userns import HOST_ID, userns_bundle  # noqa: F401


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def assert_nothing_left(rt, cid, *texts):
    assert not Path(rt.root, cid).exists(), "state directory left behind"
    assert cgroup_dirs_named(cid) == [], "cgroup left behind"
    for t in texts:
        assert mounts_mentioning(str(t)) == [], f"mount of {t} left behind"
        assert processes_mentioning(str(t)) == [], f"process mentioning {t} left behind"
    assert processes_mentioning(cid) == [], "process left behind"


@pytest.fixture
def host_dir(tmp_path):
    """A directory owned by 1000 with a file owned by uid/gid 1000 and one by 2000."""
    d = Path(tempfile.mkdtemp(prefix="glassrun-idmap-", dir=tmp_path))
    (d / "mine").write_text("x")
    os.chown(d / "mine", 1000, 1000)
    (d / "other").write_text("y")
    os.chown(d / "other", 2000, 2000)
    d.chmod(0o755)
    os.chown(d, 1000, 1000)
    return d


# runtime-spec: "the mapping to convert UIDs from the source file system to the
# destination mount point", in user-namespace format: containerID is the id on
# the source filesystem, hostID the id it shows as through the mount.
def idmapped(dest, source, uid=(1000, 0, 1), gid=(1000, 0, 1), options=("rbind",)):
    def maps(t):
        return [{"containerID": t[0], "hostID": t[1], "size": t[2]}]
    return {"destination": dest, "type": "bind", "source": str(source), "options": list(options),
            "uidMappings": maps(uid), "gidMappings": maps(gid)}


@pytest.mark.parametrize("options", [("rbind",), ("bind", "ro")])
def test_idmapped_bind_shows_host_owner_as_container_root(glassrun, make_bundle, host_dir, options):
    b = make_bundle("sh", "-c", "stat -c '%u %g' /data/mine /data/other /data; touch /data/w 2>&1; echo done")
    b.edit(lambda c: c["mounts"].append(idmapped("/data", host_dir, options=options)))
    cid = glassrun.new_id("idm")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["0 0", "65534 65534", "0 0"], r.stdout + r.stderr
    if "ro" in options:
        assert not (host_dir / "w").exists() and "Read-only" in r.stdout, r.stdout
    else:
        # Written by root in the container, it lands as the source id 1000.
        st = os.stat(host_dir / "w")
        assert (st.st_uid, st.st_gid) == (1000, 1000)
    # The host's view is unchanged.
    assert os.stat(host_dir / "mine").st_uid == 1000
    assert_nothing_left(glassrun, cid, host_dir, b.path)


def test_idmapped_mapping_direction(glassrun, make_bundle, host_dir):
    """{containerID 0, hostID 1000}: source id 0 shows as 1000 (and 1000 as the overflow id)."""
    (host_dir / "rootfile").write_text("z")
    b = make_bundle("sh", "-c", "stat -c '%u' /data/rootfile /data/mine")
    b.edit(lambda c: c["mounts"].append(idmapped("/data", host_dir, uid=(0, 1000, 1), gid=(0, 1000, 1))))
    cid = glassrun.new_id("idm")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "65534"], r.stdout
    assert_nothing_left(glassrun, cid, host_dir, b.path)


@pytest.mark.parametrize("source", ["/proc/sys", "/sys/kernel"])
def test_unsupported_filesystem_is_a_clear_error(glassrun, make_bundle, source):
    b = make_bundle("true")
    n = len(b.config["mounts"])
    b.edit(lambda c: c["mounts"].append(idmapped("/data", source)))
    cid = glassrun.new_id("idm")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode != 0
    line = one_line(r.stderr)
    assert (f"mounts[{n}] (/data): idmapped mount of {source}: the filesystem does not support idmapped mounts"
            in line), line
    assert_nothing_left(glassrun, cid, b.path)


BAD = {
    "zero size": (lambda m: m["uidMappings"][0].__setitem__("size", 0), "uidMappings[0].size: must be positive"),
    "only uid": (lambda m: m.pop("gidMappings"), "gidMappings: must be set together with the other"),
    "not a list": (lambda m: m.__setitem__("uidMappings", {"containerID": 0}), "uidMappings: must be a"),
    "not bind": (lambda m: m.update(type="tmpfs", source="tmpfs", options=[]),
                 "uidMappings: only bind mounts can be idmapped"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_mappings_name_the_field(glassrun, make_bundle, host_dir, case):
    edit, message = BAD[case]
    b = make_bundle("true")
    n = len(b.config["mounts"])

    def add(c):
        m = idmapped("/data", host_dir)
        edit(m)
        c["mounts"].append(m)
    b.edit(add)
    cid = glassrun.new_id("idm")
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode != 0
    line = one_line(r.stderr)
    assert f"config.json: mounts[{n}].{message}" in line, line
    assert_nothing_left(glassrun, cid, host_dir, b.path)


def test_idmapped_bind_in_a_user_namespace_container(glassrun, userns_bundle, host_dir):
    """runc 1.2's semantics: the mount's mappings are relative to the host and
    the tree is made on the host side (inside the container's user namespace
    the kernel refuses it). The container's root is host 100000; mapping source
    id 1000 to 100000 shows /data/mine as root's, and root's writes land as
    1000 on the host."""
    open_to_traverse(host_dir / "x")

    def edit(c):
        c["mounts"].append(idmapped("/data", host_dir, uid=(1000, HOST_ID, 1), gid=(1000, HOST_ID, 1)))

    b = userns_bundle("sh", "-c", "id -u; stat -c '%u %g' /data/mine /data/other; touch /data/w && echo wrote",
                      name="idm-userns", edit=edit)
    cid = glassrun.new_id("idm")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["0", "0 0", "65534 65534", "wrote"], r.stdout + r.stderr
    st = os.stat(host_dir / "w")
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    assert_nothing_left(glassrun, cid, host_dir, b.path)


def test_idmapped_bind_in_a_user_namespace_unsupported_filesystem(glassrun, userns_bundle):
    """The host-side step fails before anything exists: one line, nothing left."""
    b = userns_bundle("true", name="idm-userns-bad", edit=lambda c: c["mounts"].append(idmapped("/data", "/proc/sys")))
    n = len(b.config["mounts"]) - 1
    cid = glassrun.new_id("idm")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode != 0
    line = one_line(r.stderr)
    assert f"mounts[{n}] (/data): idmapped mount of /proc/sys: the filesystem does not support idmapped mounts" in line
    assert_nothing_left(glassrun, cid, b.path)
