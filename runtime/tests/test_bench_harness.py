"""The benchmarks' harness: their own process starter (bench/spawn/bench_spawn.c:
what the concurrent figure's batch mode reports, since the figure is computed
from it), their statistics, tracer_cost's figures and pooling, and what a
refused benchmark leaves behind."""
import json
import os
import sys
import time

import pytest

from conftest import BUILD, REPO, run

SPAWN = BUILD / "bench" / "bench_spawn"


@pytest.fixture
def spawn():
    if not SPAWN.exists():
        pytest.fail(f"{SPAWN} is not built (`make build` builds it)")
    return SPAWN


def batch(spawn, tmp_path, commands):
    """bench_spawn --batch of the commands (tab-separated lines); its result,
    the batch's wall time and a row of numbers per command."""
    cmds = tmp_path / "cmds"
    cmds.write_text(commands)
    out = tmp_path / "out"
    r = run([spawn, "--batch", out, cmds])
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    return r, int(lines[0]), [[int(x) for x in line.split()] for line in lines[1:]]


def test_batch_starts_every_command_and_reports_each_exit(spawn, tmp_path):
    r, wall_ns, rows = batch(spawn, tmp_path, "/bin/true\n/bin/false\n/bin/sh\t-c\texit 3\n"
                                              "/bin/sh\t-c\techo out; echo err >&2\n")
    assert r.stdout == ""  # the commands' stdout is /dev/null
    assert r.stderr == "err\n"  # their stderr is the caller's
    assert wall_ns > 0
    assert len(rows) == 4, rows
    assert sorted(r[3] for r in rows) == [0, 0, 1 << 8, 3 << 8]  # wait statuses, in the order they ended
    assert all(r[2] > 0 for r in rows)  # peak RSS of each


def test_batch_with_a_command_that_cannot_start(spawn, tmp_path):
    r, _, rows = batch(spawn, tmp_path, "/nonexistent/runtime\trun\n/bin/true\n")
    assert "/nonexistent/runtime" in r.stderr
    assert sorted(row[3] for row in rows) == [0, 127 << 8]


def test_the_concurrent_figure_fails_loudly_when_a_run_fails(spawn, tmp_path):
    """lifecycle.fig_concurrent through the batch: a runtime whose `run`
    fails makes the figure raise with its message, not report a rate."""
    sys.path.insert(0, str(REPO / "bench"))
    import lifecycle as lc

    lc.SPAWN = str(spawn)
    failing = lc.Runtime("false", "/bin/false", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"false: 4/4 concurrent runs failed: exit status 256"):
        lc.fig_concurrent(failing, str(tmp_path), 4)
    ok = lc.Runtime("true", "/bin/true", str(tmp_path))
    r = lc.fig_concurrent(ok, str(tmp_path), 4)
    assert r["per_s"] > 0 and r["wall"] > 0 and r["rss"] > 0


def test_ratios_carry_a_confidence_interval_of_their_median():
    """Every summarized figure (lifecycle.summarize: the paired ratios of
    both benchmarks) carries a distribution-free 95 % interval of its
    median, the order statistics x(k) and x(n+1-k) of the binomial rule, and
    the tables print it next to the median."""
    sys.path.insert(0, str(REPO / "bench"))
    import math

    import lifecycle as lc

    # The textbook ranks: n=20 -> 6th and 15th, n=40 -> 14th and 27th.
    assert lc.summarize([x / 10 for x in range(20, 0, -1)])["median_ci95"] == (0.6, 1.5)
    assert lc.summarize(list(range(1, 41)))["median_ci95"] == (14, 27)
    assert lc.summarize([3, None, 1, 2, 5, 4])["median_ci95"] is None  # 5 samples: no interval reaches 95 %
    assert lc.summarize([1, 2, 3, 4, 5, 6])["median_ci95"] == (1, 6)
    for n in (6, 12, 25, 40, 61):
        lo, hi = lc.summarize(list(range(1, n + 1)))["median_ci95"]
        assert hi == n + 1 - lo
        outside = sum(math.comb(n, i) for i in range(lo)) / 2 ** n  # P(median < x(lo))
        assert 2 * outside <= 0.05 < 2 * (outside + math.comb(n, lo) / 2 ** n), n  # the narrowest that covers 95 %
    assert lc.with_ci(lc.summarize([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]), 3) == "1.300 [1.000-1.600]"
    assert lc.with_ci(lc.summarize([1.0, 1.1])) == "1.05"
    assert lc.with_ci(None) == "-"


