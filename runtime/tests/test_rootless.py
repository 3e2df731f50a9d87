"""Rootless: an unprivileged user, made for each test (useradd, with a
/etc/subuid and /etc/subgid range) and removed afterwards also when the test
fails, runs `glassrun spec --rootless` then `glassrun run`, as with runc.

What is checked: root inside the user namespace, the id maps, state under
$XDG_RUNTIME_DIR/glassrun (the default --root when euid != 0), no cgroup
without delegation (and a clear error when the config asks for limits),
ranges through newuidmap/newgidmap, and nothing left behind. runc 1.1, run by
the same user on the same bundle, is recorded (never asserted)."""
import json
import os
import pwd
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import GLASSRUN, cgroup_dirs_named, mounts_mentioning, processes_mentioning, run
from security.helpers import chown_tree, record

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def subid_range(path, name):
    for line in Path(path).read_text().splitlines():
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == name:
            return int(parts[1]), int(parts[2])
    return None


def processes_of_uid(uid):
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            for line in (p / "status").read_text().splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) == uid:
                    out.append(int(p.name))
        except (OSError, ValueError):
            pass
    return out


class User:
    """The test's unprivileged user: runs commands with only its own ids."""

    def __init__(self, name, uid, gid, home, xdg, bundle):
        self.name, self.uid, self.gid = name, uid, gid
        self.home, self.xdg, self.bundle = Path(home), Path(xdg), Path(bundle)
        self.glassrun = self.home / "glassrun"
        self.ids = []

    def run(self, *args, cwd=None):
        env = {"PATH": PATH, "HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.xdg), "USER": self.name}
        return run(args, user=self.uid, group=self.gid, extra_groups=[], env=env, cwd=str(cwd or self.bundle),
                   umask=0o022)

    def gr(self, *args, **kw):
        return self.run(self.glassrun, *args, **kw)

    def new_id(self):
        cid = f"rl-{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def config(self):
        return json.loads((self.bundle / "config.json").read_text())

    def write_config(self, c):
        p = self.bundle / "config.json"
        p.write_text(json.dumps(c, indent=1))
        os.chown(p, self.uid, self.gid)

    def rootless_spec(self, *args):
        """`glassrun spec --rootless` run by the user, then the process args set."""
        (self.bundle / "config.json").unlink(missing_ok=True)
        r = self.gr("spec", "--rootless")
        assert r.returncode == 0, r.stderr
        c = self.config()
        c["process"]["args"] = list(args)
        c["process"]["terminal"] = False
        self.write_config(c)
        return c


@pytest.fixture
def rootless_user(make_bundle):
    if os.geteuid() != 0:
        pytest.skip("making a user needs root")
    for tool in ("useradd", "userdel", "usermod"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing (apt-get install passwd)")
    if not shutil.which("newuidmap") or not shutil.which("newgidmap"):
        pytest.fail("newuidmap/newgidmap are missing (apt-get install uidmap)")
    if not GLASSRUN.exists():
        pytest.fail(f"{GLASSRUN} is not built (make build)")
    template = make_bundle("true")
    name = "gr" + uuid.uuid4().hex[:10]
    base = Path(tempfile.mkdtemp(prefix="glassrun-rootless-", dir="/tmp"))
    base.chmod(0o755)
    home = base / "home"
    made_user = False
    xdg = None
    user = None
    try:
        r = run(["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name])
        assert r.returncode == 0, r.stderr
        made_user = True
        pw = pwd.getpwnam(name)
        for flag, path in (("--add-subuids", "/etc/subuid"), ("--add-subgids", "/etc/subgid")):
            if not Path(path).exists() or subid_range(path, name) is None:
                lo = 400000000 + (pw.pw_uid % 1000) * 65536
                r = run(["usermod", flag, f"{lo}-{lo + 65535}", name])
                assert r.returncode == 0, r.stderr
        xdg = Path(f"/run/user/{pw.pw_uid}")
        if xdg.exists():
            pytest.fail(f"{xdg} exists already: a stale user with uid {pw.pw_uid}?")
        xdg.mkdir(parents=True, mode=0o700)
        os.chown(xdg, pw.pw_uid, pw.pw_gid)
        xdg.chmod(0o700)
        home.chmod(0o755)
        shutil.copy2(GLASSRUN, home / "glassrun")
        shutil.copytree(template.path, home / "bundle", symlinks=True)
        chown_tree(home, pw.pw_uid, pw.pw_gid)
        user = User(name, pw.pw_uid, pw.pw_gid, home, xdg, home / "bundle")
        yield user
    finally:
        if user is not None:
            for cid in user.ids:
                user.gr("delete", "--force", cid)
                if shutil.which("runc"):
                    user.run("runc", "delete", "--force", cid)
        if made_user:
            uid = pwd.getpwnam(name).pw_uid
            for pid in processes_of_uid(uid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            run(["userdel", "--force", "--remove", name])
        for path in ("/etc/subuid", "/etc/subgid"):
            p = Path(path)
            if p.exists() and subid_range(path, name) is not None:
                p.write_text("".join(l + "\n" for l in p.read_text().splitlines() if not l.startswith(name + ":")))
        if xdg is not None:
            shutil.rmtree(xdg, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def assert_nothing_left(user, cid):
    state_root = user.xdg / "glassrun"
    assert not (state_root / cid).exists(), "state directory left behind"
    assert cgroup_dirs_named(cid) == [], "cgroup left behind"
    assert mounts_mentioning(str(user.bundle)) == [], "mount left behind"
    assert processes_mentioning(cid) == [], "process left behind"


def runc_record(record_property, user, cid, *args):
    if not shutil.which("runc"):
        return None
    r = user.run("runc", *args, cid)
    record(record_property, "runc", r)
    user.run("runc", "delete", "--force", cid)
    return r


def test_rootless_run_is_root_inside(rootless_user, record_property):
    u = rootless_user
    u.rootless_spec("sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map")
    cid = u.new_id()
    r = u.gr("run", cid)
    record(record_property, "glassrun", r)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("uid=0(root) gid=0(root)"), r.stdout
    assert lines[1].split() == ["0", str(u.uid), "1"], r.stdout
    assert lines[2].split() == ["0", str(u.gid), "1"], r.stdout
    assert_nothing_left(u, cid)
    assert (u.xdg / "glassrun").is_dir(), "the default --root is not $XDG_RUNTIME_DIR/glassrun"
    runc_record(record_property, u, u.new_id(), "run")


def test_rootless_state_lives_under_xdg_runtime_dir(rootless_user, record_property):
    u = rootless_user
    u.rootless_spec("sleep", "1000")
    cid = u.new_id()
    r = u.gr("create", cid)
    assert r.returncode == 0, r.stderr
    state_file = u.xdg / "glassrun" / cid / "state.json"
    assert state_file.is_file(), list((u.xdg / "glassrun").iterdir())
    st = json.loads(state_file.read_text())
    assert st["rootless"] is True
    assert st.get("cgroup_paths", {}) == {}, "no delegated cgroup: there must be none in state.json"
    assert cgroup_dirs_named(cid) == []
    r = u.gr("start", cid)
    assert r.returncode == 0, r.stderr
    r = u.gr("state", cid)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "running"
    r = u.gr("kill", cid, "KILL")
    assert r.returncode == 0, r.stderr
    r = u.gr("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert_nothing_left(u, cid)


def test_rootless_id_ranges_go_through_newuidmap(rootless_user, record_property):
    u = rootless_user
    c = u.rootless_spec("sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map")
    sub_u = subid_range("/etc/subuid", u.name)
    sub_g = subid_range("/etc/subgid", u.name)
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": u.uid, "size": 1},
                                 {"containerID": 1, "hostID": sub_u[0], "size": 1000}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": u.gid, "size": 1},
                                 {"containerID": 1, "hostID": sub_g[0], "size": 1000}]
    u.write_config(c)
    cid = u.new_id()
    r = u.gr("run", cid)
    record(record_property, "glassrun", r)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.splitlines()]
    assert r.stdout.startswith("uid=0(root) gid=0(root)"), r.stdout
    assert ["0", str(u.uid), "1"] in lines and ["1", str(sub_u[0]), "1000"] in lines, r.stdout
    assert ["0", str(u.gid), "1"] in lines and ["1", str(sub_g[0]), "1000"] in lines, r.stdout
    assert_nothing_left(u, cid)
    runc_record(record_property, u, u.new_id(), "run")


def refused_run(u, c, record_property):
    """Runs config c as the rootless user, which must fail with one line and
    leave nothing behind; records runc on the same config. Returns the line."""
    u.write_config(c)
    cid = u.new_id()
    r = u.gr("run", cid)
    record(record_property, "glassrun", r)
    assert r.returncode != 0
    line = one_line(r.stderr)
    assert_nothing_left(u, cid)
    runc_record(record_property, u, u.new_id(), "run")
    return line


def test_rootless_range_outside_subuid_is_a_clear_error(rootless_user, record_property):
    c = rootless_user.rootless_spec("true")
    c["linux"]["uidMappings"].append({"containerID": 1, "hostID": 7000000, "size": 10})
    line = refused_run(rootless_user, c, record_property)
    assert "linux.uidMappings" in line and "newuidmap" in line and "/etc/subuid" in line, line


@pytest.mark.parametrize("field,value", [("memory", {"limit": 64 << 20}), ("pids", {"limit": 10})])
def test_rootless_limits_without_delegation_are_a_clear_error(rootless_user, record_property, field, value):
    c = rootless_user.rootless_spec("true")
    c["linux"]["resources"] = {field: value}
    line = refused_run(rootless_user, c, record_property)
    assert f"linux.resources.{field}" in line and "delegation" in line, line


def test_rootless_device_rules_alone_need_no_cgroup(rootless_user):
    """The default (non-rootless) resources hold only device rules: no limit,
    so no cgroup is needed."""
    u = rootless_user
    c = u.rootless_spec("true")
    c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    u.write_config(c)
    cid = u.new_id()
    r = u.gr("run", cid)
    assert r.returncode == 0, r.stderr
    assert_nothing_left(u, cid)
