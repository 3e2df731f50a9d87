"""Cgroups end to end with real containers: where the cgroups go (compared with
runc), limits that bite (memory, pids, cpu, devices), pause/resume, update,
ps, events, kill --all, and that delete leaves no cgroup behind."""
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, run

CG = Path("/sys/fs/cgroup")
V2 = (CG / "cgroup.controllers").exists()  # pure v2; else v1 or hybrid

# (v1 controller, v1 file, v2 file) for each limit the tests read.
FILES = {
    "memory.limit": ("memory", "memory.limit_in_bytes", "memory.max"),
    "memory.swap": ("memory", "memory.memsw.limit_in_bytes", "memory.swap.max"),
    "pids.max": ("pids", "pids.max", "pids.max"),
    "pids.current": ("pids", "pids.current", "pids.current"),
    "cpu.quota": ("cpu", "cpu.cfs_quota_us", None),
    "cpu.period": ("cpu", "cpu.cfs_period_us", None),
    "procs": ("pids", "cgroup.procs", "cgroup.procs"),
    "freezer": ("freezer", "freezer.state", "cgroup.freeze"),
}


def cg_path(rt, cid, what):
    paths = rt.state_json(cid)["cgroup_paths"]
    ctrl, v1file, v2file = FILES[what]
    return Path(paths[""], v2file) if V2 else Path(paths[ctrl], v1file)


def cg_read(rt, cid, what):
    return cg_path(rt, cid, what).read_text().strip()


def poll(fn, tries=300, delay=0.05):
    """fn() until truthy; returns its last value (bounded by tries, not by a clock)."""
    v = None
    for _ in range(tries):
        v = fn()
        if v:
            return v
        time.sleep(delay)
    return v


def status(rt, cid):
    r = rt("state", cid)
    return json.loads(r.stdout)["status"] if r.returncode == 0 else None


def writable(bundle, resources=None, devices=None):
    """A bundle whose rootfs is writable, with linux.resources entries merged in."""
    def edit(c):
        c["root"]["readonly"] = False
        if resources:
            c["linux"].setdefault("resources", {}).update(resources)
        if devices:
            c["linux"].setdefault("devices", []).extend(devices)
    return bundle.edit(edit)


def started(rt, bundle, cid):
    r = rt("create", "-b", bundle.path, cid)
    assert r.returncode == 0, r.stderr
    r = rt("start", cid)
    assert r.returncode == 0, r.stderr
    return rt.state(cid)["pid"]


def pid_alive(pid):
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"


# ---- cgroupsPath: the same paths as runc, and gone after delete ----------------

def remove_cgroup_tree(name):
    """Best-effort rmdir of /sys/fs/cgroup/*/<name> and what is under it (the
    parents runc leaves; a test's finalizer)."""
    for top in CG.iterdir():
        base = top / name
        if not base.is_dir():
            continue
        for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                d.rmdir()
            except OSError:
                pass
        try:
            base.rmdir()
        except OSError:
            pass


@pytest.mark.parametrize("variant", ["absent", "relative", "absolute", "nested"])
def test_cgroups_path_same_as_runc_and_removed(glassrun, runc, make_bundle, request, variant):
    u = uuid.uuid4().hex[:8]
    cgroups_path, top = {
        "absent": (None, None),
        "relative": (f"glassrun-test/{u}", "glassrun-test"),
        "absolute": (f"/glassrun-test-{u}/c", f"glassrun-test-{u}"),
        "nested": (f"/a-{u}/b/c", f"a-{u}"),
    }[variant]
    if top:
        # runc leaves the parents it made; relative paths sit under our own cgroups.
        def cleanup():
            remove_cgroup_tree(top)
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                own = line.split(":", 2)[2].lstrip("/")
                if own:
                    remove_cgroup_tree(f"{own}/{top}")
        request.addfinalizer(cleanup)
    b = make_bundle("sleep", "1000")
    if cgroups_path:
        b.edit(lambda c: c["linux"].__setitem__("cgroupsPath", cgroups_path))

    before = {str(p) for p in CG.glob("*/*")} | {str(p) for p in CG.glob("*/*/*")}
    found = {}
    for rt in (glassrun, runc):  # one after the other: explicit paths are the same cgroups
        cid = rt.new_id("cgp")
        r = rt("create", "-b", b.path, cid)
        assert r.returncode == 0, r.stderr
        paths = rt.state_json(cid)["cgroup_paths"]
        assert paths, "state.json has no cgroup_paths"
        for p in paths.values():
            assert Path(p).is_dir(), f"{rt.binary}: {p} not made"
        found[rt.binary] = (cid, paths)
        r = rt("delete", "--force", cid)
        assert r.returncode == 0, r.stderr
        for p in paths.values():
            assert not Path(p).exists(), f"{rt.binary}: {p} left after delete"
            # Parents that were there before the container are still there.
            for parent in Path(p).parents:
                if str(parent) in before:
                    assert parent.is_dir(), f"{rt.binary} removed {parent}, which it did not make"
        assert cgroup_dirs_named(cid) == []

    (gid, gpaths), (rid, rpaths) = found[glassrun.binary], found[runc.binary]
    if cgroups_path:
        assert gpaths == rpaths
        for p in gpaths.values():
            assert p.endswith(cgroups_path.lstrip("/")), p
    else:
        assert {k: v.replace(gid, "ID") for k, v in gpaths.items()} == \
               {k: v.replace(rid, "ID") for k, v in rpaths.items()}
        for p in gpaths.values():
            assert p.endswith("/" + gid), p


