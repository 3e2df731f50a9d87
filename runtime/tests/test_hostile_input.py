"""Hostile input beyond test_bad_input.py (over-long ids are there): over-long
paths, deep JSON, huge arrays, NUL bytes, invalid UTF-8 in config.json and on
the command line. Each gets one clear error line naming config.json (and the
field) or the argument, a non-zero exit, and nothing left behind (state dir,
cgroup, mount, process); all within the 60 s subprocess timeout."""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, mounts_mentioning, processes_mentioning


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr[:2000]
    return lines[0]


def assert_nothing_left(rt, cid, bundle):
    root = Path(rt.root)
    assert not any(root.iterdir()) if root.exists() else True, "state directory left behind"
    assert cgroup_dirs_named(cid) == [], "cgroup left behind"
    assert mounts_mentioning(str(bundle)) == [], "mount left behind"
    assert processes_mentioning(str(bundle)) == [], "process left behind"
    assert processes_mentioning(cid) == [], "process left behind"


def run_bytes(argv):
    """conftest.run, but the arguments go to execve as given (bytes kept)."""
    argv = [a if isinstance(a, bytes) else os.fsencode(str(a)) for a in argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(argv, stdout=out, stderr=err, timeout=60)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, p.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


def raw_edit(bundle, fn):
    """fn gets config.json's text and returns the new bytes."""
    bundle.config_path.write_bytes(fn(bundle.config_path.read_text()))


def with_top_level(key_json):
    """Puts `"x-hostile": <key_json>` first in config.json (an unknown key: parsed, not used)."""
    return lambda text: b'{"x-hostile": ' + key_json + b", " + text.lstrip()[1:].encode()


CONFIG_CASES = {
    # (edit of the config dict or None, raw edit or None, words the one line must contain)
    "root.path of 10000 chars": (lambda c: c["root"].__setitem__("path", "r" * 10000), None,
                                 ["config.json: root.path", "too long"]),
    "mount destination of 5000 chars": (
        lambda c: c["mounts"].append({"destination": "/" + "d" * 4999, "type": "tmpfs", "source": "tmpfs"}), None,
        ["config.json: mounts[7].destination", "too long"]),
    "mount destination with a 300-char component": (
        lambda c: c["mounts"].append({"destination": "/a/" + "d" * 300, "type": "tmpfs", "source": "tmpfs"}), None,
        ["config.json: mounts[7].destination", "too long"]),
    "cwd of 5000 chars": (lambda c: c["process"].__setitem__("cwd", "/" + "c" * 4999), None,
                          ["config.json: process.cwd", "too long"]),
    "10^5 nested arrays": (None, with_top_level(b"[" * 100000 + b"]" * 100000),
                           ["config.json: invalid JSON", "deeper than"]),
    "10^5 nested objects": (None, with_top_level(b'{"a":' * 100000 + b"1" + b"}" * 100000),
                            ["config.json: invalid JSON", "deeper than"]),
    "10^6 env entries": (lambda c: c["process"].__setitem__("env", [f"V{i}=x" for i in range(1000000)]), None,
                         ["config.json: process", "too large"]),
    "10^6 args": (lambda c: c["process"].__setitem__("args", ["true"] + ["a"] * 1000000), None,
                  ["config.json: process", "too large"]),
    "NUL in an arg": (lambda c: c["process"].__setitem__("args", ["echo", "a\u0000b"]), None,
                      ["config.json: process.args[1]", "NUL"]),
    "NUL in env": (lambda c: c["process"].__setitem__("env", ["A=\u0000"]), None,
                   ["config.json: process.env[0]", "NUL"]),
    "NUL in hostname": (lambda c: c.__setitem__("hostname", "h\u0000x"), None, ["config.json: hostname", "NUL"]),
    "NUL in root.path": (lambda c: c["root"].__setitem__("path", "rootfs\u0000/x"), None,
                         ["config.json: root.path", "NUL"]),
    "NUL in a mount destination": (
        lambda c: c["mounts"].append({"destination": "/x\u0000y", "type": "tmpfs", "source": "tmpfs"}), None,
        ["config.json: mounts[7].destination", "NUL"]),
    "NUL in an annotation key": (lambda c: c.__setitem__("annotations", {"a\u0000b": "v"}), None,
                                 ["config.json: annotations", "NUL"]),
    "0xff in a string": (None, lambda text: text.replace('"sh"', '"s\xff"').encode("latin-1"),
                         ["config.json: invalid JSON"]),
    "0xff outside strings": (None, lambda text: b"\xff" + text.encode(), ["config.json: invalid JSON"]),
    "truncated UTF-8 sequence": (None, lambda text: text.replace('"sh"', '"s\xc3"').encode("latin-1"),
                                 ["config.json: invalid JSON"]),
    "UTF-8 overlong encoding of /": (None, lambda text: text.replace('"sh"', '"\xc0\xaf"').encode("latin-1"),
                                     ["config.json: invalid JSON"]),
    "lone surrogate escape": (None, lambda text: text.replace('"sh"', '"\\ud800"').encode(),
                              ["config.json: invalid JSON"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_hostile_config(glassrun, make_bundle, case):
    edit, raw, words = CONFIG_CASES[case]
    b = make_bundle("sh")
    if edit is not None:
        b.edit(edit)
    if raw is not None:
        raw_edit(b, raw)
    cid = glassrun.new_id("hostile")
    r = glassrun("create", "-b", b.path, cid)
    assert r.returncode != 0, "accepted"
    line = one_line(r.stderr)
    for w in words:
        assert w in line, line[:2000]
    assert len(line) < 4096, f"an error line of {len(line)} bytes"
    assert_nothing_left(glassrun, cid, b.path)


def test_big_env_that_fits_works(glassrun, make_bundle):
    """A large but legal environment (10^4 entries) still runs."""
    b = make_bundle("sh", "-c", "env | grep -c '^V'")
    b.edit(lambda c: c["process"]["env"].extend(f"V{i}=x" for i in range(10000)))
    cid = glassrun.new_id("hostile")
    r = glassrun("run", "-b", b.path, cid)
    assert r.returncode == 0, r.stderr[:2000]
    assert r.stdout.strip() == "10000"
    assert_nothing_left(glassrun, cid, b.path)


CLI_CASES = {
    "container id with 0xff": (lambda b: ["create", "-b", b, b"bad\xffid"], "container id"),
    "container id that is not UTF-8 at all": (lambda b: ["create", "-b", b, b"\xc0\xaf\xff\xfe"], "container id"),
    "--bundle of 100k chars": (lambda b: ["create", "-b", "/" + "b" * 100000, "hostile-longbundle"], "bundle"),
    "--bundle with a 300-char component": (lambda b: ["create", "-b", f"{b}/{'c' * 300}", "hostile-longname"],
                                           "bundle"),
    "--bundle with 0xff": (lambda b: ["create", "-b", str(b).encode() + b"\xff", "hostile-ffbundle"], "bundle"),
    "--pid-file of 100k chars": (lambda b: ["create", "-b", b, "--pid-file", "/" + "p" * 100000, "hostile-pidfile"],
                                 "pid-file"),
    "--root of 100k chars": (lambda b: ["--root", "/" + "s" * 100000, "create", "-b", b, "hostile-longroot"],
                             "root"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_hostile_command_line(glassrun, make_bundle, case):
    argv_fn, word = CLI_CASES[case]
    b = make_bundle("true")
    args = argv_fn(b.path)
    if args[0] == "--root":
        r = run_bytes([glassrun.binary, *args])
    else:
        r = run_bytes([glassrun.binary, "--root", glassrun.root, *args])
    assert r.returncode != 0, "accepted"
    line = one_line(r.stderr)
    assert word in line, line[:2000]
    assert len(line) < 4096, f"an error line of {len(line)} bytes"
    assert_nothing_left(glassrun, "hostile-", b.path)
