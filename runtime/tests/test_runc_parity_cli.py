"""runc parity of the command line (issue 15): each test runs the same
commands against runc 1.1.5 and glassrun and compares what a caller sees
(exit codes, output, field order, cgroup files)."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, run
from test_terminal import recvtty  # noqa: F401 (fixture)

PAUSE = ("sleep", "100000")


@pytest.fixture
def runtimes(runc, glassrun):
    """runc first: it is the reference."""
    return {"runc": runc, "glassrun": glassrun}


def start(rt, bundle, prefix="par", extra=()):
    cid = rt.new_id(prefix)
    r = rt("run", "-d", *extra, "-b", bundle.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{rt.binary}: {r.stderr}"
    return cid


def each(runtimes, fn):
    """fn(rt) for runc and glassrun → {"runc": ..., "glassrun": ...}."""
    return {name: fn(rt) for name, rt in runtimes.items()}


def same(results):
    assert results["glassrun"] == results["runc"], results
    return results["runc"]


def wait_status(rt, cid, status):
    give_up = time.monotonic() + 60  # a hang bound, not a timing assertion
    while rt.state(cid)["status"] != status:
        assert time.monotonic() < give_up, f"{cid} never became {status}"
        time.sleep(0.05)


def cgroup_dir(rt, cid, controller):
    """The container's v1 cgroup directory for controller (from runc's state.json layout)."""
    return Path(rt.state_json(cid)["cgroup_paths"][controller])


def memory_cgroup_v1():
    if not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        pytest.skip("needs the cgroup v1 memory controller (the pure v2 path is tested in tools/v2guest)")


# ---- 1. exec and terminals -------------------------------------------------

def test_exec_without_tty_gets_no_terminal_whatever_the_config_says(runtimes, make_bundle, recvtty):
    b = make_bundle(*PAUSE, terminal=True)

    def go(rt):
        tty = recvtty("null")
        cid = start(rt, b, extra=("--console-socket", tty.sock))
        out = rt("exec", cid, "sh", "-c", "echo line; [ -t 0 ] || [ -t 1 ] && echo tty || echo no-tty")
        detached = rt("exec", "-d", cid, "true", stdin=subprocess.DEVNULL)
        return out.returncode, out.stdout, detached.returncode, detached.stderr

    assert same(each(runtimes, go)) == (0, "line\nno-tty\n", 0, "")


# ---- 2. exit codes ---------------------------------------------------------

EXEC_FAILURES = {
    "paused": lambda cid, tmp: (["exec", cid, "true"], True),
    "no-such-container": lambda cid, tmp: (["exec", "no-such-" + cid, "true"], False),
    "bad-pid-file": lambda cid, tmp: (["exec", "--pid-file", str(tmp / "no" / "dir" / "pid"), cid, "true"], False),
    "executable-not-found": lambda cid, tmp: (["exec", cid, "/no/such/binary"], False),
    "cwd-refused": lambda cid, tmp: (["exec", "--cwd", "/no/such/dir", cid, "true"], False),
    "no-command": lambda cid, tmp: (["exec", cid], False),
}


@pytest.mark.parametrize("case", sorted(EXEC_FAILURES))
def test_exec_failure_exits_255(runtimes, make_bundle, tmp_path, case):
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        args, paused = EXEC_FAILURES[case](cid, tmp_path)
        if paused:
            assert rt("pause", cid).returncode == 0
        r = rt(*args, stdin=subprocess.DEVNULL)
        if paused:
            rt("resume", cid)
        return r.returncode

    assert same(each(runtimes, go)) == 255


def test_exec_process_status_is_passed_through(runtimes, make_bundle):
    b = make_bundle(*PAUSE)
    assert same(each(runtimes, lambda rt: rt("exec", start(rt, b), "sh", "-c", "exit 1").returncode)) == 1


COMMANDS_ON_MISSING = [
    ["state"], ["start"], ["kill"], ["delete"], ["pause"], ["resume"], ["ps"], ["events", "--stats"],
    ["update", "--memory", "64M"],
]


@pytest.mark.parametrize("args", COMMANDS_ON_MISSING, ids=lambda a: a[0])
def test_runtime_side_failure_code(runtimes, args):
    assert same(each(runtimes, lambda rt: rt(*args, "no-such-container").returncode)) == 1


# ---- 4. JSON field order ---------------------------------------------------

STATE_ORDER = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"]


def test_state_and_list_field_order(runtimes, make_bundle):
    b = make_bundle(*PAUSE)
    b.edit(lambda c: c.__setitem__("annotations", {"org.example.k": "v"}))

    def go(rt):
        cid = start(rt, b)
        state = json.loads(rt("state", cid).stdout)
        listed = json.loads(rt("list", "--format", "json").stdout)
        return list(state), [list(s) for s in listed], listed[0]["owner"]

    assert same(each(runtimes, go)) == (STATE_ORDER, [STATE_ORDER], "root")


def shape(value):
    """Keys in order, recursively (values and list lengths left out)."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    return type(value).__name__


