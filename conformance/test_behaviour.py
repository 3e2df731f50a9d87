"""Check 4: what the container sees is the same under every runtime as
under runc, for each bundle of the catalogue."""
import catalogue
import checks
import rtlib
from conftest import apply_xfail, result_or_fail


def test_behaviour(request, runner, accepted, runtime_name, bundle_name):
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    # the probe ran to its end: every section is there
    assert "end" in res.sections, f"probe output incomplete:\n{res.output}\nstderr:\n{res.stderr}"
    if runtime_name == rtlib.REFERENCE:
        return
    if bundle_name in catalogue.NO_REFERENCE:
        # runc cannot run it: what the config asks is the reference
        got = "\n".join(" ".join(line.split()) for line in res.sections.get("extra", []) if line.strip())
        assert got == catalogue.EXPECT[bundle_name], (
            f"behaviour.extra: {runtime_name} shows {got!r}, the config asks {catalogue.EXPECT[bundle_name]!r} "
            f"(no runc reference: {catalogue.NO_REFERENCE[bundle_name]})")
        return
    ref = result_or_fail(runner, rtlib.REFERENCE, bundle_name)
    diffs = checks.behaviour_diffs(runtime_name, bundle_name, ref, res)
    rtlib.assert_no_unaccepted(diffs, accepted, ("behaviour", runtime_name, bundle_name), catalogue.BUGS)


def test_no_mount_namespace_leaves_the_host_unchanged(runner, runtime_name):
    """ns-mount-absent runs in a private mount namespace made for the test
    (catalogue.WRAP): the host's root mount and everything under the
    session's directory read the same in /proc/self/mountinfo afterwards."""
    res = result_or_fail(runner, runtime_name, "ns-mount-absent")
    assert res.host_mounts_changed == [], f"{runtime_name} changed the host's mounts: {res.host_mounts_changed}"


def agent_doc(runner, res):
    """What the seccomp agent logged of this container: the hand-off (fd and
    listenerMetadata) and its answers."""
    lines = [line for line in runner.helpers.agent_log.read_text().splitlines() if f"container {res.cid} " in line]
    doc = {"handoffs": str(len(lines))}
    if lines:
        doc["fd"] = "received" if " notify fd received" in lines[0] else "missing"
        doc["metadata"] = lines[0].partition(" metadata=")[2]
    return doc


def test_seccomp_agent_handoff(runner, accepted, runtime_name):
    """seccomp-notify: the runtime hands the notify fd and the config's
    listenerMetadata to the agent on listenerPath, once (what the container
    saw of the agent's answer is test_behaviour's)."""
    res = result_or_fail(runner, runtime_name, "seccomp-notify")
    # the notified mkdir got the agent's answer (EDQUOT), not the kernel's
    assert [x for x in res.sections.get("extra", []) if x.strip()] == ["Disk quota exceeded", "x-not-made"], \
        f"behaviour.extra: {runtime_name}: {res.sections.get('extra')}"
    doc = agent_doc(runner, res)
    if runtime_name == rtlib.REFERENCE:
        assert doc == {"handoffs": "1", "fd": "received", "metadata": "conformance-metadata"}, doc
        return
    ref = agent_doc(runner, result_or_fail(runner, rtlib.REFERENCE, "seccomp-notify"))
    diffs = rtlib.compare_docs("behaviour", runtime_name, "seccomp-notify", {"agent": ref}, {"agent": doc})
    rtlib.assert_no_unaccepted(diffs, accepted, ("behaviour", runtime_name, "seccomp-notify"))
