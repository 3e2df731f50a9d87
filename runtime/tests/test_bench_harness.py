"""The benchmark's own process starter (bench/spawn/bench_spawn.c): what the
concurrent figure's batch mode reports, since the figure is computed from it."""
import sys

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
