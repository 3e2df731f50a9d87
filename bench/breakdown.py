#!/usr/bin/python3
"""Where a `run` spends its time: K traced `run`s of `true` per runtime under
glasstrace, aggregated (one trace on a busy 2-core machine is mostly
scheduling noise; medians over K are not).

  bench/breakdown.py [-k 7] [--glassrun PATH] [--glasstrace PATH] [--markdown]

Per runtime: median total syscalls, median trace span (first exec to last
exit), the syscalls by count and by time, for glassrun the median
duration of each USDT step (create.*, init.*, start.*, delete), and per
step the critical path (`glasstrace critical-path`, docs/TRACER.md): median
wall, on-CPU, runnable (waiting for a CPU) and blocked ms, for glassrun's
USDT steps and for every runtime's milestone phases.
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def load(path):
    ev = []
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") in ("meta", "summary") or "ts" not in e:
            continue
        ev.append(e)
    return ev


def analyze(ev):
    ts = [e["ts"] for e in ev]
    sc = [e for e in ev if e.get("type") == "syscall"]
    count = collections.Counter(e["name"] for e in sc)
    dur = collections.Counter()
    for e in sc:
        dur[e["name"]] += (e.get("dur_ns") or 0) / 1e6
    steps, open_ = {}, {}
    for e in ev:
        if e.get("type") != "step":
            continue
        key = (e.get("pid"), e.get("name"))
        if e.get("phase") == "begin" or e.get("is_end") is False:
            open_[key] = e["ts"]
        elif key in open_:
            steps[e["name"]] = steps.get(e["name"], 0) + (e["ts"] - open_.pop(key)) / 1e6
    # time from the runtime's exec to its first step: loader + static init + CLI
    first_exec = next((e["ts"] for e in ev if e.get("type") == "exec"), min(ts))
    first_step = next((e["ts"] for e in ev if e.get("type") == "step"), None)
    if first_step:
        steps["(startup: exec to first step)"] = (first_step - first_exec) / 1e6
    return {"span_ms": (max(ts) - min(ts)) / 1e6, "syscalls": len(sc), "count": count, "dur": dur,
            "steps": steps}


def critical_path(gt, trace):
    """{"kind name": (wall, on_cpu, runnable, blocked) ms} from glasstrace critical-path --json."""
    doc = json.loads(subprocess.run([gt, "critical-path", "--json", trace], check=True, capture_output=True,
                                    text=True).stdout)
    return {f'{s["kind"]} {s["name"]}': tuple(s[k] / 1e6 for k in ("wall_ns", "on_cpu_ns", "runnable_ns", "blocked_ns"))
            for s in doc["steps"]}


def print_critical_path(res, med):
    """Per step: median wall / on-CPU / runnable / blocked ms, one column per runtime."""
    names = list(res)
    order = []
    for n in names:  # glassrun's USDT steps first, then phases in their order of appearance
        for r in res[n]:
            order += [k for k in r["path"] if k not in order]
    order.sort(key=lambda k: not k.startswith("step "))
    print("\n### critical path per step, median ms: wall / on-CPU / runnable / blocked\n")
    print("(docs/TRACER.md \"Critical path\": along the tasks the step waited on; on-CPU + runnable + blocked = wall)\n")
    print("| step | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in order:
        cells = []
        for n in names:
            rows = [r["path"][k] for r in res[n] if k in r["path"]]
            cells.append(" / ".join(f"{med([row[i] for row in rows]):.2f}" for i in range(4)) if rows else "")
        print(f"| {k} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", type=int, default=7)
    ap.add_argument("--glassrun", default=os.path.join(REPO, "build/runtime/glassrun"))
    ap.add_argument("--glasstrace", default=None)
    ap.add_argument("--runtimes", nargs="+", default=["glassrun", "crun", "runc"])
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    gt = args.glasstrace or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.glassrun))),
                                         "tracer/glasstrace")
    paths = {"glassrun": os.path.abspath(args.glassrun), "runc": shutil.which("runc"), "crun": shutil.which("crun"),
             "youki": shutil.which("youki")}
    tmp = tempfile.mkdtemp(prefix="glassrun-breakdown-")
    try:
        bundle = os.path.join(tmp, "bundle")
        subprocess.run([os.path.join(REPO, "tools/mkbundle"), "--glassrun", paths["glassrun"], "-o", bundle, "--",
                        "true"], check=True, stdout=subprocess.DEVNULL)
        res = collections.defaultdict(list)
        for i in range(args.k + 1):  # first round: warm-up
            for name in args.runtimes:
                if not paths.get(name):
                    continue
                root = os.path.join(tmp, "root-" + name)
                os.makedirs(root, exist_ok=True)
                cid = f"bd-{name}-{uuid.uuid4().hex[:8]}"
                out = os.path.join(tmp, "t.jsonl")
                usdt = ["--usdt", paths[name]] if name == "glassrun" else []
                subprocess.run([gt, "-o", out, *usdt, "--", paths[name], "--root", root, "run", "-b", bundle, cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                subprocess.run([paths[name], "--root", root, "delete", "--force", cid],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if i > 0:
                    r = analyze(load(out))
                    r["path"] = critical_path(gt, out)
                    res[name].append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    print(f"## run of `true` under glasstrace, median of {args.k} traces per runtime\n")
    print("| runtime | syscalls | trace span ms |")
    print("|---|---|---|")
    for name, rs in res.items():
        print(f"| {name} | {med([r['syscalls'] for r in rs]):.0f} | {med([r['span_ms'] for r in rs]):.1f} |")
    names = list(res)
    allsc = set()
    for rs in res.values():
        for r in rs:
            allsc |= set(r["count"])
    rows = []
    for s in allsc:
        c = {n: med([r["count"].get(s, 0) for r in res[n]]) for n in names}
        d = {n: med([r["dur"].get(s, 0) for r in res[n]]) for n in names}
        rows.append((s, c, d))
    print(f"\n### syscalls by count (top {args.top} of glassrun's), median count / median total ms\n")
    print("| syscall | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for s, c, d in sorted(rows, key=lambda r: -r[1].get("glassrun", 0))[:args.top]:
        print(f"| {s} | " + " | ".join(f"{c[n]:.0f} / {d[n]:.2f}" for n in names) + " |")
    print(f"\n### syscalls by time in glassrun (top {args.top}), median total ms (count)\n")
    print("| syscall | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for s, c, d in sorted(rows, key=lambda r: -r[2].get("glassrun", 0))[:args.top]:
        print(f"| {s} | " + " | ".join(f"{d[n]:.2f} ({c[n]:.0f})" for n in names) + " |")
    if "glassrun" in res:
        steps = collections.defaultdict(list)
        for r in res["glassrun"]:
            for k, v in r["steps"].items():
                steps[k].append(v)
        print("\n### glassrun steps (USDT), median ms\n")
        print("| step | median ms | min ms |")
        print("|---|---|---|")
        for k, v in sorted(steps.items(), key=lambda kv: -med(kv[1])):
            print(f"| {k} | {med(v):.2f} | {min(v):.2f} |")
    print_critical_path(res, med)
    return 0


if __name__ == "__main__":
    sys.exit(main())
