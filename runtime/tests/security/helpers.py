"""Shared pieces of the security tests: the static probe binary, attack rootfs
builders, a runtime whose binary is a private copy (attacks aim at it), and a
way to run one scenario against glassrun and runc alike."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import GLASSRUN, REPO, Runtime, run

HERE = Path(__file__).resolve().parent
PROBE_SRC = HERE / "probe.c"


@pytest.fixture(scope="session")
def probe_binary(tmp_path_factory):
    """runtime/tests/security/probe.c, built static once per session."""
    if not shutil.which("gcc"):
        pytest.fail("gcc is needed to build the static probe (apt-get install gcc libc6-dev)")
    out = tmp_path_factory.mktemp("probe") / "probe"
    r = run(["gcc", "-static", "-O1", "-o", out, PROBE_SRC])
    assert r.returncode == 0, r.stderr
    return out


def add_probe(bundle, probe_binary):
    dest = bundle.path / "rootfs" / "bin" / "probe"
    shutil.copy2(probe_binary, dest)
    return "/bin/probe"


def record(record_property, runtime_name, result):
    """Keeps runc's (the reference's) outcome in the junit XML and the -s log."""
    text = f"rc={result.returncode} out={result.stdout.strip()!r} err={result.stderr.strip()[-300:]!r}"
    record_property(runtime_name, text)
    print(f"[{runtime_name}] {text}")


def runc_version():
    r = run(["runc", "--version"]) if shutil.which("runc") else None
    return r.stdout.splitlines()[0] if r and r.returncode == 0 else "runc: absent"


@pytest.fixture
def private_glassrun(tmp_path):
    """glassrun run from a private copy of its binary: an attack that writes the
    binary must not hurt the build, and the test can compare the bytes."""
    if not GLASSRUN.exists():
        pytest.fail(f"{GLASSRUN} is not built (make build)")
    d = tmp_path / "private-bin"
    d.mkdir()
    copy = d / "glassrun"
    shutil.copy2(GLASSRUN, copy)
    rt = Runtime(copy, tmp_path / "state-private")
    yield rt
    rt.cleanup()


GLASSRUN_SEAL = GLASSRUN.parent / "glassrun-seal"


def unseal_quietly(path):
    """Teardown: the sealed view goes, whatever state a failed test left."""
    if GLASSRUN_SEAL.exists():
        run([GLASSRUN_SEAL, "--undo", path])
    while f" {path} " in Path("/proc/self/mountinfo").read_text():
        if run(["umount", "-l", path]).returncode != 0:
            break


@pytest.fixture
def sealed_glassrun(private_glassrun):
    """private_glassrun as a sealed install: glassrun-seal has put the read-only
    overlay view of the copy over the copy itself (no re-exec per command)."""
    if not GLASSRUN_SEAL.exists():
        pytest.fail(f"{GLASSRUN_SEAL} is not built (make build)")
    try:
        r = run([GLASSRUN_SEAL, private_glassrun.binary])
        assert r.returncode == 0, r.stderr
        yield private_glassrun
    finally:
        unseal_quietly(private_glassrun.binary)


@pytest.fixture
def private_runc(tmp_path):
    binary = shutil.which("runc")
    if not binary:
        pytest.skip("runc is not installed")
    d = tmp_path / "private-runc"
    d.mkdir()
    copy = d / "runc"
    shutil.copy2(binary, copy)
    rt = Runtime(copy, tmp_path / "state-private-runc")
    yield rt
    rt.cleanup()


def file_digest(path):
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def open_to_traverse(path):
    """Lets a mapped (non-host-root) user reach `path`: o+x on its parents."""
    for d in Path(path).parents:
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o001)


def chown_tree(root, uid, gid):
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, gid)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def proc_status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {text!r}")


@pytest.fixture(scope="session")
def bundle_template(tmp_path_factory, probe_binary):
    """One mkbundle run per session (it is slow); tests copy it."""
    out = tmp_path_factory.mktemp("template") / "bundle"
    r = run([REPO / "tools" / "mkbundle", "-o", out, "--", "sh"], env={**os.environ, "GLASSRUN": str(GLASSRUN)})
    assert r.returncode == 0, r.stderr
    shutil.copy2(probe_binary, out / "rootfs" / "bin" / "probe")
    return out


@pytest.fixture
def fast_bundle(tmp_path, bundle_template):
    """make_bundle's interface, from a copy of the session's template; the
    static probe is in /bin/probe."""
    from conftest import Bundle
    made = []

    def make(*args, terminal=False, name=None):
        out = tmp_path / (name or f"fbundle-{len(made)}")
        shutil.copytree(bundle_template, out, symlinks=True)
        made.append(out)
        b = Bundle(out)
        b.edit(lambda c: (c["process"].__setitem__("args", list(args or ["sh"])),
                          c["process"].__setitem__("terminal", terminal)))
        return b

    return make
