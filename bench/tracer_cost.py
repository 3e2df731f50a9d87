#!/usr/bin/python3
"""What glasstrace costs (issue 18 item 4), paired and interleaved:

  loop      a shell loop of N (20) `RT run` of `true`, untraced and traced by
            `glasstrace -o F -- sh -c LOOP`, for glassrun, runc and crun:
            the steady-state cost of recording (goal: traced / untraced
            <= 1.10). Each round runs both variants of every runtime, in
            a balanced order (lifecycle.round_order); the ratio is traced / untraced of the same round.
            Each tracer with `glasstrace session` is also measured through
            a session ("+session": `glasstrace -o F --session -- sh -c
            LOOP`), whose CPU includes the daemon's, in its steady state:
            the session's programs attached when the loop starts (attaching
            from idle is the attach figure's). Every untraced sample runs
            with no session's programs attached.
  attach    one `glassrun run` untraced and `glasstrace -o F -- glassrun run`
            (what `glassrun --trace F run` execs): the per-run price of
            starting the tracer (goal: attach <= 10 ms), with glasstrace's
            own phase times (GLASSTRACE_TIMING=1: open and load, attach of
            the raw tracepoints and of the USDT probes, release). Each
            tracer that has `glasstrace session` is also measured through a
            session (the same, started once for both figures: the programs
            loaded once, `glasstrace -o F --session -- ...`; each sample
            starts with them detached, as after --idle-detach-ms),
            and `glassrun --trace F run` through the first one
            ("--trace+session": glassrun is the session's client itself).
            The other variants never use a session (GLASSTRACE_SESSION_DIR
            points nowhere).
  start     the loop figure's script with no runs (`sh -c` of a loop of
            `seq 0`), untraced and traced in the same variants: what every
            traced loop pays once, whatever its length (glasstrace's own
            process, the session's round trips, sh and seq recorded). With
            the loop figure it gives each loop's "per run" ratio: the loop's
            extra less the start's, over its untraced time less the start's
            (the steady state of recording, runs only).
  syscall   what recording one syscall costs the traced task: a tight loop
            of N (10000) getppid() calls (bench_syscall_loop) times itself,
            untraced and traced; the ns per call, its ratio and the extra
            ns (the "ms" columns of this figure are ns per syscall).
  rss       peak RSS of glasstrace (goal <= 16 MiB): ru_maxrss of the
            traced loops (the largest single process: glasstrace).
  bpf       where a traced loop's BPF time goes: the loop figure's loop of
            glassrun runs traced through each session, rounds interleaved,
            with the kernel's run-time statistics of BPF programs on
            (BPF_ENABLE_STATS: on while the figure holds its fd, the sysctl
            kernel.bpf_stats_enabled untouched); per session program, ns
            per run and runs per loop. The statistics add two clock reads
            to every run (an empty program shows ~100 ns a run here):
            compare variants, not absolute ns.
            Precise where the loop figure is not (quartiles within ~3 %
            of the median): the instrument for judging a BPF change.

The loop, start and syscall figures also have a "raw_tp floor" variant when
bench_raw_tp_floor is built: the command run with two empty programs on the
raw sys_enter and sys_exit tracepoints (bench/spawn/raw_tp_floor.c). What it
costs, any tracer built on those tracepoints costs before its programs do
anything; glasstrace's ratio less the floor's is glasstrace's own doing.

  bench/tracer_cost.py [--rounds 5] [--loop 20] [--attach-samples 20] [--syscall-rounds 10] [--markdown]
                       [--figures loop start attach syscall bpf]
                       [--glasstrace [LABEL=]PATH ...]

Several --glasstrace binaries (e.g. before=/tmp/old/glasstrace after=build/...)
are measured in the same rounds, interleaved: an A/B of tracer changes.

  bench/tracer_cost.py --pool RESULT.json RESULT.json ... [--markdown]

prints the table of several runs' paired rounds taken together: a median
with a narrower interval than one run's, where the loop figure's medians
move +-0.03 between runs of 40 rounds. It names what changed in the build's
sources between the results' commits: rounds of different builds pool to a
figure of neither.

Writes bench/results/tracer-cost-<timestamp>.json (build commit and flags,
load, every sample) and prints a table. Timing on a loaded machine is noise
unless paired: read the ratios and their spread, not the milliseconds.
Run as root.
"""
import argparse
import ctypes
import datetime
import errno
import json
import os
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lifecycle as lc  # noqa: E402  (shared process, runtime and build helpers)


