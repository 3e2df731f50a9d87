"""Each check can fail on its own: tools/planted/ holds runtimes that are
glassrun with one defect each (never shipped: wrappers that bend glassrun's
input or output). Each defect is run through all five checks, with the same
comparison functions the checks use (checks.py), against runc; what the
defect adds to real glassrun's differences must be reported by the checks
named here and by no other, and no accepted difference may hide it."""
import os

import pytest

import checks
import rtlib

PLANTED = rtlib.REPO / "tools" / "planted"
# defect -> (bundle, the checks that must see it)
DEFECTS = {
    "no-sethostname": ("hostname-host", {"milestones"}),
    "wrong-cgroup-path": ("default", {"state_json"}),
    "wrong-status": ("default", {"state"}),
    "extra-capability": ("process-capabilities-user", {"behaviour", "audit"}),
    "no-ipc-namespace": ("default", {"behaviour", "state_json", "milestones", "audit"}),
    "leak-fd": ("default", {"audit"}),
}
ALL_CHECKS = ("state", "state_json", "behaviour", "milestones", "audit")


def keyed(diffs):
    return {(d.key, d.change): d for d in diffs}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_planted_defect_is_caught_by_its_check_alone(runner, lifecycles, tracer, defect):
    bundle, want = DEFECTS[defect]
    real = runner.rt("glassrun")
    runner.rt(rtlib.REFERENCE)
    os.environ["GLASSRUN"] = real.path        # the wrappers exec this glassrun
    planted = rtlib.Runtime(f"planted-{defect}", str(PLANTED / defect), version="planted")
    # a fresh copy: what the planted runs match must not count as a use of
    # an entry in the stale-entry report
    entries = rtlib.load_accepted()

    ref, glassrun = runner.get(rtlib.REFERENCE, bundle), runner.get("glassrun", bundle)
    bent = runner.get("glassrun", bundle, rt=planted)
    for r in (ref, glassrun, bent):
        assert not r.error, f"{r.runtime} on {bundle}: {r.error}\n{r.stderr}"
    ref_tr, glassrun_tr = tracer.get(rtlib.REFERENCE, bundle), tracer.get("glassrun", bundle)
    bent_tr = tracer.trace(planted, bundle)
    for t in (ref_tr, glassrun_tr, bent_tr):
        assert not t.error, f"{t.runtime} traced on {bundle}: {t.error}"
    ref_lc, glassrun_lc = lifecycles(rtlib.REFERENCE), lifecycles("glassrun")
    # a wrong status makes the wait for it run out: keep that short
    bent_lc = rtlib.lifecycle(planted, runner.root(planted.name), wait_limit=5)

    def diffs(check, pair):
        a, b = pair
        return {"state": lambda: checks.state_diffs("glassrun", a, b),
                "state_json": lambda: checks.state_json_diffs("glassrun", bundle, a, b),
                "behaviour": lambda: checks.behaviour_diffs("glassrun", bundle, a, b),
                "milestones": lambda: checks.milestone_diffs("glassrun", bundle, a, b),
                "audit": lambda: checks.audit_diffs("glassrun", bundle, a, b)}[check]()

    pairs = {"state": ((ref_lc, glassrun_lc), (ref_lc, bent_lc)),
             "state_json": ((ref, glassrun), (ref, bent)),
             "behaviour": ((ref, glassrun), (ref, bent)),
             "milestones": ((ref_tr, glassrun_tr), (ref_tr, bent_tr)),
             "audit": ((ref_tr, glassrun_tr), (ref_tr, bent_tr))}
    caught, report = set(), []
    for check in ALL_CHECKS:
        before = keyed(diffs(check, pairs[check][0]))
        after = keyed(diffs(check, pairs[check][1]))
        added = [d for k, d in after.items() if k not in before]
        if not added:
            continue
        caught.add(check)
        rtlib.accept(added, entries)
        hidden = [d for d in added if d.accepted]
        assert not hidden, (f"{defect}: an accepted difference hides it: "
                            + "; ".join(f"{d.name()} ({d.change}) <- {d.accepted}" for d in hidden))
        report.append(f"{check}: " + ", ".join(f"{d.name()} ({d.change})" for d in added))
    assert caught == want, f"{defect}: seen by {sorted(caught)}, want {sorted(want)}:\n" + "\n".join(report)
