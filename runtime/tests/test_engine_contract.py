"""What conmon and containerd-shim-runc-v2 rely on from `create`, checked as
they see it: the caller is a child subreaper and gets the container's init as
its child; the container's fds 0-2 are exactly the caller's (a pipe and two
files) and no other fd of the caller leaks in. runc is the reference."""
import json
import sys

import pytest

from conftest import run

# Runs as the engine would: subreaper, stdin a pipe, stdout/stderr files, one
# extra inheritable fd; prints what the started container's process has.
ENGINE = r"""
import ctypes, json, os, subprocess, sys, time
binary, root, bundle, cid, out_dir = sys.argv[1:]
PR_SET_CHILD_SUBREAPER = 36
assert ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
stdin_r, stdin_w = os.pipe()
out = open(f"{out_dir}/stdout", "wb")
err = open(f"{out_dir}/stderr", "wb")
extra = os.open("/dev/null", os.O_RDONLY)  # inheritable: must not reach the container
os.set_inheritable(extra, True)
pid_file = f"{out_dir}/pid"
r = subprocess.run([binary, "--root", root, "create", "--pid-file", pid_file, "-b", bundle, cid],
                   stdin=stdin_r, stdout=out, stderr=err, pass_fds=(extra,))
report = {"create": r.returncode}
if r.returncode == 0:
    pid = int(open(pid_file).read())
    report["pid_file"] = open(pid_file).read()
    subprocess.run([binary, "--root", root, "start", cid], check=True)
    # The container's sh replaces itself with sleep once it has run.
    while open(f"/proc/{pid}/cmdline").read().split("\0")[0] != "sleep":
        time.sleep(0.01)
    status = dict(l.split(":\t", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":\t" in l)
    report["ppid_is_caller"] = int(status["PPid"]) == os.getpid()
    report["fds"] = sorted(os.listdir(f"/proc/{pid}/fd"), key=int)
    report["same_stdio"] = [os.stat(f"/proc/{pid}/fd/{n}").st_ino == os.fstat(f).st_ino
                            for n, f in enumerate((stdin_r, out.fileno(), err.fileno()))]
    subprocess.run([binary, "--root", root, "kill", cid, "KILL"])
    os.waitpid(pid, 0)  # ours to reap, as for conmon and the shim
    subprocess.run([binary, "--root", root, "delete", "--force", cid])
print(json.dumps(report))
"""


@pytest.mark.parametrize("which", ["runc", "glassrun"])
def test_create_as_an_engine_sees_it(which, glassrun, runc, make_bundle, tmp_path):
    rt = glassrun if which == "glassrun" else runc
    b = make_bundle("sh", "-c", "exec sleep 100000", name=f"bundle-{which}")
    cid = rt.new_id()
    r = run([sys.executable, "-c", ENGINE, rt.binary, rt.root, b.path, cid, tmp_path])
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["create"] == 0, (tmp_path / "stderr").read_text()
    assert report["pid_file"].isdigit()  # no newline: shims parse it as is
    assert report["ppid_is_caller"]
    assert report["fds"] == ["0", "1", "2"]
    assert report["same_stdio"] == [True, True, True]