NO_SESSION = "/nonexistent"  # GLASSTRACE_SESSION_DIR of the variants without a session (set in bench)


def loop_script(rt, bundle, prefix, n):
    """sh -c text running `rt run` n times with ids prefix-1..n."""
    return (f'for i in $(seq {n}); do "{rt.path}" --root "{rt.root}" run -b "{bundle}" "{prefix}-$i" '
            f'>/dev/null || exit 1; done')


def loop_once(rt, bundle, n, glasstrace=None, trace_file=None):
    """One loop of n runs, traced when glasstrace is given."""
    prefix = rt.new_id("loop")
    rt.ids.extend(f"{prefix}-{i}" for i in range(1, n + 1))
    argv = ["sh", "-c", loop_script(rt, bundle, prefix, n)]
    return traced_sample(rt, argv, [f"{prefix}-{i}" for i in range(1, n + 1)], glasstrace, trace_file)


def attach_once(g, bundle, glasstrace=None, trace_file=None):
    """One `glassrun run`, under glasstrace (with its phase times) when given."""
    cid = g.new_id("attach")
    return traced_sample(g, [g.path, "--root", g.root, "run", "-b", bundle, cid], [cid], glasstrace, trace_file)


class Floor:
    """The "raw_tp floor" variant: `bench_raw_tp_floor CMD` (empty programs
    on the raw syscall tracepoints while CMD runs; no trace is written)."""

    def __init__(self, path):
        self.path = path


def traced_argv(argv, glasstrace, trace_file):
    """argv run under glasstrace (a path, a Session or a Floor; None: as it is)."""
    if isinstance(glasstrace, Floor):
        return [glasstrace.path] + argv
    if isinstance(glasstrace, Session):
        return [glasstrace.path, "-o", trace_file, "--session", "--session-dir", glasstrace.dir, "--"] + argv
    if glasstrace:
        return [glasstrace, "-o", trace_file, "--"] + argv
    return argv


def writes_trace(glasstrace):
    return bool(glasstrace) and not isinstance(glasstrace, Floor)


class Session:
    """A session variant: `glasstrace -o F --session -- CMD`, or with
    via_glassrun `glassrun --trace F ...` (glassrun is then the session's
    client itself: no glasstrace is executed)."""

    def __init__(self, path, directory, via_glassrun=False):
        self.path, self.dir, self.via_glassrun = path, directory, via_glassrun

    def daemon_pid(self):
        return open(os.path.join(self.dir, "glasstrace.pid")).read().strip()


def session_daemon_cpu(glasstrace):
    """CPU seconds of the (single-threaded) session daemon, 0 without a
    session; schedstat's run time is in ns, /proc/PID/stat's in ticks."""
    if not isinstance(glasstrace, Session):
        return 0.0
    return int(open(f"/proc/{glasstrace.daemon_pid()}/schedstat").read().split()[0]) / 1e9


