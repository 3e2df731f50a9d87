"""Time namespaces (runtime-spec 1.1 linux.timeOffsets, linux/timens.cpp):
a new one gets its offsets before any process enters it; one joined by path
keeps its own. runc 1.1.5 has no time namespace and refuses both (its
refusal is asserted and recorded); crun 1.8.1 is tried and recorded, and
compared where it runs. Where glassrun refuses a config runc 1.1.5 ignores,
conformance/accepted_differences.toml says why (check "cli")."""
import os
import pathlib
import subprocess

import pytest

from conftest import cgroup_dirs_named, namespace_holder, processes_mentioning
from security.helpers import bundle_template, chown_tree, fast_bundle, open_to_traverse, probe_binary, record  # noqa: F401

OFFSETS = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 500}}
READ = "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime"

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/timens_offsets"),
                                reason="this kernel has no time namespaces (/proc/self/timens_offsets)")


def offsets_seen(stdout):
    """{"monotonic": (secs, nsecs), "boottime": ...}: the timens_offsets lines of the output."""
    return {w[0]: (int(w[1]), int(w[2])) for w in (line.split() for line in stdout.splitlines())
            if w and w[0] in ("monotonic", "boottime")}


def new_time_ns(c, offsets=OFFSETS):
    c["linux"]["namespaces"].append({"type": "time"})
    if offsets is not None:
        c["linux"]["timeOffsets"] = offsets


@pytest.fixture
def time_holder():
    """A process in its own time namespace (monotonic +1000 s, boottime +2000 s):
    `unshare --time` enters it with its execve of sleep."""
    yield from namespace_holder("time", "--time", "--monotonic", "1000", "--boottime", "2000")


def run_under(rt, bundle, prefix):
    return rt("run", "-b", bundle.path, rt.new_id(prefix), stdin=subprocess.DEVNULL)


def test_new_time_namespace_gets_the_offsets(glassrun, runc, crun, fast_bundle, record_property):
    out = {}
    host_uptime = float(pathlib.Path("/proc/uptime").read_text().split()[0])  # before the container reads its own
    for name, rt in (("runc", runc), ("crun", crun), ("glassrun", glassrun)):
        b = fast_bundle("sh", "-c", READ, name=f"timens-{name}").edit(new_time_ns)
        out[name] = r = run_under(rt, b, "tns")
        record(record_property, name, r)
    g = out["glassrun"]
    assert g.returncode == 0, g.stderr
    seen, uptime = offsets_seen(g.stdout), float(g.stdout.splitlines()[2])
    assert seen == {"monotonic": (86400, 0), "boottime": (172800, 500)}
    # /proc/uptime is CLOCK_BOOTTIME as the namespace sees it
    assert 172800 <= uptime - host_uptime <= 172800 + 60, (uptime, host_uptime)
    # runc 1.1.5 knows no time namespace: it refuses the config
    assert out["runc"].returncode != 0 and 'namespace {\\"time\\" \\"\\"} does not exist' in out["runc"].stderr, \
        out["runc"].stderr
    # crun 1.8.1 on this host fails any time namespace (its intermediate
    # process exits after unshare: `write to sync socket: Connection reset by
    # peer`); where it runs, it must show what glassrun shows
    if out["crun"].returncode == 0:
        assert offsets_seen(out["crun"].stdout) == seen


def test_time_namespace_without_offsets_reads_zero(glassrun, fast_bundle):
    b = fast_bundle("sh", "-c", READ + "; readlink /proc/self/ns/time").edit(lambda c: new_time_ns(c, None))
    r = run_under(glassrun, b, "tns0")
    assert r.returncode == 0, r.stderr
    assert offsets_seen(r.stdout) == {"monotonic": (0, 0), "boottime": (0, 0)}
    assert r.stdout.split("\n")[3] != os.readlink("/proc/self/ns/time"), "not in a new time namespace"


def test_new_time_namespace_in_a_user_namespace(glassrun, fast_bundle):
    """The mapped root cannot open its own /proc/self/timens_offsets (becoming
    root made it non-dumpable): the init opens it before."""
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]
        new_time_ns(c)

    b = fast_bundle("sh", "-c", READ).edit(edit)
    chown_tree(b.path / "rootfs", 100000, 100000)
    open_to_traverse(b.path / "rootfs")
    r = run_under(glassrun, b, "tnu")
    assert r.returncode == 0, r.stderr
    assert offsets_seen(r.stdout) == {"monotonic": (86400, 0), "boottime": (172800, 500)}


