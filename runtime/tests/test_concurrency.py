"""Concurrency (issue 18): no lock is shared between containers. A create
held inside its createRuntime hook must not keep a create of another id from
completing, with glassrun as with runc. No timing is asserted: the held
create is released only after the other one has returned."""
import subprocess
import time

import pytest


@pytest.mark.parametrize("rt_name", ["runc", "glassrun"])
def test_create_of_another_id_completes_while_one_is_held(request, make_bundle, tmp_path, rt_name):
    rt = request.getfixturevalue(rt_name)
    started, release = tmp_path / "hook-started", tmp_path / "release"
    held = make_bundle("true")
    held.edit(lambda c: c.setdefault("hooks", {}).update({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done"]}]}))
    other = make_bundle("true")
    held_id, other_id = rt.new_id("held"), rt.new_id("other")
    with open(tmp_path / "held.err", "w+") as err:
        p = subprocess.Popen([rt.binary, "--root", rt.root, "create", "-b", held.path, held_id],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            for _ in range(1200):  # the held create is inside its hook (bounded: 60 s)
                if started.exists() or p.poll() is not None:
                    break
                time.sleep(0.05)
            assert started.exists(), f"the hook never ran (create exited {p.poll()})"
            # The held create is still blocked in its hook while another id is created.
            r = rt("create", "-b", other.path, other_id, stdin=subprocess.DEVNULL)
            assert r.returncode == 0, r.stderr
            assert rt.state(other_id)["status"] == "created"
            assert p.poll() is None, "the held create finished before it was released"
        finally:
            release.touch()
            p.wait(timeout=60)
        err.seek(0)
        assert p.returncode == 0, err.read()
    assert rt.state(held_id)["status"] == "created"