def traced_sample(rt, argv, ids, glasstrace, trace_file):
    """glasstrace: a path, or a Session to record through."""
    if isinstance(glasstrace, Session) and glasstrace.via_glassrun:
        argv = [argv[0], "--trace", trace_file] + argv[1:]
        os.environ["GLASSTRACE_SESSION_DIR"] = glasstrace.dir
    else:
        argv = traced_argv(argv, glasstrace, trace_file)
    os.environ["GLASSTRACE_TIMING"] = "1"
    daemon_cpu = session_daemon_cpu(glasstrace)
    try:
        wall, cpu, rss, err = lc.timed(argv)
        # the session daemon decodes and writes for the client: its CPU is
        # part of the traced run's cost (it is not the client's child)
        cpu += session_daemon_cpu(glasstrace) - daemon_cpu
    finally:
        del os.environ["GLASSTRACE_TIMING"]
        os.environ["GLASSTRACE_SESSION_DIR"] = NO_SESSION
        for cid in ids:
            if rt.status(cid) is not None:
                rt.force_delete(cid)
    sample = {"wall": wall, "cpu": cpu, "rss": rss}
    if writes_trace(glasstrace):
        summary = json.loads(open(trace_file).read().splitlines()[-1])
        sample["events"], sample["dropped"] = summary.get("events"), summary.get("dropped")
        sample["trace_bytes"] = os.path.getsize(trace_file)
        for line in err.splitlines():
            if line.startswith("glasstrace: timing: "):
                sample["phases_ms"] = json.loads(line[len("glasstrace: timing: "):])
        remove_trace(trace_file)
    return sample


def remove_trace(trace_file):
    """The next sample writes a new file, as the containers it runs are new:
    truncating the previous one (a loop's trace is ~4.5 MB) inside the next
    timed sample cost 2.3 ms on this VM's ext4, a filesystem cost that an
    untraced sample never pays (docs/BENCHMARKS.md, "Session 11")."""
    try:
        os.unlink(trace_file)
    except FileNotFoundError:
        pass


FIGURES = ("loop", "start", "attach", "syscall", "bpf")
SYSCALLS = 10000  # per bench_syscall_loop sample: ~2 MB of records, which the ring buffers hold


def syscall_once(loop_bin, glasstrace=None, trace_file=None):
    """ns per getppid() of bench_syscall_loop, traced when glasstrace is given
    (stored as "wall" in ms, so that the figure's ms columns read as ns)."""
    argv = traced_argv([loop_bin, str(SYSCALLS)], glasstrace, trace_file)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise lc.Failed(f"{argv[0]}: exit {r.returncode}: {r.stderr.strip()[:200]}")
    ns = float(r.stdout.split()[-1])
    sample = {"wall": ns * 1e-3, "cpu": ns * 1e-3, "rss": 0}
    if writes_trace(glasstrace):
        summary = json.loads(open(trace_file).read().splitlines()[-1])
        sample["events"], sample["dropped"] = summary.get("events"), summary.get("dropped")
        remove_trace(trace_file)
    return sample


NR_BPF = {"x86_64": 321, "aarch64": 280}  # bpf(2)'s number, by machine
BPF_ENABLE_STATS, BPF_STATS_RUN_TIME = 32, 0


def enable_bpf_stats():
    """An fd that keeps the kernel's BPF run-time statistics on while it is
    open (bpf(BPF_ENABLE_STATS)); closing it turns them off again unless
    someone else holds them on."""
    nr = NR_BPF.get(os.uname().machine)
    if nr is None:
        raise OSError(errno.ENOSYS, f"bpf(2)'s number on {os.uname().machine} is not known here")
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(struct.pack("I", BPF_STATS_RUN_TIME), 8)
    fd = libc.syscall(nr, BPF_ENABLE_STATS, attr, 8)
    if fd < 0:
        raise OSError(ctypes.get_errno(), f"bpf(BPF_ENABLE_STATS): {os.strerror(ctypes.get_errno())}")
    return fd


def program_names():
    """BPF program id -> name (bpftool prog show)."""
    r = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True)
    return {p["id"]: p.get("name", "") for p in json.loads(r.stdout)}


def daemon_programs(s):
    """{prog_id: (run_time_ns, run_cnt)} of the BPF programs a session's
    daemon holds, from its fds' fdinfo (the kernel's statistics)."""
    pid = s.daemon_pid()
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            info = dict(line.split(":\t", 1) for line in open(f"/proc/{pid}/fdinfo/{fd}").read().splitlines()
                        if ":\t" in line)
        except OSError:
            continue  # closed meanwhile
        if "prog_id" in info and "run_cnt" in info:
            out[int(info["prog_id"])] = (int(info["run_time_ns"]), int(info["run_cnt"]))
    return out


