"""What each check compares with runc: one function per check turning two
results (runc's and the runtime's) into Differences. The tests of each check
and the planted-defect test (test_planted_defects.py) call the same
functions, so a defect the planted test catches is one the check catches."""
from __future__ import annotations

import pathlib

import audit
import rtlib
import tracing

# ---- check 1: `state` through the lifecycle ---------------------------------
STEPS = ["created", "running", "paused", "running-again", "stopped"]


def state_diffs(runtime, ref_states, states, bundle="lifecycle"):
    """ref_states/states: step -> the `state` document at that step."""
    diffs = []
    for step in STEPS:
        if step not in ref_states and step not in states:
            continue
        a, b = ref_states.get(step) or {}, states.get(step) or {}
        diffs += rtlib.compare_docs("state", runtime, bundle,
                                    {step: {"keys": sorted(a), "status": a.get("status")}},
                                    {step: {"keys": sorted(b), "status": b.get("status")}})
    return diffs


# ---- check 2: <root>/<id>/state.json ----------------------------------------
CONFIG_FIELDS = ["rootfs", "hostname", "namespaces", "mounts", "mask_paths", "readonly_paths", "capabilities"]
MOUNT_FIELDS = ["destination", "device", "flags", "data"]


def state_json_doc(res):
    sj = res.state_json
    doc = {"top_level": {k: type(v).__name__ for k, v in sj.items()}}
    doc["cgroup_paths"] = rtlib.norm_value(sj.get("cgroup_paths"), res)
    ns = sj.get("namespace_paths") or {}
    doc["namespace_paths"] = rtlib.norm_value(ns, res)
    cfg = sj.get("config") or {}
    c = {}
    for f in CONFIG_FIELDS:
        v = cfg.get(f)
        # lists of objects become maps keyed by what names them, so a
        # difference names it (config.namespaces.NEWIPC, config.mounts./proc.flags)
        if f == "mounts" and isinstance(v, list):
            c["mount_order"] = rtlib.norm_value([m.get("destination") or "?" for m in v], res)
            v = {_unique(m.get("destination") or "?", i, v): {k: m.get(k) for k in MOUNT_FIELDS[1:]}
                 for i, m in enumerate(v)}
        if f == "namespaces" and isinstance(v, list):
            v = {n.get("type") or "?": n.get("path") or "" for n in v}
        c[f] = rtlib.norm_value(v, res)
    doc["config"] = c
    return doc


def _unique(dest, i, mounts):
    """The key of mounts[i]: its destination, with #N for the N-th repeat."""
    n = sum(1 for m in mounts[:i] if (m.get("destination") or "?") == dest)
    return dest if n == 0 else f"{dest}#{n + 1}"


def state_json_diffs(runtime, bundle, ref_res, res):
    return rtlib.compare_docs("state_json", runtime, bundle, state_json_doc(ref_res), state_json_doc(res))


# ---- check 3: the milestone order of `create` (glasstrace) -------------------
def milestone_diffs(runtime, bundle, ref_traced, traced):
    """The changes `glasstrace diff --changes` finds between runc's create
    trace and the runtime's (tracing.compare): glasstrace normalises, aligns
    and classifies; only the accepted differences are applied here."""
    doc = tracing.compare(ref_traced, traced)
    rows = [(line["a"] or "", line["b"] or "") for line in doc["lines"]]
    return [rtlib.Difference("milestones", runtime, bundle, c["key"], doc["a"], doc["b"], change=c["change"],
                             aligned=rows, step=c["step"]) for c in doc["changes"]]


def first_divergence(diffs):
    """The first step (of glasstrace's alignment) where one of diffs lies, as
    the report shows it; None without diffs."""
    d = min((d for d in diffs if d.step), key=lambda d: d.step, default=None)
    if d is None:
        return None
    a, b = d.aligned[d.step - 1]
    return f"step {d.step}: {rtlib.REFERENCE} `{a or '-'}` | {d.runtime} `{b or '-'}`"


# ---- check 4: what the container sees ---------------------------------------
def behaviour_diffs(runtime, bundle, ref_res, res):
    return rtlib.compare_docs("behaviour", runtime, bundle, rtlib.behaviour_doc(ref_res), rtlib.behaviour_doc(res))


# ---- check 5: the container's first exec (glasstrace's exec_audit) -----------
def audit_doc(traced):
    """The first exec_audit of the create trace (audit.comparable_audit)."""
    a = audit.first_audit(traced.create_ev)
    if a is None:
        return {"exec": "<no exec_audit>"}
    base = str(pathlib.Path(traced.bundle_dir).parent)
    tokens = {"<bundle>": traced.bundle_dir, "<base>": base, "<root>": traced.root, "<id>": traced.cid}
    return audit.comparable_audit(a, traced.create_ev, tokens)


def audit_diffs(runtime, bundle, ref_traced, traced):
    """Field by field (audit.comparable_audit's names): a field only runc's
    audit has is "absent" (an fd runc hands on), one only the runtime's has
    "extra" (a leaked fd), a value that differs "changed"; a capability set
    is compared capability by capability (caps.effective:+CAP_X)."""
    diffs = rtlib.compare_docs("audit", runtime, bundle, audit_doc(ref_traced), audit_doc(traced), flat=False)
    for d in diffs:
        if d.change == "changed" and d.reference == "<absent>":
            d.change = "extra"
        elif d.change == "changed" and d.actual == "<absent>":
            d.change = "absent"
    return diffs
