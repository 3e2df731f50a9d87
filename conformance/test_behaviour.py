"""Check 4: what the container sees is the same under every runtime as
under runc, for each bundle of the catalogue."""
import pytest

import catalogue
import rtlib
from conftest import apply_xfail, result_or_fail


def test_behaviour(request, runner, accepted, runtime_name, bundle_name):
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    doc = rtlib.behaviour_doc(res)
    # the probe ran to its end: every section is there
    assert "end" in res.sections, f"probe output incomplete:\n{res.output}\nstderr:\n{res.stderr}"
    if runtime_name == rtlib.REFERENCE:
        return
    ref = rtlib.behaviour_doc(result_or_fail(runner, rtlib.REFERENCE, bundle_name))
    diffs = rtlib.compare_docs("behaviour", runtime_name, bundle_name, ref, doc, flat=False)
    rtlib.assert_no_unaccepted(diffs, accepted, catalogue.BUGS, ("behaviour", runtime_name, bundle_name))