def bpf_once(rt, bundle, n, s, trace_file, names):
    """One loop figure loop traced through session s: its wall and, per
    program of the session, the ns and runs it added."""
    before = daemon_programs(s)
    sample = loop_once(rt, bundle, n, s, trace_file)
    after = daemon_programs(s)
    if set(after) - set(names):  # loaded since the figure began (a daemon restarted)
        names.update(program_names())
    sample["programs"] = {names.get(i, str(i)): {"ns": t - before[i][0], "runs": c - before[i][1]}
                          for i, (t, c) in after.items() if i in before and c > before[i][1]}
    return sample


def analyze_bpf(samples):
    """label -> program -> ns per run and runs per loop (medians over the
    rounds, with their 95 % interval)."""
    out = {}
    for label, rounds in samples.items():
        progs = {}
        for r in rounds:
            for name, v in ((r or {}).get("programs") or {}).items():
                progs.setdefault(name, []).append(v)
        out[label] = {name: {"ns_per_run": lc.summarize([v["ns"] / v["runs"] for v in vs]),
                             "runs": statistics.median(v["runs"] for v in vs),
                             "ms_per_loop": statistics.median(v["ns"] for v in vs) / 1e6}
                      for name, vs in sorted(progs.items())}
    return out


def bpf_table(summary):
    lines = ["BPF run time per program in a traced loop (kernel statistics on: an empty program shows ~100 ns a run; "
             "every run of the program, followed task or not; median [95 % CI] over the rounds):"]
    for label, progs in summary.items():
        for name, v in progs.items():
            ns = v["ns_per_run"]
            lines.append(f"  {label:24s} {name:22s} {lc.with_ci(ns, 1):>24s} ns/run  {v['runs']:8.0f} runs/loop  "
                         f"{v['ms_per_loop']:6.2f} ms/loop")
    return "\n".join(lines)


def session_attached(s):
    r = subprocess.run([s.path, "session", "status", "--dir", s.dir], capture_output=True, text=True)
    return "programs attached" in r.stdout


def wait_until_detached(sessions, limit_s=5.0):
    """A session keeps its programs attached for a while after its last
    trace (`--idle-detach-ms`, 200 ms): an untraced sample, and a traced one
    that pays attaching from idle, starts once none is attached. (A
    glasstrace older than the idle detach prints no "programs" in its
    status: nothing to wait for.)"""
    deadline = time.monotonic() + limit_s
    for _, s in sessions:
        if not s.via_glassrun:
            while time.monotonic() < deadline and session_attached(s):
                time.sleep(0.02)


def attach_now(s):
    """The steady state of a session in use: its programs attached, as a
    trace leaves them for --idle-detach-ms (an untimed `true` traced through
    it, just before the sample)."""
    subprocess.run([s.path, "-o", "/dev/null", "--session", "--session-dir", s.dir, "--", "true"],
                   capture_output=True, check=True)


def interleaved(result, figure, variants, rounds, fn, sessions=(), steady=False):
    """rounds (+1 warm-up) of every variant in a balanced order into
    samples[figure][label]. Each sample starts with every session's programs
    detached; with steady, a session's own sample starts with them attached
    (the steady state of tracing, whose attach the attach figure measures)."""
    for i in range(-1, rounds):
        for label, glasstrace in lc.round_order(variants, i):
            wait_until_detached(sessions)
            if steady and isinstance(glasstrace, Session) and not glasstrace.via_glassrun:
                attach_now(glasstrace)
            try:
                r = fn(glasstrace)
            except lc.Failed as e:
                result["errors"].append(f"{figure} {label}: {e}")
                r = None
            if i >= 0:
                result["samples"].setdefault(figure, {}).setdefault(label, []).append(r)


