"""Bad input: one line naming what is wrong, a non-zero exit, and nothing left
behind (state dir, cgroup, mount, fifo, process)."""
import json
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, mounts_mentioning, processes_mentioning, run, GLASSRUN


def assert_nothing_left(rt, cid, bundle=None):
    assert not Path(rt.root, cid).exists(), "state directory left behind"
    assert cgroup_dirs_named(cid) == [], "cgroup left behind"
    if bundle is not None:
        assert mounts_mentioning(str(bundle)) == [], "mount left behind"
        assert processes_mentioning(str(bundle)) == [], "process left behind"


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


CASES = {
    "malformed json": (lambda c: None, "{not json", "config.json: invalid JSON"),
    "no args": (lambda c: c["process"].__setitem__("args", []), None, "config.json: process.args: must not be empty"),
    "no root": (lambda c: c.pop("root"), None, "config.json: root: must be set"),
    "unknown namespace": (lambda c: c["linux"]["namespaces"].append({"type": "nope"}), None,
                          "config.json: linux.namespaces[5].type: unknown namespace type \"nope\""),
    "escaping mount": (lambda c: c["mounts"].append({"destination": "/../../../tmp/evil", "type": "tmpfs",
                                                      "source": "tmpfs"}), None,
                       "config.json: mounts[7].destination: escapes the container's root"),
    "relative mount destination": (lambda c: c["mounts"].append({"destination": "tmp", "type": "tmpfs",
                                                                  "source": "tmpfs"}), None,
                                   "config.json: mounts[7].destination: must be an absolute path"),
    "missing rootfs": (lambda c: c["root"].__setitem__("path", "nope"), None, "config.json: root.path: rootfs"),
    "missing executable": (lambda c: c["process"].__setitem__("args", ["/no/such/binary"]), None,
                           "exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory"),
    "executable not in PATH": (lambda c: c["process"].__setitem__("args", ["nosuchcmd"]), None,
                               "exec: \"nosuchcmd\": executable file not found in $PATH"),
    "impossible mount": (lambda c: c["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"}),
                         None, "create: init: mount none on /x (type nosuchfs"),
    "wrong type": (lambda c: c["process"].__setitem__("cwd", 7), None, "config.json: process.cwd: must be a string"),
    # a number of the wrong kind is named as such (it used to read "must be a number, not number")
    "negative id": (lambda c: c["process"]["user"].__setitem__("uid", -1), None,
                    "config.json: process.user.uid: must be a non-negative integer, not -1"),
    "fractional id": (lambda c: c["process"]["user"].__setitem__("gid", 1.5), None,
                      "config.json: process.user.gid: must be a non-negative integer, not 1.5"),
    "fractional integer": (lambda c: c["process"].__setitem__("oomScoreAdj", 2.5), None,
                           "config.json: process.oomScoreAdj: must be an integer, not 2.5"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(glassrun, make_bundle, case):
    edit, raw, message = CASES[case]
    b = make_bundle("true")
    if raw is not None:
        b.config_path.write_text(raw)
    else:
        b.edit(edit)
    cid = glassrun.new_id("bad")
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode != 0
    line = one_line(r.stderr)
    assert message in line, line
    assert_nothing_left(glassrun, cid, b.path)


@pytest.mark.parametrize("cid", ["../x", "a/b", "..", "x" * 2000, "bad\x01id"])
def test_bad_container_id(glassrun, make_bundle, cid):
    b = make_bundle("true")
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode != 0
    assert "container id" in one_line(r.stderr)
    assert not any(Path(glassrun.root).glob("*")) if Path(glassrun.root).exists() else True
    assert not Path(glassrun.root).parent.joinpath("x").exists()


def test_empty_id_is_refused(glassrun, make_bundle):
    b = make_bundle("true")
    r = glassrun("create", "-b", b.path, "")
    assert r.returncode != 0 and "container id: must not be empty" in r.stderr


def test_duplicate_id(glassrun, make_bundle):
    b = make_bundle("sleep", "100")
    cid = glassrun.new_id()
    assert glassrun("create", "-b", b.path, cid).returncode == 0
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode != 0 and "container with id exists" in one_line(r.stderr)
    assert glassrun.state(cid)["status"] == "created"  # the first one is untouched


def test_missing_bundle(glassrun, tmp_path):
    cid = glassrun.new_id()
    r = glassrun("create", "-b", tmp_path / "nope", cid)
    assert r.returncode != 0 and "bundle" in one_line(r.stderr) and "no such file" in r.stderr
    assert_nothing_left(glassrun, cid)


@pytest.mark.parametrize("command", [["state"], ["start"], ["kill"], ["delete"], ["pause"], ["ps"]])
def test_unknown_container(glassrun, command):
    r = glassrun(*command, "ghost")
    assert r.returncode != 0
    assert "container does not exist" in one_line(r.stderr)


def test_unknown_command_and_flag(glassrun):
    r = glassrun("frobnicate")
    assert r.returncode != 0 and one_line(r.stderr)
    r = glassrun("create", "--no-such-flag", "x")
    assert r.returncode != 0 and "--no-such-flag" in one_line(r.stderr)


def test_unknown_signal(glassrun, make_bundle):
    b = make_bundle("sleep", "100")
    cid = glassrun.new_id()
    assert glassrun("run", "-d", "-b", b.path, cid).returncode == 0
    r = glassrun("kill", cid, "SIGNOPE")
    assert r.returncode != 0 and "unknown signal" in one_line(r.stderr)


def test_json_log_format(glassrun, make_bundle, tmp_path):
    b = make_bundle("true")
    b.edit(lambda c: c["process"].__setitem__("args", []))
    log = tmp_path / "log.json"
    r = run([GLASSRUN, "--root", glassrun.root, "--log", log, "--log-format=json", "create", "-b", b.path, "x1"])
    assert r.returncode != 0
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert entries[-1]["level"] == "error"
    assert "process.args: must not be empty" in entries[-1]["msg"]
    assert entries[-1]["time"].endswith("Z")
