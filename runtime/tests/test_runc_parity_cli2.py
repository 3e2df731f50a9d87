"""runc parity, part 2 of the command line (issue 15 items 9-14, issue 13
item 4): ps arguments, exec --cgroup, the non-empty cgroup warning, --debug
logging, help and version, device access strings. Every test runs the same
command on runc 1.1.5 (the reference) and glassrun and compares."""
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import GLASSRUN, run

CG = Path("/sys/fs/cgroup")
V1_DEVICES = CG / "devices"

# One logrus text line: time="…" level=… msg=… (bare or quoted), maybe more fields.
TEXT_LINE = re.compile(r'^time="[^"]+" level=(debug|info|warning|error) msg=("(?:[^"\\]|\\.)*"|\S+)( \w+=("(?:[^"\\]|\\.)*"|\S+))*$')


def side_by_side(runc, glassrun, fn):
    """Runs fn(runtime) on runc and glassrun; returns (runc's, glassrun's)."""
    return fn(runc), fn(glassrun)


def running(rt, make_bundle, *args):
    """A detached container running args (default: sleep), and its id."""
    b = make_bundle(*(args or ("sleep", "1000")))
    cid = rt.new_id("p2")
    r = rt("run", "-d", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr
    return cid


# ---- ps (issue 15 item 9, issue 13 item 4) -----------------------------------

def test_ps_args_after_the_id_go_to_ps(runc, glassrun, make_bundle):
    def ps(rt):
        cid = running(rt, make_bundle)
        return rt("ps", cid, "-e", "-x"), rt("ps", cid, "-o", "pid,comm"), rt("ps", cid)

    (rx, ro, rd), (gx, go, gd) = side_by_side(runc, glassrun, ps)
    for r, g in ((rx, gx), (ro, go), (rd, gd)):
        assert (r.returncode, g.returncode) == (0, 0), (r.stderr, g.stderr)
        rl, gl = r.stdout.splitlines(), g.stdout.splitlines()
        assert rl[0] == gl[0]  # ps's own header
        assert len(rl) == len(gl) == 2, (r.stdout, g.stdout)  # header + the container's sleep
        assert "sleep" in rl[1] and "sleep" in gl[1]
    assert go.stdout.splitlines()[1].split()[1] == "sleep"
    assert "PATH=" in gx.stdout  # `-e -x`: ps shows the environment


def test_ps_arguments_reach_ps_verbatim(runc, glassrun, make_bundle, tmp_path):
    """Quotes and `;` are ps's problem, never a shell's."""
    marker = tmp_path / "shell-ran"
    fmt_arg = f"pid';touch {marker};'"

    def ps(rt):
        cid = running(rt, make_bundle)
        return rt("ps", cid, "-o", fmt_arg), rt("ps", cid, "-o", "pid,comm;x")

    (r1, r2), (g1, g2) = side_by_side(runc, glassrun, ps)
    assert not marker.exists()
    for r, g, said in ((r1, g1, "pid';touch"), (r2, g2, "comm;x")):
        assert r.returncode != 0 and g.returncode != 0
        for err in (r.stderr, g.stderr):  # ps's own words, with the argument as given
            assert "unknown user-defined format specifier" in err and said in err, err
        assert len(g.stderr.strip().splitlines()) == 1, g.stderr


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_ps_runs_ps_without_a_shell(runc, glassrun, make_bundle, tmp_path):
    def traced(rt):
        cid = running(rt, make_bundle)
        out = tmp_path / f"strace-{Path(rt.binary).name}"
        r = run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", out, rt.binary, "--root", rt.root, "ps", cid, "-o", "pid"])
        assert r.returncode == 0, r.stderr
        return [re.match(r'^\d+\s+execve\("([^"]+)"', l).group(1) for l in out.read_text().splitlines()
                if re.match(r'^\d+\s+execve\("[^"]+"', l) and "= -1" not in l]  # runc's Go threads split lines: "<unfinished ...>"

    r, g = side_by_side(runc, glassrun, traced)
    for execs in (r, g):
        assert [Path(p).name for p in execs[1:]] == ["ps"], execs  # the runtime, then ps(1) itself
        assert not any(Path(p).name in ("sh", "bash", "dash") for p in execs), execs


def test_ps_json_and_unknown_flags(runc, glassrun, make_bundle):
    def ps(rt):
        cid = running(rt, make_bundle)
        return rt("ps", "-f", "json", cid), rt("ps", "--nosuch", cid), rt.state(cid)["pid"]

    (rj, rbad, rpid), (gj, gbad, gpid) = side_by_side(runc, glassrun, ps)
    assert json.loads(rj.stdout) == [rpid] and json.loads(gj.stdout) == [gpid]
    for bad in (rbad, gbad):
        assert bad.returncode != 0
        assert "flag provided but not defined: -" in bad.stderr, bad.stderr
    assert "--nosuch" in gbad.stderr and "does not exist" not in gbad.stderr  # never taken as the id


def test_ps_dashdash_after_the_id(runc, glassrun, make_bundle):
    """Accepted difference (conformance/accepted_differences.toml, ps `--`):
    runc hands `--` to ps, which refuses it; glassrun reads it as the end of
    its own options, so `ps c1 -- -o pid,comm` works (issue 13 item 4)."""
    r, g = side_by_side(runc, glassrun, lambda rt: rt("ps", running(rt, make_bundle), "--", "-o", "pid,comm"))
    assert r.returncode != 0 and "garbage option" in r.stderr, r.stderr
    assert g.returncode == 0, g.stderr
    assert g.stdout.split() == ["PID", "COMMAND", g.stdout.split()[2], "sleep"]


# ---- exec --cgroup (issue 15 item 10) ----------------------------------------

def proc_cgroup_lines(text):
    """/proc/self/cgroup → {hierarchy: path}."""
    out = {}
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        out[ctrls] = path
    return out


def sub_dirs(rt, cid, name):
    return [Path(p, name) for p in rt.state_json(cid)["cgroup_paths"].values()]


def exec_in_sub_cgroups(rt, make_bundle):
    cid = running(rt, make_bundle)
    subs = sub_dirs(rt, cid, "sub")
    try:
        for d in subs:
            d.mkdir(exist_ok=True)
            for f in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset cgroup starts empty: no task can join
                if (d / f).exists() and not (d / f).read_text().strip():
                    (d / f).write_text((d.parent / f).read_text())
        every = rt("exec", "--cgroup", "sub", cid, "cat", "/proc/self/cgroup")
        one = rt("exec", "--cgroup", "pids:sub", cid, "cat", "/proc/self/cgroup")
        two = rt("exec", "--cgroup", "pids,memory:sub", cid, "cat", "/proc/self/cgroup")
    finally:
        for d in subs:
            if d.exists():
                d.rmdir()  # the exec'd cat has exited: empty again
    def in_sub(r):
        assert r.returncode == 0, r.stderr
        return sorted(h for h, p in proc_cgroup_lines(r.stdout).items() if p.endswith(f"/{cid}/sub"))
    return in_sub(every), in_sub(one), in_sub(two)


def test_exec_cgroup_joins_sub_cgroups(runc, glassrun, make_bundle):
    r, g = side_by_side(runc, glassrun, lambda rt: exec_in_sub_cgroups(rt, make_bundle))
    assert r == g
    every, one, two = g
    assert "pids" in every and len(every) > 2
    if not (CG / "cgroup.controllers").exists():  # v1: per controller
        assert one == ["pids"] and two == ["memory", "pids"]


@pytest.mark.parametrize("args,said", [
    (["--cgroup", "../x"], "../x is not a sub cgroup path"),
    (["--cgroup", "pids:../../x"], "../../x is not a sub cgroup path"),
    (["--cgroup", "nosuch:x"], "unknown controller nosuch"),
    (["--cgroup", "a:b:c"], "invalid --cgroup argument: a:b:c"),
    (["--cgroup", "x", "--cgroup", "pids:y"], "(missing <controller>: prefix)"),
    (["--nosuch"], "flag provided but not defined: -"),
])
def test_exec_cgroup_refusals(runc, glassrun, make_bundle, args, said):
    def refused(rt):
        cid = running(rt, make_bundle)
        r = rt("exec", *args, cid, "true")
        return r, rt("ps", "-f", "json", cid)

    (r, rps), (g, gps) = side_by_side(runc, glassrun, refused)
    assert r.returncode != 0 and g.returncode != 0
    assert said in r.stderr and said in g.stderr, (r.stderr, g.stderr)
    assert "does not exist" not in g.stderr  # an option is never the container id
    assert len(json.loads(rps.stdout)) == len(json.loads(gps.stdout)) == 1  # nothing was left running


# ---- warning: a cgroup that already has processes (issue 15 item 11) ---------

def test_create_into_non_empty_cgroup_warns(runc, glassrun, make_bundle):
    if not V1_DEVICES.is_dir() and not (CG / "cgroup.controllers").exists():
        pytest.skip("neither a v1 devices hierarchy nor pure cgroup v2")

    def create(rt):
        name = f"p2warn-{uuid.uuid4().hex[:8]}"
        holder = V1_DEVICES / name if V1_DEVICES.is_dir() else CG / name  # runc counts the devices cgroup's
        b = make_bundle("sleep", "1000").edit(lambda c: c["linux"].__setitem__("cgroupsPath", f"/{name}"))
        holder.mkdir()
        sleeper = subprocess.Popen(["sleep", "1000"])
        cid = rt.new_id("p2")
        try:
            (holder / "cgroup.procs").write_text(str(sleeper.pid))
            r = rt("create", "-b", b.path, cid)
            state = rt("state", cid)
        finally:
            sleeper.kill()
            sleeper.wait()
            rt("delete", "--force", cid)
            for top in CG.iterdir():  # whatever is left of that name, in every hierarchy
                d = top / name if top.name != name else top
                if d.is_dir():
                    d.rmdir()
        return r, state

    (r, rs), (g, gs) = side_by_side(runc, glassrun, create)
    assert r.returncode == 0 and g.returncode == 0, (r.stderr, g.stderr)
    said = "level=warning msg=\"container's cgroup is not empty: 1 process(es) found\""
    assert said in r.stderr and said in g.stderr, (r.stderr, g.stderr)
    assert json.loads(rs.stdout)["status"] == json.loads(gs.stdout)["status"] == "created"


def test_create_into_empty_cgroup_does_not_warn(glassrun, make_bundle):
    cid = glassrun.new_id("p2")
    r = glassrun("create", "-b", make_bundle("true").path, cid)
    assert r.returncode == 0 and r.stderr == "", r.stderr


# ---- --debug (issue 15 item 12) ----------------------------------------------

def lifecycle(rt, make_bundle, *flags):
    """create, start, exec, delete with the given global flags; their results."""
    b = make_bundle("sleep", "1000")
    cid = rt.new_id("p2")
    g = [rt.binary, "--root", rt.root, *flags]
    return {
        "create": run([*g, "create", "-b", b.path, cid]),
        "start": run([*g, "start", cid]),
        "exec": run([*g, "exec", cid, "true"]),
        "delete": run([*g, "delete", "--force", cid]),
    }


def test_debug_lines_on_stderr(runc, glassrun, make_bundle):
    r, g = side_by_side(runc, glassrun, lambda rt: lifecycle(rt, make_bundle, "--debug"))
    for cmd in ("create", "start", "exec", "delete"):
        assert r[cmd].returncode == 0 and g[cmd].returncode == 0, (cmd, r[cmd].stderr, g[cmd].stderr)
        for res in (r[cmd], g[cmd]):
            for line in res.stderr.splitlines():
                assert TEXT_LINE.match(line), (cmd, line)
    for cmd in ("create", "exec"):  # runc logs these two (start and delete: nothing)
        assert "level=debug" in r[cmd].stderr
    steps = {cmd: [TEXT_LINE.match(l).group(2) for l in g[cmd].stderr.splitlines()] for cmd in g}
    assert {"create.config", "create.cgroups", "create.clone", "create.state"} <= set(steps["create"]), steps
    assert "start.exec_fifo" in steps["start"] and "delete" in steps["delete"], steps
    assert {"exec.status", "exec.fork"} <= set(steps["exec"]), steps
    # The init's and the exec'd child's own steps are not logged (their stderr is the container's);
    # both move themselves into the v1 cgroups (test_cgroup_placement.py).
    assert not any(s.startswith(("init.", "exec.namespaces", "exec.cgroup_attach"))
                   for s in steps["create"] + steps["exec"]), steps


def test_no_debug_lines_without_debug(glassrun, make_bundle):
    for cmd, res in lifecycle(glassrun, make_bundle).items():
        assert res.returncode == 0 and res.stderr == "", (cmd, res.stderr)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_debug_goes_to_the_log_file(runc, glassrun, make_bundle, tmp_path, log_format):
    def logged(rt):
        log = tmp_path / f"{Path(rt.binary).name}.log"
        res = lifecycle(rt, make_bundle, "--debug", "--log", log, "--log-format", log_format)
        return res, log.read_text().splitlines()

    (r, rlines), (g, glines) = side_by_side(runc, glassrun, logged)
    for res in list(r.values()) + list(g.values()):
        assert res.returncode == 0 and "level" not in res.stderr, res.stderr  # nothing on stderr
    assert rlines and glines
    for line in rlines + glines:
        if log_format == "text":
            assert TEXT_LINE.match(line), line
        else:
            obj = json.loads(line)  # runc adds fields (file, func, ...) to some lines
            assert [k for k in obj if k in ("level", "msg", "time")] == ["level", "msg", "time"], line
    if log_format == "json":
        assert {"create.config", "start.exec_fifo", "exec.fork", "delete"} <= {json.loads(l)["msg"] for l in glines}
        assert {json.loads(l)["level"] for l in glines} == {"debug"}


# ---- help and version (issue 15 item 14) -------------------------------------

def headers(text):
    return [l for l in text.splitlines() if re.fullmatch(r"[A-Z][A-Z ]*:", l)]


def usage_line(text):
    lines = text.splitlines()
    return lines[lines.index("USAGE:") + 1]


def test_help_layout(runc, glassrun):
    (r, rh, rH), (g, gh, gH) = side_by_side(runc, glassrun, lambda rt: (rt("-h"), rt("help"), rt("h")))
    assert r.returncode == g.returncode == 0
    assert headers(r.stdout) == headers(g.stdout) == ["NAME:", "USAGE:", "VERSION:", "COMMANDS:", "GLOBAL OPTIONS:"]
    assert rh.stdout == rH.stdout == r.stdout and gh.stdout == gH.stdout == g.stdout
    assert g.stdout.splitlines()[1].startswith("   glassrun - ")
    assert usage_line(g.stdout) == usage_line(r.stdout).replace("runc", "glassrun")
    section = lambda text, name: text.split(name + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = lambda rows: {n.strip() for row in rows for n in row.strip().split("  ")[0].split(", ")}
    runc_commands = names(section(r.stdout, "COMMANDS:")) - {"checkpoint", "restore"}  # no CRIU in glassrun
    assert runc_commands <= names(section(g.stdout, "COMMANDS:"))
    assert names(section(r.stdout, "GLOBAL OPTIONS:")) <= names(section(g.stdout, "GLOBAL OPTIONS:"))


@pytest.mark.parametrize("command", ["ps", "state", "start", "delete", "exec", "kill", "pause", "resume", "list"])
def test_command_help_layout(runc, glassrun, command):
    (r, rt), (g, gt) = side_by_side(runc, glassrun, lambda x: (x(command, "-h"), x("help", command)))
    assert r.returncode == g.returncode == 0
    assert rt.stdout == r.stdout and gt.stdout == g.stdout
    assert headers(g.stdout)[:2] == headers(r.stdout)[:2] == ["NAME:", "USAGE:"]
    assert g.stdout.splitlines()[1].startswith(f"   glassrun {command} - ")
    assert usage_line(g.stdout) == usage_line(r.stdout).replace("runc", "glassrun")
    assert ("OPTIONS:" in headers(g.stdout)) == ("OPTIONS:" in headers(r.stdout))


@pytest.mark.parametrize("args", [["foo", "-h"], ["foo"], ["help", "foo"]])
def test_unknown_command_has_no_help_topic(runc, glassrun, args):
    r, g = side_by_side(runc, glassrun, lambda rt: rt(*args))
    assert r.returncode == g.returncode != 0
    assert "No help topic for 'foo'" in r.stderr and "No help topic for 'foo'" in g.stderr
    assert g.stdout == ""


def test_version(runc, glassrun):
    r, g = side_by_side(runc, glassrun, lambda rt: rt("-v"))
    assert r.returncode == g.returncode == 0
    rl, gl = r.stdout.splitlines(), g.stdout.splitlines()
    assert rl[0].startswith("runc version ") and gl[0].startswith("glassrun version ")
    assert [l.split(":")[0] for l in rl[1:3]] == [l.split(":")[0] for l in gl[1:3]] == ["commit", "spec"]
    assert g.stdout == run([GLASSRUN, "--version"]).stdout


# ---- device access strings (issue 15 item 13) --------------------------------

@pytest.mark.skipif(not V1_DEVICES.is_dir(), reason="no v1 devices hierarchy (the v2 filter is a BPF program)")
@pytest.mark.parametrize("access,want", [("mrw", "rwm"), ("rrwwm", "rwm"), ("rwa", "rw"), ("mr", "rm")])
def test_device_access_strings(runc, glassrun, make_bundle, access, want):
    def created(rt):
        b = make_bundle("true").edit(lambda c: c["linux"]["resources"].__setitem__("devices", [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 42, "minor": 7, "access": access}]))
        cid = rt.new_id("p2")
        r = rt("create", "-b", b.path, cid)
        assert r.returncode == 0, r.stderr
        lst = Path(rt.state_json(cid)["cgroup_paths"]["devices"], "devices.list").read_text()
        return [l for l in lst.splitlines() if " 42:7 " in l]

    r, g = side_by_side(runc, glassrun, created)
    assert r == g == [f"c 42:7 {want}"]


@pytest.mark.skipif(not V1_DEVICES.is_dir(), reason="no v1 devices hierarchy")
def test_device_access_without_r_w_or_m_is_refused(runc, glassrun, make_bundle):
    """runc also fails, after retrying for ~18 s with "resulting devices cgroup
    doesn't precisely match target"; glassrun refuses at once, naming the field."""
    def created(rt):
        b = make_bundle("true").edit(lambda c: c["linux"]["resources"].__setitem__("devices", [
            {"allow": True, "type": "c", "major": 42, "minor": 7, "access": "a"}]))
        cid = rt.new_id("p2")
        return rt("create", "-b", b.path, cid), Path(rt.root, cid).exists()

    (r, rleft), (g, gleft) = side_by_side(runc, glassrun, created)
    assert r.returncode != 0 and g.returncode != 0
    assert not rleft and not gleft
    assert 'linux.resources.devices[0]: invalid access "a"' in g.stderr, g.stderr