def test_tracer_cost_runs_only_the_figures_asked_for(tmp_path):
    """`bench/tracer_cost.py --figures syscall` (an A/B of tracer builds on
    one figure) measures that figure alone: no loop of any runtime and no
    attach samples, each tracer variant and its session in the result."""
    tracer = BUILD / "tracer" / "glasstrace"
    if not (BUILD / "bench" / "bench_syscall_loop").exists() or not tracer.exists():
        pytest.fail("bench_syscall_loop or glasstrace is not built (`make build` builds them)")
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py",
             "--glassrun", BUILD / "runtime" / "glassrun", "--glasstrace", f"a={tracer}", f"b={tracer}",
             "--figures", "syscall", "--syscall-rounds", "1", "--results", tmp_path], timeout=300)
    assert r.returncode == 0, r.stderr
    [result] = [json.loads(p.read_text()) for p in tmp_path.glob("tracer-cost-*.json")]
    assert set(result["samples"]) == {"syscall"}
    assert set(result["samples"]["syscall"]) == {"untraced", "a", "b", "a+session", "b+session", "raw_tp floor"}
    assert all(len(v) == 1 and v[0]["wall"] > 0 for v in result["samples"]["syscall"].values())


def test_tracer_cost_takes_the_start_out_of_a_loop_per_run():
    """tracer_cost.analyze: a loop's "per run" ratio is its extra less the
    start figure's median extra, over its untraced time less the start's
    median untraced time, round by round; none without start samples."""
    sys.path.insert(0, str(REPO / "bench"))
    import tracer_cost as tc

    def walls(*ms):
        return [{"wall": x / 1e3, "cpu": x / 1e3, "rss": 1} for x in ms]

    result = {"samples": {
        "loop_glassrun": {"untraced": walls(200, 210, 190), "s": walls(220, 231, 210), "t": walls(230, 240, 220)},
        "start": {"untraced": walls(10, 9, 11), "s": walls(15, 13, 16)},
    }}
    tc.analyze(result)
    loop = result["summary"]["loop_glassrun"]
    # start: extra 5, 4, 5 -> median 5 ms; untraced median 10 ms
    want = [1 + (20 - 5) / (200 - 10), 1 + (21 - 5) / (210 - 10), 1 + (20 - 5) / (190 - 10)]
    assert loop["s"]["per_run"]["median"] == pytest.approx(sorted(want)[1])
    assert loop["s"]["ratio"]["median"] == pytest.approx(1.1)  # the whole loop's, unchanged
    assert loop["t"]["per_run"] is None  # no start samples of this variant
    assert "per_run" not in result["summary"]["start"]["s"]


def test_tracer_cost_pools_the_rounds_of_several_results(tmp_path, monkeypatch):
    """`tracer_cost.py --pool A B`: the paired rounds of several results
    taken together, figure by figure and variant by variant (those every
    result has), analysed as one run; the build's sources that changed
    between the results' commits named with it; results of different loop
    lengths refused."""
    sys.path.insert(0, str(REPO / "bench"))
    import tracer_cost as tc

    repo = tmp_path / "repo"
    (repo / "runtime" / "src").mkdir(parents=True)
    (repo / "docs").mkdir()

    def commit(path, text):
        (repo / path).write_text(text)
        for argv in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", path]):
            run(["git", "-C", repo, *argv], check=True)
        return run(["git", "-C", repo, "rev-parse", "HEAD"], check=True).stdout.strip()

    run(["git", "init", "-q", repo], check=True)
    first = commit("runtime/src/a.cpp", "int a;\n")
    docs_only = commit("docs/x.md", "words\n")
    code = commit("runtime/src/a.cpp", "int a = 1;\n")
    monkeypatch.setattr(tc.lc, "REPO", str(repo))

    def walls(*ms):
        return [{"wall": x / 1e3, "cpu": x / 1e3, "rss": 1} for x in ms]

    def result(name, commit_, traced, extra_variant=False, loop=20):
        loop_samples = {"untraced": walls(100, 100, 100), "s": walls(*traced)}
        if extra_variant:
            loop_samples["t"] = walls(200, 200, 200)
        r = {"settings": {"rounds": 3, "loop": loop, "attach_samples": 0}, "machine": {"loadavg_at_start": [0.1, 0, 0]},
             "build": {"commit": commit_, "dirty": False},
             "samples": {"loop_glassrun": loop_samples, "start": {"untraced": walls(10, 10, 10), "s": walls(14, 14, 14)}}}
        (tmp_path / name).write_text(json.dumps(r))
        return str(tmp_path / name)

    a = result("a.json", first, [110, 120, 130])
    b = result("b.json", docs_only, [140, 150, 160], extra_variant=True)
    pooled = tc.pool([a, b])
    loop = pooled["summary"]["loop_glassrun"]
    assert set(loop) == {"untraced_ms", "s"}  # "t" is in one result only
    assert loop["s"]["ratio"]["n"] == 6 and loop["s"]["ratio"]["median"] == pytest.approx(1.35)
    # per run: extra less the start's 4 ms over 100 less its 10 ms, round by round
    assert loop["s"]["per_run"]["median"] == pytest.approx(1 + (35 - 4) / 90)
    assert pooled["settings"]["rounds"] == 6 and pooled["source_changes"] == []
    head = tc.table(pooled).splitlines()[0]
    assert f"a.json ({first[:7]}), b.json ({docs_only[:7]})" in head and "6 rounds of 20 runs" in head
    assert head.endswith("between the first and last commit: none")

    c = result("c.json", code, [110, 110, 110])
    assert tc.pool([a, b, c])["source_changes"] == ["runtime/src/a.cpp"]
    assert tc.table(tc.pool([a, c])).splitlines()[0].endswith(": runtime/src/a.cpp")

    with pytest.raises(SystemExit, match="no commit recorded in d.json"):
        tc.pool([a, result("d.json", None, [110, 110, 110])])
    with pytest.raises(SystemExit, match="loops differ in length"):
        tc.pool([a, result("d.json", first, [110, 110, 110], loop=10)])
    # the command line (in this repository): the table of the pool, no benchmark run
    head = run(["git", "-C", REPO, "rev-parse", "HEAD"], check=True).stdout.strip()
    e, f = result("e.json", head, [110, 120, 130]), result("f.json", head, [140, 150, 160])
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py", "--pool", e, f])
    assert r.returncode == 0, r.stderr
    assert f"pooled: e.json ({head[:7]}), f.json ({head[:7]})" in r.stdout and "1.350 [" in r.stdout
    # commits it does not know: one line naming the call, no table
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py", "--pool", a, b])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"tracer_cost: --pool: git diff {first[:10]} {docs_only[:10]}: fatal:"), r.stderr
    # no git to ask: the same one line
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py", "--pool", a, b], env=dict(os.environ, PATH="/nonexistent"))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"tracer_cost: --pool: git diff {first[:10]} {docs_only[:10]}: cannot execute git: No such file or directory\n"