def start_sessions(tracers, tmp):
    """A session per tracer that has them: [(label, Session)]; the first one
    also serves `glassrun --trace` (label "--trace+session")."""
    sessions = []
    for label, path in tracers:
        d = os.path.join(tmp, f"session-{len(sessions)}")
        r = subprocess.run([path, "session", "start", "--dir", d], capture_output=True, text=True)
        if r.returncode == 0:
            sessions.append((f"{label}+session", Session(path, d)))
        else:
            lc.log(f"tracer_cost: {label}: no session variant ({(r.stderr or r.stdout).strip()[:120]})")
    if sessions:
        first = sessions[0][1]
        sessions.append(("--trace+session", Session(first.path, first.dir, via_glassrun=True)))
    return sessions


def stop_sessions(sessions):
    for _, s in sessions:
        if not s.via_glassrun:
            subprocess.run([s.path, "session", "stop", "--dir", s.dir], capture_output=True)


def bench(args):
    with lc.scratch_dir("glassrun-tracer-cost-") as tmp:
        return measure(args, tmp)


def measure(args, tmp):
    # a session running on the machine must not serve the plain variants
    global NO_SESSION
    NO_SESSION = os.environ["GLASSTRACE_SESSION_DIR"] = os.path.join(tmp, "no-session")
    runtimes = lc.find_runtimes(args, tmp)
    tracers = []
    for spec in args.glasstrace or [os.path.join(os.path.dirname(os.path.dirname(args.glassrun)), "tracer/glasstrace")]:
        label, _, path = spec.rpartition("=")
        if not os.access(path, os.X_OK):
            sys.exit(f"tracer_cost: {path} not executable")
        tracers.append((label or "traced", os.path.abspath(path)))
    variants = [("untraced", None)] + tracers
    result = {"schema": 1, "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "settings": {"rounds": args.rounds, "loop": args.loop, "attach_samples": args.attach_samples,
                           "syscall_rounds": args.syscall_rounds, "syscalls": SYSCALLS},
              "machine": lc.machine_info(runtimes), "build": lc.build_info(args.glassrun),
              "glasstrace": dict(tracers), "samples": {}, "errors": []}
    trace_file = os.path.join(tmp, "t.jsonl")
    t0 = time.perf_counter()
    try:
        bundle = lc.make_bundle(tmp, args.glassrun, ["true"])
        # Sessions serve the loops too (`glasstrace -o F --session -- sh -c
        # LOOP`: the steady state without the one-shot load and attach).
        sessions = start_sessions(tracers, tmp)
        try:
            loop_variants = variants + [(label, s) for label, s in sessions if not s.via_glassrun]
            floor_bin = os.path.join(os.path.dirname(os.path.dirname(args.glassrun)), "bench/bench_raw_tp_floor")
            if os.access(floor_bin, os.X_OK):
                loop_variants.append(("raw_tp floor", Floor(floor_bin)))
            else:
                lc.log(f"tracer_cost: no raw_tp floor variant: {floor_bin} not built")
            for rt in runtimes if "loop" in args.figures else []:
                lc.log(f"tracer_cost: {rt.name}: loops of {args.loop} runs, {args.rounds} rounds (+1 warm-up), "
                       f"{', '.join(v for v, _ in loop_variants)}")
                interleaved(result, f"loop_{rt.name}", loop_variants, args.rounds,
                            lambda gt, rt=rt: loop_once(rt, bundle, args.loop, gt, trace_file), sessions,
                            steady=True)
            g = next((rt for rt in runtimes if rt.name == "glassrun"), None)
            if runtimes and "start" in args.figures:
                # no run in it: which runtime's loop text it is does not matter
                lc.log(f"tracer_cost: the loop's script with no runs, {args.rounds} rounds, "
                       f"{', '.join(v for v, _ in loop_variants)}")
                interleaved(result, "start", loop_variants, args.rounds,
                            lambda gt: loop_once(runtimes[0], bundle, 0, gt, trace_file), sessions, steady=True)
            if g and args.attach_samples and "attach" in args.figures:
                lc.log(f"tracer_cost: one glassrun run, {args.attach_samples} rounds, "
                       f"{', '.join(v for v, _ in variants + sessions)}")
                interleaved(result, "attach", variants + sessions, args.attach_samples,
                            lambda gt: attach_once(g, bundle, gt, trace_file), sessions)
            loop_bin = os.path.join(os.path.dirname(os.path.dirname(args.glassrun)), "bench/bench_syscall_loop")
            if "syscall" in args.figures and args.syscall_rounds:
                if os.access(loop_bin, os.X_OK):
                    lc.log(f"tracer_cost: {SYSCALLS} getppid() calls, {args.syscall_rounds} rounds, "
                           f"{', '.join(v for v, _ in loop_variants)}")
                    interleaved(result, "syscall", loop_variants, args.syscall_rounds,
                                lambda gt: syscall_once(loop_bin, gt, trace_file), sessions,
                                steady=True)
                else:
                    lc.log(f"tracer_cost: no syscall figure: {loop_bin} not built")
            bpf_variants = [(label, s) for label, s in sessions if not s.via_glassrun]
            if g and "bpf" in args.figures and bpf_variants:
                lc.log(f"tracer_cost: BPF run time in loops of {args.loop} glassrun runs, {args.rounds} rounds, "
                       f"{', '.join(v for v, _ in bpf_variants)}")
                try:
                    stats_fd = enable_bpf_stats()
                except OSError as e:
                    lc.log(f"tracer_cost: no bpf figure: {e.strerror}")
                else:
                    try:
                        names = program_names()
                        bpf = {"samples": {}, "errors": []}
                        interleaved(bpf, "bpf", bpf_variants, args.rounds,
                                    lambda s: bpf_once(g, bundle, args.loop, s, trace_file, names), sessions,
                                    steady=True)
                        result["bpf"] = bpf["samples"].get("bpf", {})
                        result["errors"] += bpf["errors"]
                    finally:
                        os.close(stats_fd)
        finally:
            stop_sessions(sessions)
    finally:
        result["elapsed_s"] = time.perf_counter() - t0
        result["leftovers"] = lc.cleanup_check(runtimes)
    analyze(result)
    return result