# ---- limits that bite ----------------------------------------------------------

def test_memory_limit_oom_kills_and_events_reports_it(glassrun, make_bundle):
    limit = 16 << 20
    b = writable(make_bundle("sleep", "1000"), {"memory": {"limit": limit, "swap": limit}})
    cid = glassrun.new_id("oom")
    started(glassrun, b, cid)
    assert int(cg_read(glassrun, cid, "memory.limit")) == limit
    if not V2 and cg_path(glassrun, cid, "memory.swap").exists():
        assert int(cg_read(glassrun, cid, "memory.swap")) == limit

    with tempfile.TemporaryFile() as out:
        events = subprocess.Popen([glassrun.binary, "--root", glassrun.root, "events", "--interval", "1s", cid],
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            # events is running (it printed nothing yet, or a stats line) before the allocation.
            assert poll(lambda: events.poll() is None or None, tries=5), "events exited early"
            r = glassrun("exec", cid, "sh", "-c", "x=$(head -c 64m /dev/zero | tr '\\0' x); echo survived ${#x}")
            assert "survived" not in r.stdout, r.stdout[-200:]
            assert r.returncode == 137, (r.returncode, r.stderr)

            def oom_lines():
                out.seek(0)
                lines = [json.loads(l) for l in out.read().decode().splitlines() if l.startswith("{")]
                return [e for e in lines if e.get("type") == "oom"]
            got = poll(oom_lines, tries=100)
            out.seek(0)
            assert got, f"no oom event; events printed: {out.read().decode()[-2000:]}"
            assert got[0]["id"] == cid
        finally:
            events.kill()
            events.wait()
    # The container's init (sleep) was not the one killed.
    assert status(glassrun, cid) == "running"


def test_events_reports_oom_that_kills_the_init(glassrun, make_bundle):
    """The init itself is OOM-killed, so the container stops right after: events
    must still print the oom line before it exits."""
    limit = 16 << 20
    b = make_bundle("sh", "-c", "x=$(head -c 64m /dev/zero | tr '\\0' x); echo survived").edit(
        lambda c: c["linux"]["resources"].update({"memory": {"limit": limit, "swap": limit}}))
    cid = glassrun.new_id("oominit")
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr
    with tempfile.TemporaryFile() as out:
        events = subprocess.Popen([glassrun.binary, "--root", glassrun.root, "events", "--interval", "1s", cid],
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            assert glassrun("start", cid).returncode == 0
            assert poll(lambda: status(glassrun, cid) == "stopped", tries=600)
            rc = events.wait(timeout=30)  # events ends with the container
            out.seek(0)
            text = out.read().decode()
        finally:
            events.kill()
            events.wait()
    assert rc == 0, text
    types = [json.loads(l)["type"] for l in text.splitlines() if l.startswith("{")]
    assert "oom" in types, text[-2000:]


def test_pids_limit_stops_fork_loop(glassrun, make_bundle):
    # ash gives up on the first failed fork: the loop runs in a subshell.
    b = writable(make_bundle("sh", "-c", "(for i in $(seq 50); do sleep 30 & done) 2>/tmp/err; "
                                          "echo done > /tmp/done; exec sleep 1000"),
                 {"pids": {"limit": 10}})
    cid = glassrun.new_id("pids")
    started(glassrun, b, cid)
    assert cg_read(glassrun, cid, "pids.max") == "10"
    done = b.path / "rootfs" / "tmp" / "done"
    assert poll(done.exists, tries=400), "the loop did not finish"
    err = (b.path / "rootfs" / "tmp" / "err").read_text()
    assert "can't fork" in err or "Resource temporarily unavailable" in err, err
    current = int(cg_read(glassrun, cid, "pids.current"))
    assert 1 <= current <= 10, current
    # The kernel refused forks: pids.events counts them (v1 and v2 alike).
    events = cg_path(glassrun, cid, "pids.max").with_name("pids.events")
    if events.exists():
        assert int(events.read_text().split()[1]) > 0


def test_cpu_quota_in_cgroup_files_and_inside(glassrun, make_bundle):
    b = make_bundle("sleep", "1000").edit(
        lambda c: c["linux"].setdefault("resources", {}).update({"cpu": {"quota": 50000, "period": 200000}}))
    cid = glassrun.new_id("cpu")
    started(glassrun, b, cid)
    if V2:
        assert cg_path(glassrun, cid, "procs").with_name("cpu.max").read_text().split() == ["50000", "200000"]
        inside = "cat /sys/fs/cgroup/cpu.max"
        want = "50000 200000"
    else:
        assert cg_read(glassrun, cid, "cpu.quota") == "50000"
        assert cg_read(glassrun, cid, "cpu.period") == "200000"
        # The default spec mounts /sys/fs/cgroup: each hierarchy shows the container's own cgroup.
        inside = "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
        want = "50000 200000"
    r = glassrun("exec", cid, "sh", "-c", inside)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == want


@pytest.mark.parametrize("allowed", [False, True], ids=["denied", "allowed"])
def test_device_rules(glassrun, make_bundle, allowed):
    dev = {"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237, "fileMode": 0o600, "uid": 0, "gid": 0}
    resources = {"devices": [{"allow": False, "access": "rwm"}]}
    if allowed:
        resources["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 237, "access": "rw"})
    b = make_bundle("sh", "-c", "echo x > /dev/null || echo NULL-REFUSED; "
                                "if : < /dev/loop-control; then echo OPENED; fi")
    b.edit(lambda c: (c["linux"].setdefault("devices", []).append(dev),
                      c["linux"].__setitem__("resources", resources)))
    r = glassrun("run", "-b", b.path, glassrun.new_id("dev"))
    assert "NULL-REFUSED" not in r.stdout, r.stdout + r.stderr  # /dev/null: allowed by default
    if allowed:
        assert "OPENED" in r.stdout, r.stdout + r.stderr
    else:
        assert "OPENED" not in r.stdout
        assert "Operation not permitted" in r.stdout + r.stderr, r.stdout + r.stderr


# ---- pause / resume -------------------------------------------------------------

def test_pause_stops_counter_and_resume_restarts_it(glassrun, make_bundle):
    b = writable(make_bundle("sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/c; sleep 0.1; done"))
    cid = glassrun.new_id("pause")
    pid = started(glassrun, b, cid)
    counter = Path(f"/proc/{pid}/root/tmp/c")

    def value():
        try:
            t = counter.read_text().strip()
            return int(t) if t else None
        except (OSError, ValueError):
            return None

    assert poll(lambda: (value() or 0) >= 3), "the counter does not count"
    r = glassrun("pause", cid)
    assert r.returncode == 0, r.stderr
    try:
        assert status(glassrun, cid) == "paused"
        if V2:
            assert cg_read(glassrun, cid, "freezer") == "1"
        else:
            assert cg_read(glassrun, cid, "freezer") == "FROZEN"
        frozen = value()
        # ~1 s of sampling while frozen: the value never moves.
        for _ in range(10):
            time.sleep(0.1)
            assert value() == frozen
        r = glassrun("pause", cid)
        assert r.returncode != 0  # already paused: runc says "container not running"
    finally:
        r = glassrun("resume", cid)
    assert r.returncode == 0, r.stderr
    assert status(glassrun, cid) == "running"
    assert poll(lambda: (value() or 0) > frozen + 2), "the counter did not resume"
    r = glassrun("resume", cid)
    assert r.returncode != 0 and "not paused" in r.stderr


# ---- update -------------------------------------------------------------------------

def test_update_changes_limits_of_running_container(glassrun, make_bundle, tmp_path):
    b = make_bundle("sleep", "1000")
    cid = glassrun.new_id("upd")
    started(glassrun, b, cid)

    r = glassrun("update", "--memory", "64m", cid)
    assert r.returncode == 0, r.stderr
    assert int(cg_read(glassrun, cid, "memory.limit")) == 64 << 20
    r = glassrun("update", "--pids-limit", "20", cid)
    assert r.returncode == 0, r.stderr
    assert cg_read(glassrun, cid, "pids.max") == "20"
    assert int(cg_read(glassrun, cid, "memory.limit")) == 64 << 20  # the earlier update stays

    f = tmp_path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 32 << 20}, "pids": {"limit": 30}}))
    r = glassrun("update", "-r", f, cid)
    assert r.returncode == 0, r.stderr
    assert int(cg_read(glassrun, cid, "memory.limit")) == 32 << 20
    assert cg_read(glassrun, cid, "pids.max") == "30"

    r = glassrun("update", "-r", "-", cid, input=json.dumps({"pids": {"limit": 40}}).encode())
    assert r.returncode == 0, r.stderr
    assert cg_read(glassrun, cid, "pids.max") == "40"
    assert int(cg_read(glassrun, cid, "memory.limit")) == 32 << 20

    r = glassrun("update", "-r", "-", cid, input=b"{not json")
    assert r.returncode != 0 and r.stderr
    assert cg_read(glassrun, cid, "pids.max") == "40"