@pytest.mark.parametrize("script, args, refusal, prefix", [
    ("tracer_cost.py", ["--glasstrace", "/nonexistent/glasstrace"], "/nonexistent/glasstrace not executable",
     "glassrun-tracer-cost-"),
    ("lifecycle.py", ["--only", "nosuch"], "lifecycle: no runtime found", "glassrun-bench-"),
])
def test_a_refused_benchmark_leaves_no_scratch_directory(tmp_path, script, args, refusal, prefix):
    """A benchmark that refuses its arguments after making its directory of
    bundles and state roots says why, exits non-zero and removes it."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = run([sys.executable, REPO / "bench" / script, "--glassrun", BUILD / "runtime" / "glassrun", *args,
             "--results", tmp_path / "results"], env=env, timeout=120)
    assert r.returncode != 0 and refusal in r.stderr, r.stderr
    assert list(tmp_path.glob(prefix + "*")) == []


def test_a_benchmark_that_cannot_make_its_scratch_directory_says_so_in_one_line(tmp_path):
    """mkdir(2) failing (strace's fault injection): the benchmark names the
    call, the directory and the error in one line, exits non-zero and has
    written no result."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "inject=mkdir:error=ENOSPC",
             sys.executable, REPO / "bench" / "tracer_cost.py", "--glassrun", BUILD / "runtime" / "glassrun",
             "--figures", "syscall", "--results", tmp_path / "results"], env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    assert r.stderr == f"bench: mkdir {tmp_path}/glassrun-tracer-cost-...: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_raw_tp_floor_runs_the_command_with_empty_syscall_programs_attached():
    """bench_raw_tp_floor (tracer_cost.py's "raw_tp floor" variant): while
    its command runs, its two programs sit on the raw sys_enter and sys_exit
    tracepoints; it exits with the command's status and leaves nothing
    attached."""
    floor = BUILD / "bench" / "bench_raw_tp_floor"
    if not floor.exists():
        pytest.fail(f"{floor} is not built (`make build` builds it)")
    r = run([floor, "sh", "-c", "bpftool prog show; exit 3"])
    assert r.returncode == 3, r.stderr
    ids = {line.split(":")[0] for line in r.stdout.splitlines() if "name floor_sys_" in line}
    assert len(ids) >= 2, r.stdout  # floor_sys_enter and floor_sys_exit (and any other run's)
    # freed once their last reference goes, after an RCU grace period
    deadline = time.monotonic() + 10
    while ids & {line.split(":")[0] for line in run(["bpftool", "prog", "show"]).stdout.splitlines()}:
        assert time.monotonic() < deadline, f"programs {ids} still loaded after the command exited"
        time.sleep(0.1)
    r = run([floor, "/nonexistent/command"])
    assert r.returncode == 127 and "/nonexistent/command" in r.stderr