def analyze(result):
    out = {}
    for fig, per in result["samples"].items():
        un = [s["wall"] if s else None for s in per.get("untraced", [])]
        un_cpu = [s["cpu"] if s else None for s in per.get("untraced", [])]
        out[fig] = {"untraced_ms": statistics.median([u for u in un if u]) * 1e3 if any(un) else None}
        first = None  # the first tracer: the others are also paired against it (A/B)
        for label, samples in per.items():
            if label == "untraced":
                continue
            tr = [s["wall"] if s else None for s in samples]
            tr_cpu = [s["cpu"] if s else None for s in samples]
            ok = [s for s in samples if s]
            v = {"traced_ms": statistics.median([t for t in tr if t]) * 1e3 if ok else None,
                 "ratio": lc.summarize([t / u for t, u in zip(tr, un) if t and u]),
                 # CPU time (user+sys of everything the traced command ran,
                 # glasstrace included) moves less with the machine's load.
                 "cpu_ratio": lc.summarize([t / u for t, u in zip(tr_cpu, un_cpu) if t and u]),
                 "vs_first": lc.summarize([t / f for t, f in zip(tr, first) if t and f]) if first else None,
                 "extra_ms": lc.summarize([(t - u) * 1e3 for t, u in zip(tr, un) if t and u]),
                 "peak_rss_kib": max((s["rss"] for s in ok), default=None),
                 "events": statistics.median([s.get("events") or 0 for s in ok]) if ok else None,
                 "dropped": sum((s.get("dropped") or 0) for s in ok)}
            if fig.startswith("loop_"):
                v["per_run"] = per_run_ratio(tr, un, result["samples"].get("start", {}), label)
            phases = [s["phases_ms"] for s in ok if "phases_ms" in s]
            if phases:
                v["phases_ms"] = {k: statistics.median(p.get(k, 0) for p in phases) for k in phases[0]}
            out[fig][label] = v
            first = first or tr
    result["summary"] = out
    if result.get("bpf"):
        result["bpf_summary"] = analyze_bpf(result["bpf"])