def wait_throttled(rt, cid):
    """Until the container's cpu.stat counts a throttled period and time
    spent throttled (v1): the kernel adds that time only when the period
    ends, so the first throttled period shows nr_throttled 1 and
    throttled_time 0 for up to 100 ms."""
    cpu_stat = cgroup_dir(rt, cid, "cpu") / "cpu.stat"
    give_up = time.monotonic() + 60  # a hang bound, not a timing assertion

    def zero(key):
        return dict(l.split() for l in cpu_stat.read_text().splitlines()).get(key, "0") == "0"

    while zero("nr_throttled") or zero("throttled_time"):
        assert time.monotonic() < give_up, cpu_stat.read_text()
        time.sleep(0.05)


def test_events_stats_prints_one_object_in_runcs_layout(runtimes, make_bundle):
    memory_cgroup_v1()
    # A busy loop under a 1 ms per 100 ms quota: throttled at once, so every
    # cpu.throttling counter is non-zero and printed (Go leaves zeros out).
    b = make_bundle("sh", "-c", "while :; do :; done")
    b.edit(lambda c: c["linux"].setdefault("resources", {}).__setitem__("cpu", {"quota": 1000, "period": 100000}))

    def go(rt):
        cid = start(rt, b)
        wait_throttled(rt, cid)
        r = rt("events", "--stats", cid)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 1, lines
        event = json.loads(lines[0])
        assert (event["type"], event["id"]) == ("stats", cid)
        data = event["data"]
        # memory.cache is the container's page cache, zero in one container
        # and not in another: Go leaves it out when zero, so it is checked
        # against its own raw counter (and its place, first) here and left
        # out of the comparison between the two runtimes.
        memory = list(data["memory"])
        assert ("cache" in memory) == (data["memory"]["raw"].get("cache", 0) != 0), data["memory"]
        assert "cache" not in memory or memory[0] == "cache", memory
        memory = [k for k in memory if k != "cache"]
        # Values differ between two containers, and Go leaves zero counters
        # out: compare the layout of the parts whose keys do not depend on
        # counters (every object's order is compared where keys are shared).
        return (list(event), list(data), shape(data["cpuset"]), memory,
                list(data["memory"]["usage"]), list(data["pids"]), list(data["cpu"]),
                list(data["cpu"]["throttling"]),
                [list(v) for v in data["hugetlb"].values()], sorted(data["hugetlb"]),
                data["intel_rdt"], data["network_interfaces"],
                sorted(data["memory"]["raw"]) == list(data["memory"]["raw"]))

    assert same(each(runtimes, go))[7] == ["periods", "throttledPeriods", "throttledTime"]


def events_lines(rt, cid, interval, path, until):
    """Runs `events --interval` until until(lines) or a hang bound; returns the lines."""
    with open(path, "w") as f:
        p = subprocess.Popen([rt.binary, "--root", rt.root, "events", "--interval", interval, cid], stdout=f,
                             stderr=subprocess.DEVNULL)
        try:
            give_up = time.monotonic() + 60  # a hang bound, not a timing assertion
            while not until(path.read_text().splitlines()) and time.monotonic() < give_up and p.poll() is None:
                time.sleep(0.05)
        finally:
            p.kill()
            p.wait()
    return [json.loads(l) for l in path.read_text().splitlines()]


def test_events_interval_takes_go_durations(runtimes, make_bundle, tmp_path):
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        began = time.monotonic()
        short = events_lines(rt, cid, "100ms", tmp_path / f"short-{cid}", lambda l: len(l) >= 3)
        took = time.monotonic() - began
        # An hour's interval prints nothing in the time 100ms printed three.
        long = events_lines(rt, cid, "1h", tmp_path / f"long-{cid}", lambda l, end=time.monotonic() + took + 1: time.monotonic() > end)
        bad_unit = rt("events", "--interval", "5", cid)
        zero = rt("events", "--interval", "0s", cid)
        return ([list(e) for e in short[:3]], [e["type"] for e in short[:3]], long, bad_unit.returncode,
                zero.returncode, "duration interval must be greater than 0" in zero.stderr)

    assert same(each(runtimes, go)) == ([["type", "id", "data"]] * 3, ["stats"] * 3, [], 1, 1, True)


