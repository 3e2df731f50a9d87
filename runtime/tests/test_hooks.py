"""OCI hooks: each kind at its moment with the state JSON on stdin, path/args/
env/timeout honoured; a failing create-time hook fails `create` and leaves
nothing behind; failing poststart/poststop hooks are logged and ignored."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import cgroup_dirs_named, processes_mentioning

BUSYBOX = "/bin/busybox"  # busybox-static: on the host and in the bundle
KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def recorder(kind, log, root_dir, extra_env=()):
    """A hook that records its stdin, env, argv[0] and what it sees."""
    script = (
        f'cat > {log}/{kind}.json; echo {kind} >> {log}/order; env > {log}/{kind}.env; '
        f'echo "$0" > {log}/{kind}.argv0; '
        f'[ -e {log}/../started ] && echo started > {log}/{kind}.started; '
        f'[ -d {root_dir} ] && echo yes > {log}/{kind}.statedir; '
        f'pid=$(sed -n \'s/.*"pid":\\([0-9]*\\).*/\\1/p\' {log}/{kind}.json); '
        f'[ -n "$pid" ] && readlink /proc/$pid/ns/mnt > {log}/{kind}.mntns; true'
    )
    return {"path": BUSYBOX, "args": ["sh", "-c", script, f"hook-{kind}"],
            "env": ["HOOK_KIND=" + kind, *extra_env], "timeout": 30}


def test_every_kind_at_its_moment(glassrun, make_bundle):
    b = make_bundle("sh", "-c", "touch /started; exec sleep 100000")
    rootfs = b.path / "rootfs"
    host_log = rootfs / "hooklog"
    host_log.mkdir()
    cid = glassrun.new_id("hooks")
    state_dir = Path(glassrun.root, cid)

    def edit(c):
        c["root"]["readonly"] = False  # the user's process and startContainer write in it
        c["annotations"] = {"org.example.hooks": "yes"}
        hooks = {}
        for kind in KINDS:
            # startContainer runs in the container, after pivot_root: its paths are the container's.
            log = "/hooklog" if kind == "startContainer" else str(host_log)
            hooks[kind] = [recorder(kind, log, state_dir)]
        c["hooks"] = hooks

    b.edit(edit)
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    order = lambda: (host_log / "order").read_text().split()
    assert order() == ["prestart", "createRuntime", "createContainer"]
    pid = glassrun.state(cid)["pid"]
    host_mnt = os.readlink("/proc/self/ns/mnt")
    for kind in ["prestart", "createRuntime", "createContainer"]:
        st = json.loads((host_log / f"{kind}.json").read_text())
        assert st["status"] == "created", kind
        assert st["id"] == cid and st["pid"] == pid and st["bundle"] == str(b.path)
        assert st["annotations"] == {"org.example.hooks": "yes"}
        assert not (host_log / f"{kind}.started").exists()
        # The container's namespaces exist already.
        assert (host_log / f"{kind}.mntns").read_text().strip() != host_mnt
    r = glassrun("start", cid)
    assert r.returncode == 0, r.stderr
    assert order() == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]
    assert not (host_log / "startContainer.started").exists()  # before the user's process
    assert json.loads((host_log / "startContainer.json").read_text())["id"] == cid
    st = json.loads((host_log / "poststart.json").read_text())
    assert (st["status"], st["pid"]) == ("running", pid)
    assert glassrun("kill", cid, "KILL").returncode == 0
    r = glassrun("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert order()[-1] == "poststop"
    st = json.loads((host_log / "poststop.json").read_text())
    assert (st["status"], st["id"]) == ("stopped", cid)
    assert not (host_log / "poststop.statedir").exists()  # after the container is gone
    for kind in KINDS:
        env = (host_log / f"{kind}.env").read_text().splitlines()
        assert f"HOOK_KIND={kind}" in env  # env is the hook's own
        assert not any(l.startswith("GLASSRUN") for l in env)
        assert (host_log / f"{kind}.argv0").read_text().strip() == f"hook-{kind}"  # args honoured


def assert_nothing_left(glassrun, cid):
    assert not Path(glassrun.root, cid).exists()
    assert cgroup_dirs_named(cid) == []
    assert processes_mentioning(cid) == []


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_time_hook_fails_create(glassrun, make_bundle, kind):
    b = make_bundle("sleep", "100000")
    b.edit(lambda c: c.__setitem__("hooks", {kind: [{"path": BUSYBOX, "args": ["sh", "-c", "echo from-hook >&2; exit 3"]}]}))
    cid = glassrun.new_id("hookfail")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "from-hook" in r.stderr  # the hook's stderr is the runtime's
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("glassrun: create: ") and f"{kind} hook ({BUSYBOX}): error running hook #0: exit status 3" in last
    assert_nothing_left(glassrun, cid)


def test_hook_timeout(glassrun, make_bundle):
    b = make_bundle("sleep", "100000")
    b.edit(lambda c: c.__setitem__("hooks", {"prestart": [{"path": BUSYBOX, "args": ["sleep", "100"], "timeout": 1}]}))
    cid = glassrun.new_id("hooktimeout")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "prestart" in r.stderr and "timed out" in r.stderr
    assert_nothing_left(glassrun, cid)
    assert processes_mentioning("sleep 100") == [] or all(
        "sleep\x00100\x00" not in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace") for p in processes_mentioning("sleep"))


def test_missing_hook_binary_fails_create(glassrun, make_bundle):
    b = make_bundle("sleep", "100000")
    b.edit(lambda c: c.__setitem__("hooks", {"createRuntime": [{"path": "/no/such/hook"}]}))
    cid = glassrun.new_id("hookmissing")
    r = glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "/no/such/hook" in r.stderr
    assert_nothing_left(glassrun, cid)


def test_failing_poststart_and_poststop_are_ignored(glassrun, make_bundle):
    b = make_bundle("sleep", "100000")
    fail = [{"path": BUSYBOX, "args": ["false"]}]
    b.edit(lambda c: c.__setitem__("hooks", {"poststart": fail, "poststop": fail}))
    cid = glassrun.new_id("hookignored")
    assert glassrun("create", "-b", b.path, cid, stdin=subprocess.DEVNULL).returncode == 0
    r = glassrun("start", cid)
    assert r.returncode == 0, r.stderr
    assert "poststart" in r.stderr  # logged
    assert glassrun.state(cid)["status"] == "running"
    r = glassrun("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert "poststop" in r.stderr
    assert_nothing_left(glassrun, cid)
