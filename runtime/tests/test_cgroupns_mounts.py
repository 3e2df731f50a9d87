"""The cgroup mounts in a cgroup namespace (linux/mounts.cpp), side by side
with runc 1.1.5 (libcontainer/rootfs_linux.go mountCgroupV1): in a cgroup
namespace, made or joined by path, each v1 hierarchy is mounted from inside
the namespace, so /proc/self/mountinfo shows it at the namespace's root
(root=/). Differences accepted elsewhere (conformance/accepted_differences.toml)
are left out: glassrun's read-only tmpfs and its extra unified (cgroup2) mount."""
import subprocess
from pathlib import Path

import pytest

from conftest import namespace_holder
from security.helpers import bundle_template, fast_bundle, probe_binary, record  # noqa: F401

pytestmark = pytest.mark.skipif(not Path("/sys/fs/cgroup/unified").is_mount(),
                                reason="not a cgroup v1 hybrid host (no /sys/fs/cgroup/unified): the v1 path is not here")


@pytest.fixture
def cgroupns_holder():
    """A process in its own cgroup namespace, rooted at the test's own cgroup."""
    yield from namespace_holder("cgroup", "--cgroup")


def hierarchy_mounts(mountinfo):
    """{mount point: (root, options, fstype, super options)} of the v1 hierarchies under /sys/fs/cgroup."""
    out = {}
    for line in mountinfo.splitlines():
        f = line.split()
        sep = f.index("-")
        if f[4].startswith("/sys/fs/cgroup/") and f[sep + 1] == "cgroup":
            out[f[4]] = (f[3], f[5], f[sep + 1], f[sep + 3])
    return out


@pytest.mark.parametrize("joined", [True, False], ids=["joined", "new"])
def test_hierarchies_are_mounted_at_the_namespace_root_as_runc(glassrun, runc, fast_bundle, record_property,
                                                                cgroupns_holder, joined):
    def cgroupns(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
        c["linux"]["namespaces"].append({"type": "cgroup", "path": f"/proc/{cgroupns_holder}/ns/cgroup"}
                                        if joined else {"type": "cgroup"})

    seen = {}
    for name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("cat", "/proc/self/mountinfo", name=f"cgns-{name}").edit(cgroupns)
        r = rt("run", "-b", b.path, rt.new_id("cgns"), stdin=subprocess.DEVNULL)
        record(record_property, name, r)
        assert r.returncode == 0, (name, r.stderr)
        seen[name] = hierarchy_mounts(r.stdout)
    assert seen["runc"], "runc mounted no cgroup v1 hierarchy"
    assert {m[0] for m in seen["runc"].values()} == {"/"}
    assert seen["glassrun"] == seen["runc"]