def per_run_ratio(traced, untraced, start, label):
    """A loop's traced / untraced with the start figure's medians taken out
    of both: 1 + (extra - the start's extra) / (untraced - the start's
    untraced), per round; None without start samples of this variant."""
    pairs = [(t["wall"], u["wall"]) for t, u in zip(start.get(label, []), start.get("untraced", [])) if t and u]
    if not pairs:
        return None
    start_extra = statistics.median(t - u for t, u in pairs)
    start_untraced = statistics.median(u for _, u in pairs)
    return lc.summarize([1 + (t - u - start_extra) / (u - start_untraced)
                         for t, u in zip(traced, untraced) if t and u and u > start_untraced])


# What the measured binaries are built from: results whose commits differ
# here measured different code (docs and benchmarks are not in it).
BUILD_INPUTS = ["CMakeLists.txt", "runtime/CMakeLists.txt", "runtime/src", "runtime/hot-text.txt",
                "tracer/CMakeLists.txt", "tracer/cmake", "tracer/src", "tracer/hot-text.txt"]


def pool(paths):
    """Several results as one: per figure and variant their paired rounds
    side by side, analysed as a single run of all of them (a loop's per-run
    ratio takes out the pooled start figure's medians). Only figures and
    variants every result has; the loop length must be the same. The files
    in BUILD_INPUTS that differ between the first result's commit and any
    other's are kept in the result and printed with the table: rounds of
    different code pool to a figure of neither."""
    results = [json.load(open(p)) for p in paths]
    loops = {r["settings"]["loop"] for r in results}
    if len(loops) != 1:
        sys.exit(f"tracer_cost: --pool: the results' loops differ in length ({sorted(loops)} runs)")
    unknown = [os.path.basename(p) for p, r in zip(paths, results) if not r["build"].get("commit")]
    if unknown:
        sys.exit(f"tracer_cost: --pool: no commit recorded in {', '.join(unknown)}: what was measured is unknown")
    commits = list(dict.fromkeys(r["build"]["commit"] for r in results))
    changed = set()
    for c in commits[1:]:
        diff = lc.quiet(["git", "-C", lc.REPO, "diff", "--name-only", commits[0], c, "--", *BUILD_INPUTS])
        if diff.returncode != 0:
            sys.exit(f"tracer_cost: --pool: git diff {commits[0][:10]} {c[:10]}: {diff.stderr.strip() or diff.returncode}")
        changed.update(diff.stdout.split())

    def together(per_result):  # {label: rounds} of each result -> the labels all have, rounds joined
        return {label: [s for rounds in per_result for s in rounds[label]]
                for label in per_result[-1] if all(label in rounds for rounds in per_result)}

    pooled = {"settings": dict(results[-1]["settings"], rounds=sum(r["settings"]["rounds"] for r in results)),
              "machine": results[-1]["machine"], "build": results[-1]["build"], "source_changes": sorted(changed),
              "pooled": [{"file": os.path.basename(p), "commit": r["build"]["commit"], "dirty": r["build"].get("dirty")}
                         for p, r in zip(paths, results)],
              "samples": {fig: together([r["samples"][fig] for r in results])
                          for fig in results[-1]["samples"] if all(fig in r["samples"] for r in results)}}
    if all(r.get("bpf") for r in results):
        pooled["bpf"] = together([r["bpf"] for r in results])
    analyze(pooled)
    return pooled


