"""The accepted differences: moved vs absent vs extra, the review rules of
the file, and stale entries (reported; failing under --strict-accepted).
No runtime needed."""
import os
import subprocess
import sys

import pytest

import rtlib

ENTRY = {"check": "milestones", "runtime": "glassrun", "key": "[-+]hostname *", "reason": "r"}


def entries(*es):
    return [dict(e) for e in es]


def test_sequence_lines_are_moved_absent_or_extra():
    diffs = rtlib.compare_sequences("milestones", "glassrun", "b",
                                    ["ns.create a", "hostname h", "mount /proc (proc)", "mount /x (bind)"],
                                    ["ns.create a", "mount /proc (proc)", "hostname h", "mount /y (bind)"])
    got = {(d.key, d.change) for d in diffs}
    assert ("-mount /x (bind)", "absent") in got and ("+mount /y (bind)", "extra") in got
    assert {c for k, c in got if "hostname" in k or "/proc" in k} == {"moved"}


def test_a_moved_entry_does_not_accept_an_absent_step():
    es = rtlib.load_accepted()   # the file's entries get their default change
    moved = [rtlib.Difference("milestones", "glassrun", "b", k, [], [], change="moved")
             for k in ("-hostname h", "+hostname h")]
    assert not rtlib.unaccepted(moved, [dict(ENTRY, change="moved")])
    absent = [rtlib.Difference("milestones", "glassrun", "b", "-hostname h", [], [], change="absent")]
    assert rtlib.unaccepted(absent, [dict(ENTRY, change="moved")]) == absent
    # an entry without `change` for milestones means moved
    assert all(e["change"] != "*" for e in es if e["check"] == "milestones")


def test_the_file_names_the_steps_it_accepts():
    """Milestone entries name the exact mounts, masks and namespaces (never
    `[-+]mount *`), and an entry accepting a missing step says so
    (change = "absent")."""
    for e in rtlib.load_accepted():
        if e["check"] != "milestones":
            continue
        kind, _, rest = e["key"].lstrip("[-+]").partition(" ")
        if kind in ("mount", "mask", "ns.create", "umount"):
            assert rest.strip("* ") != "", \
                f"{e['runtime']} entry {e['key']!r} accepts every {kind} step: name the steps"
        if e["key"].startswith("-") and not e["key"].startswith("-+"):
            assert e["change"] in ("absent", "moved"), e


def test_unknown_change_is_refused(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('[[difference]]\ncheck = "milestones"\nruntime = "x"\nkey = "-a b"\nchange = "gone"\nreason = "r"\n')
    with pytest.raises(ValueError, match="change"):
        rtlib.load_accepted(f)


def test_stale_entries_only_where_compared():
    used = dict(ENTRY, key="-used", change="absent", _used=True)
    unused = dict(ENTRY, key="-gone", change="absent")
    other_rt = dict(ENTRY, runtime="crun", key="-gone", change="absent")
    stale = rtlib.stale_entries([used, unused, other_rt], {("milestones", "glassrun", "default")})
    assert stale == [unused]


@pytest.mark.stale_probe
def test_stale_probe(accepted):
    """Inner run of test_strict_accepted_fails_on_a_stale_entry: compares
    nothing that the probe file's entry would match."""
    rtlib.assert_no_unaccepted([], accepted, ("behaviour", "glassrun", "default"))


@pytest.mark.parametrize("strict", [False, True])
def test_strict_accepted_fails_on_a_stale_entry(tmp_path, strict):
    f = tmp_path / "accepted.toml"
    f.write_text('[[difference]]\ncheck = "behaviour"\nruntime = "glassrun"\nkey = "hostname"\n'
                 'reason = "stale on purpose"\n')
    env = dict(os.environ, GLASSRUN_ACCEPTED=str(f), CONFORMANCE_STALE_PROBE="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::test_stale_probe",
           "--results", str(tmp_path / "results")] + (["--strict-accepted"] if strict else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert "STALE [behaviour] glassrun / *: 'hostname'" in p.stdout, p.stdout + p.stderr
    assert p.returncode == (1 if strict else 0), p.stdout + p.stderr
    assert "`hostname`" in (tmp_path / "results" / "conformance-report.md").read_text()