def test_events_oom_is_exactly_type_and_id(runtimes, make_bundle, tmp_path):
    memory_cgroup_v1()
    # The init survives; a child fills memory and is OOM-killed.
    b = make_bundle("sh", "-c", "sleep 1; tail /dev/zero; sleep 100000")
    limit = 32 * 1024 * 1024
    b.edit(lambda c: c["linux"].setdefault("resources", {}).__setitem__("memory", {"limit": limit, "swap": limit}))

    def go(rt):
        cid = rt.new_id("oom")
        r = rt("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        out = tmp_path / f"events-{cid}"
        with open(out, "w") as f:
            ev = subprocess.Popen([rt.binary, "--root", rt.root, "events", "--interval", "1h", cid], stdout=f,
                                  stderr=subprocess.DEVNULL)
            try:
                assert rt("start", cid).returncode == 0
                give_up = time.monotonic() + 60  # a hang bound
                while '"oom"' not in out.read_text() and time.monotonic() < give_up:
                    time.sleep(0.1)
            finally:
                ev.kill()
                ev.wait()
        return [l.replace(cid, "<id>") for l in out.read_text().splitlines()][:1]

    assert same(each(runtimes, go)) == ['{"type":"oom","id":"<id>"}']


# ---- 6. update -------------------------------------------------------------

V1_FILES = {
    "cpu": ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"],
    "memory": ["memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes"],
    "pids": ["pids.max"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
}


def v1_values(rt, cid):
    out = {}
    for ctrl, files in V1_FILES.items():
        d = cgroup_dir(rt, cid, ctrl)
        for f in files:
            p = d / f
            out[f] = p.read_text().strip() if p.exists() else None
    return out


def test_update_flag_set_writes_what_runc_writes(runtimes, make_bundle):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        r = rt("update", "--cpu-share", "512", "--cpu-period", "200000", "--cpu-quota", "50000",
               "--memory", "64M", "--memory-reservation", "32m", "--memory-swap", "128MiB",
               "--pids-limit", "40", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--blkio-weight", "0",
               "--cpu-rt-period", "0", "--cpu-rt-runtime", "0", cid)
        assert r.returncode == 0, r.stderr
        return v1_values(rt, cid)

    values = same(each(runtimes, go))
    assert values["memory.limit_in_bytes"] == str(64 << 20) and values["pids.max"] == "40"


def test_update_leaves_values_not_given_as_the_kernel_has_them(runtimes, make_bundle):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        assert rt("update", "--pids-limit", "30", "--cpu-quota", "30000", cid).returncode == 0
        # Changed behind the runtime's back: an update of something else keeps it.
        (cgroup_dir(rt, cid, "pids") / "pids.max").write_text("25")
        assert rt("update", "--memory", "48M", cid).returncode == 0
        return v1_values(rt, cid)

    values = same(each(runtimes, go))
    assert values["pids.max"] == "25" and values["cpu.cfs_quota_us"] == "30000"


def test_update_memory_minus_one_alone_is_unlimited(runtimes, make_bundle):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)
    b.edit(lambda c: c["linux"].setdefault("resources", {}).__setitem__("memory", {"limit": 64 << 20, "swap": 64 << 20}))

    def go(rt):
        cid = start(rt, b)
        r = rt("update", "--memory", "-1", cid)
        return r.returncode, r.stderr, v1_values(rt, cid)["memory.limit_in_bytes"]

    code, err, limit = same(each(runtimes, go))
    assert code == 0 and int(limit) > 1 << 60


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_update_resources_from_file_or_stdin(runtimes, make_bundle, tmp_path, source):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)
    doc = json.dumps({"memory": {"limit": 40 << 20}, "pids": {"limit": 33}, "cpu": {"shares": 300}})
    f = tmp_path / "resources.json"
    f.write_text(doc)

    def go(rt):
        cid = start(rt, b)
        if source == "file":
            # Other flags are ignored with -r, as runc says.
            r = rt("update", "-r", f, "--pids-limit", "99", cid)
        else:
            r = rt("update", "-r", "-", cid, input=doc.encode())
        assert r.returncode == 0, r.stderr
        return v1_values(rt, cid)

    values = same(each(runtimes, go))
    assert (values["memory.limit_in_bytes"], values["pids.max"], values["cpu.shares"]) == (str(40 << 20), "33", "300")


