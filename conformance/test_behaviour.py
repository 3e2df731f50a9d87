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