# ---- ps, events --stats, kill --all, delete ------------------------------------------------

def test_ps_json_and_table(glassrun, make_bundle):
    b = make_bundle("sh", "-c", "sleep 1000 & exec sleep 1001")
    cid = glassrun.new_id("ps")
    pid = started(glassrun, b, cid)
    procs = lambda: [int(p) for p in cg_read(glassrun, cid, "procs").split()]
    assert poll(lambda: len(procs()) >= 2)
    r = glassrun("ps", "--format", "json", cid)
    assert r.returncode == 0, r.stderr
    pids = json.loads(r.stdout)
    assert isinstance(pids, list) and pid in pids
    assert sorted(pids) == sorted(procs())

    r = glassrun("ps", cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = lines[0].split()
    assert "PID" in header
    col = header.index("PID")
    assert sorted(int(l.split()[col]) for l in lines[1:]) == sorted(pids)


def test_events_stats_once(glassrun, make_bundle):
    b = make_bundle("sh", "-c", "sleep 1000 & exec sleep 1001")
    cid = glassrun.new_id("ev")
    started(glassrun, b, cid)
    r = glassrun("events", "--stats", cid, timeout=20)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    e = json.loads(lines[0])
    assert e["type"] == "stats" and e["id"] == cid
    data = e["data"]
    for k in ("cpu", "memory", "pids"):
        assert k in data, data.keys()
    assert data["pids"]["current"] >= 1
    assert data["memory"]["usage"]["usage"] > 0
    assert data["cpu"]["usage"]["total"] > 0


def test_kill_all_kills_every_process(glassrun, make_bundle):
    b = make_bundle("sh", "-c", "sleep 1000 & sleep 1001 & sleep 1002 & wait")
    cid = glassrun.new_id("killall")
    started(glassrun, b, cid)
    procs = lambda: [int(p) for p in cg_read(glassrun, cid, "procs").split()]
    pids = poll(lambda: len(procs()) >= 4 and procs())
    assert pids and len(pids) >= 4, pids
    r = glassrun("kill", "--all", cid, "KILL")
    assert r.returncode == 0, r.stderr
    assert poll(lambda: not any(pid_alive(p) for p in pids)), [p for p in pids if pid_alive(p)]
    assert poll(lambda: procs() == []), procs()
    assert poll(lambda: status(glassrun, cid) == "stopped")
    r = glassrun("delete", cid)
    assert r.returncode == 0, r.stderr
    assert cgroup_dirs_named(cid) == []


def test_delete_leaves_no_cgroup(glassrun, make_bundle):
    b = make_bundle("sleep", "1000").edit(lambda c: c["linux"].setdefault("resources", {}).update(
        {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}, "cpu": {"quota": 50000, "period": 100000}}))
    cid = glassrun.new_id("del")
    started(glassrun, b, cid)
    dirs = cgroup_dirs_named(cid)
    assert dirs, "no cgroup directory named after the container"
    r = glassrun("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert cgroup_dirs_named(cid) == []
    assert not any(Path(d).exists() for d in dirs)
