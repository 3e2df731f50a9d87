"""The "tmpcopyup" tmpfs option (podman writes it for --read-only's /tmp and
/run, containerd for image volumes): the new tmpfs starts with a copy of the
directory it covers, modes, owners, times, symlinks and fifos kept. runc is the
reference: both must show the same listing."""
import os
import stat

import pytest

# What the container prints about /data: its filesystem, then each entry as
# "name type mode uid:gid [link target]", sorted; then whether a write lands.
LIST = ("stat -f -c 'fs=%T' /data; cd /data; "
        "for f in . * sub/* ; do "
        "  printf '%s %s %s\\n' \"$f\" \"$(stat -c '%F %a %u:%g' \"$f\")\" \"$(readlink \"$f\")\"; "
        "done; "
        "cat secret sub/inner; "
        "echo new > /data/written && echo write=ok || echo write=refused")

EXPECTED = ["fs=tmpfs",
            ". directory 1777 5:6 ",
            "fifo fifo 600 0:0 ",
            "link symbolic link 777 0:0 secret",
            "secret regular file 4644 1000:1001 ",
            "sub directory 775 2:3 ",
            "sub/inner regular empty file 444 0:0 ",
            "secret-content"]


def fill_data_dir(rootfs, fifo=True):
    """Modes readable by anyone: the process has no CAP_DAC_OVERRIDE."""
    data = rootfs / "data"
    data.mkdir()
    (data / "secret").write_text("secret-content\n")
    os.chown(data / "secret", 1000, 1001)
    os.chmod(data / "secret", 0o4644)  # setuid kept: chown before chmod
    (data / "sub").mkdir()
    (data / "sub" / "inner").write_text("")
    os.chmod(data / "sub" / "inner", 0o444)
    os.chown(data / "sub", 2, 3)
    os.chmod(data / "sub", 0o775)  # after its contents were written
    os.symlink("secret", data / "link")
    if fifo:
        os.mkfifo(data / "fifo", 0o600)
    os.chown(data, 5, 6)
    os.chmod(data, 0o1777)


def run_with_tmpfs(rt, make_bundle, options, fifo=True):
    b = make_bundle("sh", "-c", LIST, name=f"bundle-{os.path.basename(rt.binary)}-{'-'.join(options)}")
    fill_data_dir(b.path / "rootfs", fifo)
    b.edit(lambda c: c["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                                         "options": options}))
    r = rt("run", "-b", b.path, rt.new_id())
    return b, r


@pytest.mark.parametrize("options", [["tmpcopyup"], ["nosuid", "tmpcopyup", "ro", "mode=700"]])
def test_tmpcopyup_copies_the_covered_directory(glassrun, runc, make_bundle, options):
    # runc 1.1.5 is the reference for files, symlinks and contents only: it
    # cannot copy a fifo ("lchown .../fifo: no such file or directory"), makes
    # directories through its umask (775 becomes 755) and leaves the tmpfs
    # root owned by root. glassrun keeps all three: a copy-up changes nothing.
    _, reference = run_with_tmpfs(runc, make_bundle, options, fifo=False)
    b, r = run_with_tmpfs(glassrun, make_bundle, options)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    read_only = "ro" in options
    assert lines == EXPECTED + ["write=refused" if read_only else "write=ok"], r.stdout + r.stderr
    assert ("Read-only file system" in r.stderr) == read_only
    def files_only(text):
        return [line for line in text.splitlines() if " directory " not in line and not line.startswith("fifo ")]
    assert files_only(r.stdout) == files_only(reference.stdout), f"runc printed:\n{reference.stdout}{reference.stderr}"
    # The copy was written to the tmpfs, never to the rootfs under it.
    assert not (b.path / "rootfs" / "data" / "written").exists()
    assert stat.S_ISFIFO(os.lstat(b.path / "rootfs" / "data" / "fifo").st_mode)


def test_tmpfs_without_tmpcopyup_starts_empty(glassrun, make_bundle):
    b, r = run_with_tmpfs(glassrun, make_bundle, [])
    assert r.returncode == 0, r.stderr
    assert "secret-content" not in r.stdout
    assert "write=ok" in r.stdout
