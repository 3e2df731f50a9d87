"""process.apparmorProfile, process.selinuxLabel, linux.mountLabel and
exec --apparmor / --process-label, compared with runc 1.1.5 on the same bundle
on this host: both run or both refuse. Where the host lacks the LSM glassrun
refuses before anything exists, naming the field (runc fails too: apparmor in
its init, SELinux in its validator)."""
import subprocess
from pathlib import Path

import pytest

from security.helpers import bundle_template, fast_bundle, probe_binary, record  # noqa: F401
from test_bad_input import assert_nothing_left


def apparmor_enabled():
    p = Path("/sys/module/apparmor/parameters/enabled")
    return Path("/sys/kernel/security/apparmor").exists() and p.exists() and p.read_text().startswith("Y")


def selinux_enabled():
    return Path("/sys/fs/selinux/enforce").exists()


def nothing_labelled(c):
    """Only mounts runc does not label, and no masked paths (runc labels the
    tmpfs over a masked directory)."""
    c["mounts"] = [m for m in c["mounts"] if m["type"] in ("proc", "sysfs")]
    c["linux"]["maskedPaths"] = []


SELINUX_LABEL = "system_u:system_r:container_t:s0:c1,c2"
MOUNT_LABEL = "system_u:object_r:container_file_t:s0:c1,c2"

# case -> (edit, LSM it needs, glassrun's error where the host lacks it)
CASES = {
    "apparmor-profile": (lambda c: c["process"].__setitem__("apparmorProfile", "glassrun-test-profile"), "apparmor",
                         "config.json: process.apparmorProfile glassrun-test-profile: AppArmor is not enabled on this host"),
    "apparmor-unconfined": (lambda c: c["process"].__setitem__("apparmorProfile", "unconfined"), "apparmor",
                            "config.json: process.apparmorProfile unconfined: AppArmor is not enabled on this host"),
    "selinux-label": (lambda c: c["process"].__setitem__("selinuxLabel", SELINUX_LABEL), "selinux",
                      f"config.json: process.selinuxLabel {SELINUX_LABEL}: SELinux is not enabled on this host"),
    # linux.mountLabel where something takes it, on a host without SELinux:
    # glassrun does as crun (warns, mounts without context=), runc fails:
    # test_runc_parity_mounts.py::test_mount_label_without_selinux_mounts_without_context_as_crun.
    # Nothing takes the label (runc puts context= only on tmpfs, devpts and
    # the like): runc runs it, and so must glassrun.
    "mount-label-nothing-labelled": (lambda c: (c["linux"].__setitem__("mountLabel", MOUNT_LABEL),
                                                nothing_labelled(c)), None, None),
}

HOST_HAS = {"apparmor": apparmor_enabled(), "selinux": selinux_enabled(), None: True}


@pytest.mark.parametrize("case", list(CASES))
def test_lsm_field_outcome_matches_runc(glassrun, runc, fast_bundle, record_property, case):
    edit, lsm, message = CASES[case]
    outcomes = {}
    for name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("true", name=f"lsm-{name}-{case}")
        b.edit(edit)
        cid = rt.new_id("lsm")
        r = rt("run", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        record(record_property, name, r)
        outcomes[name] = r.returncode == 0
        if name == "glassrun" and not HOST_HAS[lsm]:
            assert r.returncode != 0
            assert message in r.stderr, r.stderr
            assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r.stderr
            assert_nothing_left(rt, cid, b.path)
        elif name == "glassrun":
            assert r.returncode == 0, r.stderr
    assert outcomes["glassrun"] == outcomes["runc"], outcomes


@pytest.mark.parametrize("flag", ["--apparmor", "--process-label"])
def test_exec_lsm_flag_outcome_matches_runc(glassrun, runc, fast_bundle, record_property, flag):
    value = "unconfined" if flag == "--apparmor" else SELINUX_LABEL
    host_has = HOST_HAS["apparmor" if flag == "--apparmor" else "selinux"]
    outcomes = {}
    for name, rt in (("runc", runc), ("glassrun", glassrun)):
        b = fast_bundle("sleep", "1000", name=f"lsmexec-{name}-{flag}")
        cid = rt.new_id("lsmx")
        r = rt("run", "-d", "-b", b.path, cid, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        e = rt("exec", flag, value, cid, "true", stdin=subprocess.DEVNULL)
        record(record_property, f"{name}-exec", e)
        outcomes[name] = e.returncode == 0
        if name == "glassrun" and not host_has:
            lsm = "AppArmor" if flag == "--apparmor" else "SELinux"
            assert f"{flag} {value}: {lsm} is not enabled on this host" in e.stderr, e.stderr
            assert rt("state", cid).returncode == 0  # the container is untouched
    assert outcomes["glassrun"] == outcomes["runc"], outcomes


def test_apparmor_profile_is_applied(glassrun, fast_bundle):
    if not apparmor_enabled():
        pytest.skip("AppArmor is not enabled on this host (no /sys/kernel/security/apparmor or "
                    "/sys/module/apparmor/parameters/enabled != Y): a profile cannot be observed")
    b = fast_bundle("cat", "/proc/self/attr/current", name="aa-applied")
    b.edit(lambda c: c["process"].__setitem__("apparmorProfile", "unconfined"))
    r = glassrun("run", "-b", b.path, glassrun.new_id("aa"), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("unconfined"), r.stdout


def test_selinux_label_is_applied(glassrun, fast_bundle):
    if not selinux_enabled():
        pytest.skip("SELinux is not enabled on this host (no selinuxfs at /sys/fs/selinux): a label cannot be observed")
    b = fast_bundle("cat", "/proc/self/attr/current", name="se-applied")
    b.edit(lambda c: c["process"].__setitem__("selinuxLabel", SELINUX_LABEL))
    r = glassrun("run", "-b", b.path, glassrun.new_id("se"), stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().rstrip("\0") == SELINUX_LABEL, r.stdout
