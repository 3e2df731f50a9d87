"""Hook order from the marker files each hook appends to (the trace-based
checks of the ordering rules are still to come)."""
import pytest

import rtlib
from conftest import apply_xfail, result_or_fail

BEFORE_START = ["prestart", "createRuntime", "createContainer", "startContainer"]


@pytest.mark.parametrize("bundle_name", ["hooks"])
def test_hook_order(request, runner, runtime_name, bundle_name):
    apply_xfail(request, runtime_name, bundle_name)
    res = result_or_fail(runner, runtime_name, bundle_name)
    m = res.markers
    assert sorted(m) == sorted(rtlib_hooks()), f"{runtime_name}: hooks run: {m}"
    assert [x for x in m if x in BEFORE_START] == BEFORE_START, f"{runtime_name}: order {m}"
    assert m[-1] == "poststop", f"{runtime_name}: poststop is not last: {m}"


def rtlib_hooks():
    import catalogue
    return catalogue.HOOK_NAMES
