"""Tracing one container with glasstrace, for the syscall-order check
(test_syscall_order.py) and the planted-defect test.

How the traces are taken. glasstrace stops recording only once the traced
command has exited *and* every process of its tree is gone (docs/TRACER.md,
"Start modes"). `create` returns while the container's init lives on, blocked
until `start`, so the trace of `create` cannot end before the container's
process does. Each case therefore runs three glasstrace processes side by
side, all started with `-- CMD` so nothing is missed:

1. `glasstrace -o create.jsonl -- RUNTIME --root R create --bundle B ID` in the
   background; we poll `RUNTIME state ID` until it says `created`;
2. `glasstrace -o start.jsonl -- RUNTIME --root R start ID` (background as
   well: glasstrace's own tear-down after a glassrun trace — detaching the
   sleepable USDT uprobes — takes seconds, and nothing needs to wait for it);
   we poll `state` until `stopped`;
3. `glasstrace -o delete.jsonl -- RUNTIME --root R delete ID` for the hooks
   bundle (poststop runs there); the other bundles are deleted untraced;

then we wait for the three glasstrace processes. The create trace holds the
whole life of the container's init up to its exit, including the user
program's execve; every `ts` is bpf_ktime_get_ns (CLOCK_MONOTONIC), so the
moments of the three traces compare directly.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import time

import catalogue
import rtlib
import trace_rules as tr

GLASSTRACE = pathlib.Path(os.environ.get("GLASSTRACE", rtlib.BUILD / "tracer" / "glasstrace"))


# --------------------------------------------------------------------------
# tracing one container

@dataclasses.dataclass
class Traced:
    runtime: str
    bundle: str
    cid: str = ""
    bundle_dir: str = ""
    root: str = ""
    cfg: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    create_ev: list = dataclasses.field(default_factory=list)
    start_ev: list = dataclasses.field(default_factory=list)
    delete_ev: list | None = None
    create_ms: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    create_trace: str = ""   # the JSONL trace of `create`

    def tokens(self):
        """What is per run in this trace's milestones -> the token it reads as."""
        return {"<rootfs>": pathlib.Path(self.bundle_dir) / "rootfs", "<bundle>": self.bundle_dir,
                "<root>": self.root, "<id>": self.cid}

    def timeline(self):
        return tr.build_timeline(self.cfg, self.create_ms, self.create_ev, self.start_ev, self.delete_ev)


def compare(ref, res):
    """`glasstrace diff --changes` of runc's create trace and the runtime's:
    the one comparison of milestones (normalised, aligned, each differing
    step moved/absent/extra with its step number; docs/TRACER.md)."""
    cmd = [str(GLASSTRACE), "diff", "--changes", ref.create_trace, res.create_trace]
    for flag, t in (("--subst-a", ref), ("--subst-b", res)):
        cmd += [f"{flag}={token}={value}" for token, value in t.tokens().items() if value]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"glasstrace diff --changes exited {p.returncode}: {p.stderr.strip()[:400]}")
    doc = json.loads(p.stdout)
    if doc.get("v") != 1:
        raise ValueError(f"glasstrace diff --changes: version {doc.get('v')!r}, want 1")
    return doc


def hook_script(path, name, marker=None):
    body = "#!/bin/sh\ncat >/dev/null\n" + (f"echo {name} >> {marker}\n" if marker else "") + "exit 0\n"
    path.write_text(body)
    path.chmod(0o755)