def test_joined_time_namespace_by_path(glassrun, runc, crun, fast_bundle, record_property, time_holder):
    ns = f"/proc/{time_holder}/ns/time"

    def join(c):
        c["linux"]["namespaces"].append({"type": "time", "path": ns})

    out = {}
    for name, rt in (("runc", runc), ("crun", crun), ("glassrun", glassrun)):
        b = fast_bundle("sh", "-c", READ + "; readlink /proc/self/ns/time", name=f"timejoin-{name}").edit(join)
        out[name] = r = run_under(rt, b, "tnj")
        record(record_property, name, r)
    g = out["glassrun"]
    assert g.returncode == 0, g.stderr
    assert offsets_seen(g.stdout) == {"monotonic": (1000, 0), "boottime": (2000, 0)}
    assert g.stdout.split("\n")[3] == os.readlink(ns)
    assert out["runc"].returncode != 0 and "does not exist" in out["runc"].stderr, out["runc"].stderr
    if out["crun"].returncode == 0:
        assert out["crun"].stdout == g.stdout


def test_exec_joins_the_containers_time_namespace(glassrun, fast_bundle):
    """Also before `start`: the init entered the namespace when it made it."""
    b = fast_bundle("sleep", "100").edit(new_time_ns)
    cid = glassrun.new_id("tnx")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    for when in ("created", "running"):
        r = glassrun("exec", cid, "cat", "/proc/self/timens_offsets")
        assert r.returncode == 0, (when, r.stderr)
        assert offsets_seen(r.stdout) == {"monotonic": (86400, 0), "boottime": (172800, 500)}, when
        if when == "created":
            assert glassrun("start", cid).returncode == 0


@pytest.mark.parametrize("edit,phrase", [
    (lambda c: c["linux"].__setitem__("timeOffsets", OFFSETS),
     "config.json: linux.timeOffsets: needs a new time namespace"),
    (lambda c: (c["linux"]["namespaces"].append({"type": "time", "path": "/proc/1/ns/time"}),
                c["linux"].__setitem__("timeOffsets", OFFSETS)),
     "config.json: linux.timeOffsets: must be empty when joining an existing time namespace"),
    (lambda c: new_time_ns(c, {"realtime": {"secs": 1}}),
     "config.json: linux.timeOffsets.realtime: unknown clock (monotonic or boottime)"),
    (lambda c: new_time_ns(c, {"boottime": {"secs": 1, "nanosecs": 1000000000}}),
     "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000"),
], ids=["no-time-ns", "joined", "unknown-clock", "nanosecs"])
def test_bad_time_offsets_are_refused_naming_the_field(glassrun, runc, fast_bundle, record_property, edit, phrase):
    """runc 1.1.5 ignores linux.timeOffsets (and refuses any time namespace):
    glassrun refuses as runc 1.2 does, before anything is made."""
    b = fast_bundle("true").edit(edit)
    if "timeOffsets" in b.config["linux"] and not any(n["type"] == "time" for n in b.config["linux"]["namespaces"]):
        # the accepted difference: runc 1.1.5 runs it (the others it refuses for the time namespace alone)
        r = run_under(runc, b, "tnb")
        record(record_property, "runc", r)
        assert r.returncode == 0, r.stderr
    cid = glassrun.new_id("tnb")
    r = glassrun("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"glassrun: run: {phrase}"), r.stderr
    assert not pathlib.Path(glassrun.root, cid).exists()


def test_offsets_the_kernel_refuses_fail_in_one_line_and_leave_nothing(glassrun, fast_bundle):
    """A monotonic offset further back than the clock itself: ERANGE from the
    timens_offsets write, in the init, after the cgroups and the init exist."""
    b = fast_bundle("true").edit(lambda c: new_time_ns(c, {"monotonic": {"secs": -10**12, "nanosecs": 0}}))
    cid = glassrun.new_id("tne")
    r = glassrun("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [
        'glassrun: run: init: linux.timeOffsets: write "monotonic -1000000000000 0" to /proc/self/timens_offsets: '
        "numerical result out of range"], r.stderr
    assert not pathlib.Path(glassrun.root, cid).exists()
    assert cgroup_dirs_named(cid) == []
    assert processes_mentioning(cid) == []