def test_tracer_cost_bpf_figure_gives_each_session_program_its_run_time(tmp_path):
    """`--figures bpf`: traced loops through each tracer's session with the
    kernel's BPF run-time statistics on, and per program of the session
    its ns per run and runs per loop; the statistics are held on by an fd
    of the benchmark's own, so kernel.bpf_stats_enabled is as it was."""
    tracer = BUILD / "tracer" / "glasstrace"
    if not tracer.exists():
        pytest.fail("glasstrace is not built (`make build` builds it)")
    sysctl = "/proc/sys/kernel/bpf_stats_enabled"
    before = open(sysctl).read()
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py", "--glassrun", BUILD / "runtime" / "glassrun",
             "--glasstrace", f"a={tracer}", f"b={tracer}", "--only", "glassrun", "--figures", "bpf",
             "--rounds", "2", "--loop", "2", "--results", tmp_path], timeout=300)
    assert r.returncode == 0, r.stderr
    assert open(sysctl).read() == before
    [result] = [json.loads(p.read_text()) for p in tmp_path.glob("tracer-cost-*.json")]
    assert set(result["samples"]) == set()  # no timed figure but this one
    assert set(result["bpf"]) == {"a+session", "b+session"}
    for label in ("a+session", "b+session"):
        progs = result["bpf_summary"][label]
        assert {"on_sys_enter", "on_sys_exit", "on_fork", "on_exec", "on_sched_switch"} <= set(progs)
        for name in ("on_sys_enter", "on_sys_exit"):
            # two runs of `glassrun run` make hundreds of system calls each
            assert progs[name]["runs"] > 400 and progs[name]["ns_per_run"]["n"] == 2
            assert progs[name]["ns_per_run"]["median"] > 0
    assert "on_sys_exit" in r.stdout and "ns/run" in r.stdout


@pytest.mark.parametrize("runtime", ["glassrun", "runc"])
def test_tracer_cost_start_figure_runs_the_loop_script_without_runs(tmp_path, runtime):
    """`--figures loop start`: the start samples (the loop's script with
    `seq 0`) of every loop variant, and each traced loop variant's per-run
    ratio computed from them; also when glassrun's own loop is not asked
    for (the start runs no runtime)."""
    tracer = BUILD / "tracer" / "glasstrace"
    if not tracer.exists():
        pytest.fail("glasstrace is not built (`make build` builds it)")
    r = run([sys.executable, REPO / "bench" / "tracer_cost.py", "--glassrun", BUILD / "runtime" / "glassrun",
             "--glasstrace", tracer, "--only", runtime, "--figures", "loop", "start", "--rounds", "1",
             "--loop", "1", "--results", tmp_path], timeout=300)
    assert r.returncode == 0, r.stderr
    [result] = [json.loads(p.read_text()) for p in tmp_path.glob("tracer-cost-*.json")]
    assert set(result["samples"]) == {f"loop_{runtime}", "start"}
    assert set(result["samples"]["start"]) == {"untraced", "traced", "traced+session", "raw_tp floor"}
    # the start's traces hold sh's own records and no container's
    assert all(s["events"] > 0 for s in result["samples"]["start"]["traced+session"])
    for label in ("traced", "traced+session", "raw_tp floor"):
        assert result["summary"][f"loop_{runtime}"][label]["per_run"]["n"] == 1
    # the floor writes no trace: no events counted, its samples timed all the same
    assert result["summary"][f"loop_{runtime}"]["raw_tp floor"]["events"] == 0
    assert "per run (start taken out)" in r.stdout


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_round_order_puts_every_runtime_in_every_place_and_after_every_other_alike(n):
    """The benchmarks' round order is a Williams design: over its rows (n, or
    2n for odd n) each item takes every place equally often and follows every
    other item equally often. A rotation (session 21's order) has the first
    property but puts each item after the same one in every round: what that
    one leaves behind in the kernel (a cpuset key still on) then always helps
    or hurts the same runtime."""
    sys.path.insert(0, str(REPO / "bench"))
    import lifecycle as lc

    items = [chr(ord("A") + k) for k in range(n)]
    rows = [lc.round_order(items, i) for i in range(2 * n)]  # a whole number of designs either way
    assert all(sorted(r) == items for r in rows)
    places = {(r[p], p) for r in rows for p in range(n)}
    assert len(places) == n * n
    counts = {}
    for r in rows:
        for a, b in zip(r, r[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    assert len(counts) == n * (n - 1) and len(set(counts.values())) == 1, counts
    assert lc.round_order(items, -1) == rows[-1]  # warm-up rounds count from -1