class Tracer:
    def __init__(self, runner, tmp):
        self.runner, self.tmp = runner, tmp
        self.cache: dict[tuple, Traced] = {}
        self.live: list = []   # (rt, root, cid) not yet deleted

    def build(self, rt_name, bundle):
        base = self.tmp / rt_name / bundle
        bdir, ctx = self.runner.build_bundle(rt_name, bundle, base)
        cfg = rtlib.load_config(bdir)
        if bundle == "hooks":
            hb = base / "hookbin"
            hb.mkdir()
            inside = ctx["rootfs"] / "hookbin"
            inside.mkdir()
            hooks = {}
            for n in tr.HOOKS:
                if n == "startContainer":   # runs in the container: its path is in the rootfs
                    hook_script(inside / f"{n}.sh", n)
                    hooks[n] = [{"path": f"/hookbin/{n}.sh", "args": [f"{n}.sh"]}]
                else:
                    hook_script(hb / f"{n}.sh", n, ctx["marker_dir"] / "order")
                    hooks[n] = [{"path": str(hb / f"{n}.sh"), "args": [f"{n}.sh"]}]
            cfg["hooks"] = hooks
        rtlib.save_config(bdir, cfg)
        return bdir, cfg

    def get(self, rt_name, bundle):
        key = (rt_name, bundle)
        if key not in self.cache:
            rt = self.runner.rt(rt_name)
            self.cache[key] = self.trace(rt, bundle)
        return self.cache[key]

    def trace(self, rt, bundle):
        t0 = time.monotonic()
        res = Traced(rt.name, bundle)
        try:
            bdir, res.cfg = self.build(rt.name, bundle)
        except Exception as e:  # noqa: BLE001
            res.error = f"cannot build bundle {bundle}: {e}"
            return res
        base = bdir.parent
        root = base / "root"
        root.mkdir(exist_ok=True)
        res.bundle_dir, res.root = str(bdir), str(root)
        res.create_trace = str(base / "create.jsonl")
        res.cid = cid = rtlib.unique_id(rt.name, "so-" + bundle)
        procs = {}

        def gt(step, *args):
            out = open(base / f"{step}.out", "w")
            err = open(base / f"{step}.err", "w")
            wrap = catalogue.WRAP.get(bundle, []) if step == "create" else []
            # --no-sched: the checks read syscalls and milestones only.
            p = subprocess.Popen([str(GLASSTRACE), "--no-sched", "-o", str(base / f"{step}.jsonl"), "--", *wrap,
                                  *rt.cmd(root, *args)],
                                 stdin=rtlib.scratch_stdio(), stdout=out, stderr=err)
            out.close()
            err.close()
            procs[step] = p
            return p

        def errtext(step):
            f = base / f"{step}.err"
            return f.read_text().strip()[-800:] if f.exists() else ""

        def wait_for(step, want, limit=30.0):
            end = time.monotonic() + limit
            while time.monotonic() < end:
                if rtlib.get_state(rt, root, cid).get("status") == want:
                    return
                p = procs[step]
                if p.poll() is not None and p.returncode != 0:
                    raise RuntimeError(f"`{rt.name} {step}` exited {p.returncode}: {errtext(step)}")
                time.sleep(0.05)
            raise RuntimeError(f"`{rt.name} {step}`: no `{want}` status within {limit:.0f}s: {errtext(step)}")

        self.live.append((rt, root, cid))
        try:
            gt("create", "create", "--bundle", bdir, cid)
            wait_for("create", "created")
            gt("start", "start", cid)
            wait_for("start", "stopped")
            p = procs["start"]
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            if p.returncode not in (0, None):
                raise RuntimeError(f"`{rt.name} start` exited {p.returncode}: {errtext('start')}")
            if bundle == "hooks":
                p = gt("delete", "delete", cid)
            else:
                p = rtlib._run(rt.cmd(root, "delete", cid))
            for step, gp in procs.items():
                gp.wait(timeout=60)
                if gp.returncode != 0:
                    raise RuntimeError(f"`{rt.name} {step}` (traced) exited {gp.returncode}: {errtext(step)}")
            res.create_ev = tr.load_events(base / "create.jsonl")
            res.start_ev = tr.load_events(base / "start.jsonl")
            if "delete" in procs:
                res.delete_ev = tr.load_events(base / "delete.jsonl")
            for ev in (res.create_ev, res.start_ev, res.delete_ev or []):
                s = [e for e in ev if e.get("type") == "summary"]
                if s and s[0].get("dropped"):
                    raise RuntimeError(f"glasstrace dropped {s[0]['dropped']} events")
            res.create_ms = tr.load_milestones(GLASSTRACE, base / "create.jsonl")["milestones"]
        except Exception as e:  # noqa: BLE001
            res.error = str(e)
        finally:
            for step, gp in procs.items():
                if gp.poll() is None:       # first signal goes to the command, the second stops glasstrace
                    for _ in range(2):
                        gp.send_signal(signal.SIGINT)
                        try:
                            gp.wait(timeout=5)
                            break
                        except subprocess.TimeoutExpired:
                            pass
                    if gp.poll() is None:
                        gp.kill()
                        gp.wait()
            rtlib.force_delete(rt, root, cid)
            self.live.remove((rt, root, cid))
            res.seconds = time.monotonic() - t0
        return res

    def close(self):
        for rt, root, cid in list(self.live):
            rtlib.force_delete(rt, root, cid)