UPDATE_ERRORS = {
    "period-refused": (["--cpu-period", "1"], "cpu.cfs_period_us: invalid argument"),
    "quota-refused": (["--cpu-quota", "1"], "cpu.cfs_quota_us: invalid argument"),
    "shares-clamped": (["--cpu-share", "1"], "the minimum allowed cpu-shares is 2"),
    "swap-below-memory": (["--memory", "5M", "--memory-swap", "4M"], "memory.memsw.limit_in_bytes: invalid argument"),
    "bad-size": (["--memory", "abc"], "invalid value for memory: invalid size: 'abc'"),
    "bad-number": (["--cpu-period", "abc"], "invalid value for cpu-period"),
    "l3-not-enabled": (["--l3-cache-schema", "L3:0=f"], "Intel RDT/CAT: l3 cache schema is not enabled"),
    "missing-file": (["-r", "/no/such/file"], "open /no/such/file: no such file or directory"),
}


@pytest.mark.parametrize("case", sorted(UPDATE_ERRORS))
def test_update_errors_in_runcs_words(runtimes, make_bundle, case):
    memory_cgroup_v1()
    if case == "l3-not-enabled" and Path("/sys/fs/resctrl/info/L3").exists():
        pytest.skip("this machine has Intel RDT/CAT")
    b = make_bundle(*PAUSE)
    args, words = UPDATE_ERRORS[case]

    def go(rt):
        r = rt("update", *args, start(rt, b))
        return r.returncode, words in r.stderr

    assert same(each(runtimes, go)) == (1, True)


def test_update_kernel_memory_is_ignored_with_a_warning(runtimes, make_bundle):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)

    def go(rt):
        r = rt("update", "--kernel-memory", "10M", "--kernel-memory-tcp", "1M", start(rt, b))
        return r.returncode, "Kernel memory settings are ignored" in r.stderr

    assert same(each(runtimes, go)) == (0, True)


def test_update_never_writes_device_rules(runtimes, make_bundle, tmp_path):
    memory_cgroup_v1()
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        trace = tmp_path / f"strace-{cid}"
        r = run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace,
                 rt.binary, "--root", rt.root, "update", "--memory", "64M", "--pids-limit", "50", cid])
        assert r.returncode == 0, r.stderr
        written = [l for l in trace.read_text().splitlines()
                   if re.search(r"devices\.(allow|deny)", l) and ("O_WRONLY" in l or "O_RDWR" in l)]
        return written

    assert same(each(runtimes, go)) == []


# ---- 7. run --keep ---------------------------------------------------------

def test_run_keep_leaves_the_stopped_container_and_its_cgroup(runtimes, make_bundle):
    b = make_bundle("sh", "-c", "exit 3")

    def go(rt):
        cid = rt.new_id("keep")
        r = rt("run", "--keep", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        status = rt.state(cid)["status"]
        kept_cgroups = bool(cgroup_dirs_named(cid))
        deleted = rt("delete", cid).returncode
        return r.returncode, status, kept_cgroups, deleted, cgroup_dirs_named(cid), rt("state", cid).returncode

    assert same(each(runtimes, go)) == (3, "stopped", True, 0, [], 1)


# ---- 8. kill ---------------------------------------------------------------

def test_kill_signal_numbers_and_names(runtimes, make_bundle):
    # A pid-1 sleep ignores the signals it has no handler for: it stays running.
    b = make_bundle(*PAUSE)
    signals = ["0", "10", "64", "usr1", "USR1", "SIGUSR1", "sigusr1", "Usr2", "99", "9x", "NOPE", "SIGRT"]

    def go(rt):
        cid = start(rt, b)
        out = []
        for s in signals:
            r = rt("kill", cid, s)
            out.append((s, r.returncode, "unknown signal" in r.stderr))
        out.append(rt.state(cid)["status"])
        return out

    results = same(each(runtimes, go))
    assert results[0] == ("0", 0, False) and results[-1] == "running"


def test_kill_all_on_a_stopped_container(runtimes, make_bundle):
    b = make_bundle(*PAUSE)

    def go(rt):
        cid = start(rt, b)
        assert rt("kill", cid, "KILL").returncode == 0
        wait_status(rt, cid, "stopped")
        return (rt("kill", "--all", cid, "KILL").returncode, rt("kill", "-a", cid, "0").returncode,
                rt("kill", cid, "0").returncode)

    assert same(each(runtimes, go)) == (0, 0, 1)
