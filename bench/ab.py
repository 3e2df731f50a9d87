#!/usr/bin/env python3
"""ab.py: paired A/B of glassrun builds (and crun/runc) on `run` and `exec`.

  bench/ab.py --rt base=/tmp/glassrun-base --rt new=build/runtime/glassrun \
              --rt crun=/usr/bin/crun [--rounds 30] [--concurrent 32 64] [--json OUT]

Every round runs each runtime once per figure, in the rounds' balanced
order (lifecycle.round_order: each runtime in every place and after every
other alike), so the load of the rest of the machine hits all alike; the
ratios are paired (sample i of X over sample i of the first --rt, same
round) and reported as median and p25-p75. Wall time and CPU time
("run cpu": user+sys of the runtime and the processes it reaped); lifecycle.py's
processes (bench_spawn when built), bundles and clean-up are reused.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lifecycle as lc  # noqa: E402


def q(xs, p):
    return lc.pct(xs, p)


def report(samples, names, ref):
    out = {}
    for fig, per in samples.items():
        out[fig] = {}
        for n in names:
            xs = per.get(n, [])
            if not xs:
                continue
            row = {"median_ms": statistics.median(xs) * 1e3, "p25_ms": q(xs, 25) * 1e3, "p75_ms": q(xs, 75) * 1e3}
            rs = [a / b for a, b in zip(xs, per[ref]) if b > 0]
            row.update({"ratio_median": statistics.median(rs), "ratio_p25": q(rs, 25), "ratio_p75": q(rs, 75)})
            out[fig][n] = row
    return out


def measure(args, tmp):
    """The rounds: every runtime's samples of every figure, paired by round."""
    rts = []
    for spec in args.rt:
        name, path = spec.split("=", 1)
        rts.append(lc.Runtime(name, os.path.abspath(path), tmp))
    if args.sealed:
        sealed = lc.sealed_runtime(args.sealed, rts[0].path, tmp)
        if not sealed:
            sys.exit("ab: --sealed: no sealed copy could be made")
        rts.append(sealed)
    some_glassrun = next((r.path for r in rts if "glassrun" in os.path.basename(r.path)), rts[0].path)
    true_b = lc.make_bundle(tmp, some_glassrun, ["true"])
    sleep_b = lc.make_bundle(tmp, some_glassrun, ["sleep", "100000"])
    load = os.getloadavg()
    samples = {}
    targets = {r.name: lc.ExecTarget(r, sleep_b) for r in rts} if "exec" in args.figures else {}
    try:
        for i in range(-args.warmup, args.rounds):
            for rt in lc.round_order(rts, i):
                for fig in args.figures:
                    if args.gap:
                        time.sleep(args.gap)
                    r = lc.fig_run(rt, true_b) if fig == "run" else targets[rt.name].exec_true()
                    if i >= 0:  # wall, and CPU (user+sys of the runtime and what it reaped)
                        samples.setdefault(fig, {}).setdefault(rt.name, []).append(r["wall"])
                        samples.setdefault(fig + " cpu", {}).setdefault(rt.name, []).append(r["cpu"])
            for n in args.concurrent:
                for rt in lc.round_order(rts, i):
                    per_s = lc.fig_concurrent(rt, true_b, n)["per_s"]
                    if i >= 0:  # containers/s: stored as seconds per container, so lower is better too
                        samples.setdefault(f"concurrent_{n}", {}).setdefault(rt.name, []).append(1 / per_s)
            if i >= 0 and i % 5 == 4:
                lc.log(f"ab: round {i + 1}/{args.rounds}")
    finally:
        for t in targets.values():
            t.close()
        for rt in rts:
            for cid in rt.ids:
                if rt.status(cid) is not None:
                    rt.force_delete(cid)
        lc.unseal_copies(rts)
    return rts, samples, load


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rt", action="append", required=True, metavar="NAME=PATH",
                    help="a runtime; the first is the reference of the ratios")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--concurrent", type=int, nargs="*", default=[], metavar="N",
                    help="also N runs at once per round (containers/s, paired)")
    ap.add_argument("--figures", nargs="+", default=["run", "exec"], choices=["run", "exec"])
    ap.add_argument("--spawn", default=os.path.join(lc.REPO, "build/bench/bench_spawn"))
    ap.add_argument("--json", help="write samples and summary here")
    ap.add_argument("--gap", type=float, default=0, metavar="SECONDS",
                    help="sleep this long before each sample: every run comes alone, as a single `run` on an "
                         "otherwise idle machine does (the kernel's deferred work, e.g. an RCU grace period "
                         "a cgroup.procs write waits for, is not shared with the runtime before it)")
    ap.add_argument("--sealed", metavar="NAME",
                    help="also NAME: a sealed install (glassrun-seal) of a copy of the first --rt")
    args = ap.parse_args()
    if os.access(args.spawn, os.X_OK):
        lc.SPAWN = args.spawn
    with lc.scratch_dir("glassrun-ab-") as tmp:
        rts, samples, load = measure(args, tmp)
    names = [r.name for r in rts]
    summary = report(samples, names, names[0])
    load_end = os.getloadavg()
    gap = f", {args.gap:g} s alone before each sample" if args.gap else ""
    print(f"rounds {args.rounds} (+{args.warmup} warm-up){gap}, load {load[0]:.1f} at start, {load_end[0]:.1f} at end; "
          f"ratios paired against {names[0]} (median, p25-p75; concurrent_N: of the seconds per container)")
    print("| figure | runtime | median ms | p25-p75 ms | ÷ " + names[0] + " |")
    print("|---|---|---|---|---|")
    for fig, per in summary.items():
        for n, r in per.items():
            if fig.startswith("concurrent_"):
                med = f"{1e3 / r['median_ms']:.1f}/s"
                iqr = f"{1e3 / r['p75_ms']:.1f}-{1e3 / r['p25_ms']:.1f}/s"
            else:  # "run cpu" and "exec cpu" are milliseconds of CPU too
                med, iqr = f"{r['median_ms']:.1f}", f"{r['p25_ms']:.1f}-{r['p75_ms']:.1f}"
            print(f"| {fig} | {n} | {med} | {iqr} | {r['ratio_median']:.3f} ({r['ratio_p25']:.2f}-{r['ratio_p75']:.2f}) |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runtimes": {r.name: r.path for r in rts}, "rounds": args.rounds, "gap_s": args.gap, "load": [load, load_end],
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "samples": samples, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