def table(result, markdown=False):
    b = result["build"]
    load = result["machine"]["loadavg_at_start"]
    if result.get("pooled"):
        parts = [f"{p['file']} ({str(p['commit'])[:7]}{', dirty' if p['dirty'] else ''})" for p in result["pooled"]]
        changes = ", ".join(result["source_changes"]) or "none"
        head = (f"pooled: {', '.join(parts)}; {result['settings']['rounds']} rounds of {result['settings']['loop']} runs; "
                f"changes to the build's sources between the first and last commit: {changes}")
    else:
        head = (f"commit {str(b.get('commit'))[:10]}{' (dirty)' if b.get('dirty') else ''}, "
                f"load {load[0]:.1f} at start, {result['settings']['rounds']} rounds of {result['settings']['loop']} runs, "
                f"{result['settings']['attach_samples']} attach rounds")
    rows = [["figure", "tracer", "untraced ms", "traced ms", "traced ÷ untraced (paired median [95 % CI])", "ratio min–max",
             "CPU traced ÷ untraced", "per run (start taken out)", "÷ first tracer", "extra ms (median)", "peak RSS MiB", "events", "dropped"]]
    phase_lines = []
    for fig, s in result["summary"].items():
        for label, v in s.items():
            if label == "untraced_ms":
                continue
            r, x = v["ratio"], v["extra_ms"]
            rows.append([fig, label, f"{s['untraced_ms']:.1f}" if s["untraced_ms"] else "-",
                         f"{v['traced_ms']:.1f}" if v["traced_ms"] else "-",
                         lc.with_ci(r, 3), f"{r['min']:.2f}–{r['max']:.2f}" if r else "-",
                         f"{v['cpu_ratio']['median']:.3f}" if v.get("cpu_ratio") else "-",
                         lc.with_ci(v.get("per_run"), 3),
                         f"{v['vs_first']['median']:.3f}" if v.get("vs_first") else "-",
                         f"{x['median']:.1f}" if x else "-",
                         f"{v['peak_rss_kib'] / 1024:.1f}" if v["peak_rss_kib"] else "-",
                         f"{v['events']:.0f}" if v["events"] is not None else "-", str(v["dropped"])])
            if v.get("phases_ms"):
                phase_lines.append(f"glasstrace phases, {fig} {label} (median ms): " +
                                   ", ".join(f"{k} {ms:.1f}" for k, ms in v["phases_ms"].items()))
    lines = [head, ""]
    if len(rows) > 1 and markdown:  # a header alone: no timed figure (e.g. --figures bpf alone)
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "---|" * len(rows[0]))
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    elif len(rows) > 1:
        w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    bpf = [bpf_table(result["bpf_summary"])] if result.get("bpf_summary") else []
    return "\n".join(lines + [""] + phase_lines + bpf)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="paired rounds of loops (default 5)")
    ap.add_argument("--loop", type=int, default=20, help="runs per loop (default 20)")
    ap.add_argument("--attach-samples", type=int, default=20, help="paired glassrun run / --trace run (default 20)")
    ap.add_argument("--syscall-rounds", type=int, default=10, help="paired rounds of the syscall loop (default 10)")
    ap.add_argument("--glassrun", default=os.path.join(lc.REPO, "build/runtime/glassrun"))
    ap.add_argument("--glasstrace", nargs="+", metavar="[LABEL=]PATH",
                    help="tracer binaries to compare (default: the build's tracer/glasstrace)")
    ap.add_argument("--only", nargs="+", help="only these runtimes")
    ap.add_argument("--figures", nargs="+", choices=FIGURES, default=list(FIGURES),
                    help="only these figures (default: all); e.g. an A/B of two tracer builds on the syscall "
                         "figure: --figures syscall --glasstrace old=A new=B")
    ap.add_argument("--youki", help=argparse.SUPPRESS)
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--report", metavar="JSON", help="print the table of an existing result and exit")
    ap.add_argument("--pool", nargs="+", metavar="JSON",
                    help="print the table of several results' rounds taken together and exit (a median more "
                         "precise than one run's, when the results measured the same build)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if args.report:
        return lc.print_report(args, analyze, table)
    if args.pool:
        print(table(pool(args.pool), args.markdown))
        return 0
    lc.start_measuring(args, "tracer_cost")
    args.only = args.only or ["glassrun", "runc", "crun"]
    result = bench(args)
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, f"tracer-cost-{datetime.datetime.now().strftime('%Y%m%dT%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(table(result, args.markdown))
    print(f"\nresults: {path}; {result['elapsed_s']:.0f} s")
    for e in result["errors"]:
        print(f"error: {e}", file=sys.stderr)
    if result["leftovers"]:
        print(f"LEFTOVER containers: {result['leftovers']}", file=sys.stderr)
        return 1
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
