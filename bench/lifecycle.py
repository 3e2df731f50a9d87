#!/usr/bin/python3
"""Lifecycle benchmark: glassrun against runc, crun (and youki) on one bundle.

Figures, each sampled interleaved across runtimes after a warm-up, every
round in the order round_order() gives it (each runtime in every place and
after every other alike), so drift on a busy machine and what one sample
leaves behind hit every runtime alike:

  run         `RT run` of `true`, foreground: the whole cycle, wall time
  create      `RT create` (process `true`, held on the exec fifo)
  start       `RT start`
  wait        from start's return until the container's init has exited
              (pidfd of the init polled), then confirmed `stopped` by `RT state`
  delete      `RT delete`
  exec        `RT exec` of `true` into a running container (`sleep`)
  concurrent  N (1..32) foreground `RT run` of `true` at once: containers/s
  trace       `glassrun run` untraced / `glassrun --trace FILE run` /
              `strace -f -o /dev/null glassrun run`

Per runtime invocation: wall time, CPU time (user+sys) and peak RSS from
os.wait4's rusage. The kernel's wait4 rusage covers the runtime process *and
the descendants it reaped*: for `run` that is the runtime plus its own helper
processes and the container's init (whose RSS before exec counts too); for
create, the init is left running and is not included. ru_maxrss is the
largest single process among those, not a sum.

Ratios to runc and crun are pair by pair: sample i of A over sample i of B,
taken in the same round; the reported ratio is the median of those.

Writes bench/results/<timestamp>.json, latest.json, and <timestamp>.svg/.png
(+ latest.svg/.png) with the distributions; prints a table.
Run as root (bench/run.sh; `make bench`).
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import re
import select
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PHASES = ["run", "create", "start", "wait", "delete", "exec"]
CONCURRENCY = [1, 2, 4, 8, 16, 32]
DEVNULL = subprocess.DEVNULL


# --------------------------------------------------------------------------
# statistics

def pct(xs, p):
    """Percentile with linear interpolation (p in 0..100)."""
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median_ci95(xs):
    """A distribution-free 95 % confidence interval of the median: the
    order statistics x(k) and x(n+1-k) with k the largest for which
    P(Binomial(n, 1/2) < k) <= 2.5 %. Paired ratios on this VM spread
    +-10 % and more around their median (crun's loop: 0.76-1.50 in one run);
    the interval says how far the median itself may be off. None below 6
    samples (no such k)."""
    xs = sorted(x for x in xs if x is not None)
    n = len(xs)
    k, below = 0, 0.0  # below: P(Binomial(n, 1/2) < k + 1)
    while True:
        below += math.comb(n, k) / 2 ** n
        if below > 0.025:
            break
        k += 1
    return (xs[k - 1], xs[n - k]) if k >= 1 else None


def summarize(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"n": len(xs), "median": statistics.median(xs), "median_ci95": median_ci95(xs), "p95": pct(xs, 95),
            "min": min(xs), "max": max(xs)}


def pair_ratio(a, b):
    """Median of a[i]/b[i] over samples where both exist."""
    rs = [x / y for x, y in zip(a, b) if x is not None and y is not None and y > 0]
    return summarize(rs)


# --------------------------------------------------------------------------
# processes

class Failed(Exception):
    def __init__(self, argv, rc, err):
        super().__init__(f"{' '.join(argv)}: exit {rc}: {err.strip()[-400:]}")
        self.rc, self.err = rc, err


SPAWN = None  # build/bench/bench_spawn, set in main()


def spawn(argv, stderr):
    """Starts argv (under bench_spawn when built); returns (Popen, outfile)."""
    if SPAWN:
        fd, out = tempfile.mkstemp(prefix="gb-ru-")
        os.close(fd)
        return subprocess.Popen([SPAWN, out, *argv], stdin=DEVNULL, stdout=DEVNULL, stderr=stderr), out
    return subprocess.Popen(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=stderr), None


def reap(p, out, t0):
    """Waits for a spawn(); returns (rc, wall_s, cpu_s, maxrss_kib)."""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if out is None:
        return p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss
    try:
        f = open(out).read().split()
    finally:
        os.unlink(out)
    if p.returncode != 0 or len(f) != 5:
        return 127, wall, 0.0, 0
    wall_ns, ut, st, rss, st_ = (int(x) for x in f)
    return os.waitstatus_to_exitcode(st_), wall_ns / 1e9, (ut + st) / 1e6, rss


def timed(argv, check=True):
    """Runs argv; returns (wall_s, cpu_s, maxrss_kib, stderr)."""
    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p, out = spawn(argv, errf)
    rc, wall, cpu, rss = reap(p, out, t0)
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    errf.close()
    if check and rc != 0:
        raise Failed(argv, rc, err)
    return wall, cpu, rss, err


def quiet(argv, check=False):
    """argv's result, output captured; a program that cannot be executed is
    a result too (127 and the reason, as a shell gives), so every caller's
    check of the exit status covers it."""
    try:
        r = subprocess.run(argv, stdin=DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        r = subprocess.CompletedProcess(argv, 127, "", f"cannot execute {argv[0]}: {e.strerror}")
    if check and r.returncode != 0:
        raise Failed(argv, r.returncode, r.stderr)
    return r


class Runtime:
    def __init__(self, name, path, tmp):
        self.name, self.path = name, path
        self.root = os.path.join(tmp, "root-" + name)
        os.makedirs(self.root, exist_ok=True)
        self.ids = []  # every id ever used, for the leftover check

    def cmd(self, *args, pre=()):
        return [*pre, self.path, "--root", self.root, *args]

    def new_id(self, what):
        cid = f"gb-{self.name}-{what}-{uuid.uuid4().hex[:8]}"
        self.ids.append(cid)
        return cid

    def version(self):
        r = quiet([self.path, "--version"])
        return (r.stdout or r.stderr).strip().splitlines()[0] if r.returncode == 0 else "?"

    def status(self, cid):
        r = quiet(self.cmd("state", cid))
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout).get("status")
        except ValueError:
            return None

    def force_delete(self, cid):
        quiet(self.cmd("delete", "--force", cid))


# --------------------------------------------------------------------------
# figures: each returns {"wall": s, "cpu": s, "rss": KiB} (or None when missing)

FLOOR = ["unshare", "-mnipuC", "--fork", "true"]


def fig_run(rt, bundle, pre=(), global_args=()):
    cid = rt.new_id("run")
    argv = [*pre, rt.path, "--root", rt.root, *global_args, "run", "-b", bundle, cid]
    try:
        wall, cpu, rss, _ = timed(argv)
    finally:
        if rt.status(cid) is not None:
            rt.force_delete(cid)
    return {"wall": wall, "cpu": cpu, "rss": rss}


def pidfd_wait(pid, timeout):
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def fig_phases(rt, bundle, tmp):
    """create / start / wait / delete of one container running `true`."""
    cid = rt.new_id("ph")
    pidfile = os.path.join(tmp, cid + ".pid")
    out = {}
    try:
        w, c, r, _ = timed(rt.cmd("create", "-b", bundle, "--pid-file", pidfile, cid))
        out["create"] = {"wall": w, "cpu": c, "rss": r}
        pid = int(open(pidfile).read().strip())
        pidfd = os.pidfd_open(pid)
        try:
            w, c, r, _ = timed(rt.cmd("start", cid))
            out["start"] = {"wall": w, "cpu": c, "rss": r}
            t0 = time.perf_counter()
            if not select.select([pidfd], [], [], 10)[0]:
                raise RuntimeError(f"{rt.name}: container {cid} still running 10 s after start")
            wall = time.perf_counter() - t0
        finally:
            os.close(pidfd)
        # The init has exited; the runtime must now say so (reaping may lag).
        for _ in range(1000):
            if rt.status(cid) == "stopped":
                break
            time.sleep(0.001)
        else:
            raise RuntimeError(f"{rt.name}: {cid} never reported stopped")
        out["wait"] = {"wall": wall, "cpu": None, "rss": None}
        w, c, r, _ = timed(rt.cmd("delete", cid))
        out["delete"] = {"wall": w, "cpu": c, "rss": r}
    finally:
        if rt.status(cid) is not None:
            rt.force_delete(cid)
        if os.path.exists(pidfile):
            os.unlink(pidfile)
    return out


class ExecTarget:
    """A running container (`sleep`) to exec into."""

    def __init__(self, rt, bundle):
        self.rt = rt
        self.cid = rt.new_id("exec")
        # The container keeps whatever stdout/stderr it is given: not a pipe.
        with tempfile.TemporaryFile() as err:
            r = subprocess.run(rt.cmd("run", "-d", "-b", bundle, self.cid), stdin=DEVNULL, stdout=DEVNULL, stderr=err)
            if r.returncode != 0:
                err.seek(0)
                raise Failed(rt.cmd("run", "-d"), r.returncode, err.read().decode(errors="replace"))
        self.missing = None

    def exec_true(self):
        if self.missing:
            return None
        try:
            w, c, r, _ = timed(self.rt.cmd("exec", self.cid, "true"))
        except Failed as e:
            if "not implemented" in e.err.lower() or "unknown" in e.err.lower() and "exec" in e.err.lower():
                self.missing = e.err.strip().splitlines()[-1] if e.err.strip() else "not implemented"
                return None
            raise
        return {"wall": w, "cpu": c, "rss": r}

    def close(self):
        quiet(self.rt.cmd("kill", self.cid, "KILL"))
        for _ in range(500):
            if self.rt.status(self.cid) in ("stopped", None):
                break
            time.sleep(0.01)
        self.rt.force_delete(self.cid)


def fig_concurrent(rt, bundle, n):
    """n foreground runs at once; containers per second over the whole batch.
    Under bench_spawn --batch, one small process starts and reaps the n runs
    and times the batch itself; otherwise Python starts each one."""
    ids = [rt.new_id(f"c{n}") for _ in range(n)]
    argvs = [rt.cmd("run", "-b", bundle, cid) for cid in ids]
    if SPAWN:
        wall, cpu, rss, errs = _batch(argvs)
    else:
        wall, cpu, rss, errs = _one_by_one(argvs)
    for cid in ids:
        if rt.status(cid) is not None:
            rt.force_delete(cid)
    if errs:
        raise RuntimeError(f"{rt.name}: {len(errs)}/{n} concurrent runs failed: {errs[0]}")
    return {"wall": wall, "cpu": cpu, "rss": rss, "per_s": n / wall}


def _batch(argvs):
    fd, cmdfile = tempfile.mkstemp(prefix="gb-cmds-")
    with os.fdopen(fd, "w") as f:
        f.writelines("\t".join(a) + "\n" for a in argvs)
    fd, out = tempfile.mkstemp(prefix="gb-ru-")
    os.close(fd)
    try:
        with tempfile.TemporaryFile() as errf:
            rc = subprocess.run([SPAWN, "--batch", out, cmdfile], stdin=DEVNULL, stdout=DEVNULL, stderr=errf).returncode
            errf.seek(0)
            err = errf.read().decode(errors="replace").strip()[-300:]
        lines = open(out).read().split("\n")
    finally:
        os.unlink(cmdfile)
        os.unlink(out)
    rows = [[int(x) for x in line.split()] for line in lines[1:] if line.strip()]
    if rc != 0 or len(rows) != len(argvs):
        return 1.0, 0.0, 0, [f"bench_spawn --batch: exit {rc}: {err}"]
    errs = [f"exit status {r[3]}: {err}" for r in rows if r[3] != 0]
    return int(lines[0]) / 1e9, sum(r[0] + r[1] for r in rows) / 1e6, max(r[2] for r in rows), errs


def _one_by_one(argvs):
    errfs = [tempfile.TemporaryFile() for _ in argvs]
    t0 = time.perf_counter()
    procs = [spawn(a, e) for a, e in zip(argvs, errfs)]
    cpu, rss, errs = 0.0, 0, []
    for (p, out), errf in zip(procs, errfs):
        rc, _, c, r = reap(p, out, t0)
        cpu += c
        rss = max(rss, r)
        if rc != 0:
            errf.seek(0)
            errs.append(errf.read().decode(errors="replace").strip()[-300:])
        errf.close()
    return time.perf_counter() - t0, cpu, rss, errs


# --------------------------------------------------------------------------
# machine

def machine_info(runtimes):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cg = "/sys/fs/cgroup"
    if os.path.exists(cg + "/cgroup.controllers"):
        layout = "v2 (unified)"
    elif os.path.exists(cg + "/unified/cgroup.controllers"):
        layout = "v1 hybrid (cgroup2 at /sys/fs/cgroup/unified)"
    else:
        layout = "v1 (legacy)"
    v1 = []
    try:
        for line in open("/proc/self/mounts"):
            f = line.split()
            if f[2] == "cgroup":
                v1.append(os.path.basename(f[1]))
    except OSError:
        pass
    load = os.getloadavg()
    return {"cpu_model": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "os": _os_release(), "cgroup_layout": layout, "cgroup_v1_hierarchies": sorted(v1),
            "loadavg_at_start": load, "python": platform.python_version(),
            "runtimes": {rt.name: {"path": rt.path, "version": rt.version()} for rt in runtimes}}


def build_info(glassrun):
    """What was measured: the commit (and whether the tree was dirty) and the
    build's flags from the CMake cache next to the glassrun binary."""
    def git(*a):
        r = quiet(["git", "-C", REPO, *a])
        return r.stdout.strip() if r.returncode == 0 else None
    status = git("status", "--porcelain", "--untracked-files=no")
    info = {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}
    build_dir = os.path.dirname(os.path.dirname(glassrun))  # <build>/runtime/glassrun
    cache = {}
    try:
        for line in open(os.path.join(build_dir, "CMakeCache.txt")):
            m = re.match(r"^([A-Za-z_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                cache[m.group(1)] = m.group(2)
    except OSError as e:
        info["cmake_cache"] = f"unreadable: {e}"
    flags = {k: v for k, v in cache.items()
             if k == "CMAKE_BUILD_TYPE" or k.startswith("CMAKE_CXX_FLAGS") or k.startswith("GLASSRUN_")}
    info["build_dir"] = build_dir
    info["cmake"] = flags
    # CMakeLists.txt picks Release when the cache has no build type; the
    # compile command of main.cpp says what was really used.
    try:
        for c in json.load(open(os.path.join(build_dir, "compile_commands.json"))):
            if c.get("file", "").endswith("runtime/src/main.cpp"):
                argv = c.get("command", "").split()
                info["compile_flags"] = [a for a in argv[1:] if a.startswith("-") and a not in ("-o", "-c")
                                         and not a.startswith(("-I", "-M"))]
                break
    except (OSError, ValueError) as e:
        info["compile_flags"] = f"unreadable: {e}"
    cxx = cache.get("CMAKE_CXX_COMPILER")
    if cxx:
        r = quiet([cxx, "--version"])
        info["compiler"] = {"path": cxx, "version": r.stdout.splitlines()[0] if r.returncode == 0 and r.stdout else "?"}
    return info


def _os_release():
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


# --------------------------------------------------------------------------
# the benchmark

def round_order(items, i):
    """The order of round i: a Williams design. Over len(items) rounds (twice
    that for an odd count) every item takes every place once and follows
    every other item once, so what one sample leaves behind in the kernel
    (a cpuset's static key still on, a namespace being torn down) is paid
    alike by all. A plain rotation (A B C D, B C D A, ...) puts every item
    after the same one each round: on this VM glassrun's `run` after
    crun's lifecycle took ~2 ms longer than after its own, whose cpuset
    left the kernel's cpuset key on (docs/BENCHMARKS.md "Session 22")."""
    n = len(items)
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        if len(first) % 2:
            first.append(lo)
            lo += 1
        else:
            first.append(hi)
            hi -= 1
    rows = [[(k + r) % n for k in first] for r in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return [items[k] for k in rows[i % len(rows)]]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def find_runtimes(args, tmp):
    found = []
    want = {"glassrun": args.glassrun, "runc": shutil.which("runc") or "/usr/sbin/runc",
            "crun": shutil.which("crun") or "/usr/bin/crun",
            "youki": args.youki or shutil.which("youki")}
    for name in ["glassrun", "runc", "crun", "youki"]:
        path = want[name]
        if args.only and name not in args.only:
            continue
        if path and os.access(path, os.X_OK):
            found.append(Runtime(name, path, tmp))
        elif name != "youki":
            log(f"lifecycle: {name} not found ({path}); skipped")
    sealed = sealed_runtime("glassrun-sealed", args.glassrun, tmp) if not args.only or "glassrun-sealed" in args.only else None
    if sealed:
        found.insert(1, sealed)
    return found


def seal_tool(glassrun):
    """glassrun-seal next to the binary, else the build's."""
    beside = os.path.join(os.path.dirname(os.path.abspath(glassrun)), "glassrun-seal")
    return beside if os.access(beside, os.X_OK) else os.path.join(REPO, "build/runtime/glassrun-seal")


def sealed_runtime(name, glassrun, tmp):
    """glassrun as a sealed install (runtime/tools/glassrun-seal.cpp): a copy of
    the binary with its read-only overlay view over it, so create/run/exec skip
    their CVE-2019-5736 re-exec, as the Runtime `name`. None (and why, logged)
    when it cannot be made.
    unseal_copies() takes the view away again."""
    seal = seal_tool(glassrun)
    if not os.access(seal, os.X_OK):
        log(f"lifecycle: {seal} not built; {name} skipped")
        return None
    d = os.path.join(tmp, "sealed-bin")
    os.makedirs(d, exist_ok=True)
    copy = os.path.join(d, "glassrun")
    shutil.copy2(glassrun, copy)
    r = quiet([seal, copy])
    if r.returncode != 0:
        log(f"lifecycle: glassrun-seal failed ({r.stderr.strip()}); {name} skipped")
        return None
    rt = Runtime(name, copy, tmp)
    rt.sealed_from = glassrun
    return rt


def unseal_copies(runtimes):
    for rt in runtimes:
        if not hasattr(rt, "sealed_from"):
            continue
        quiet([seal_tool(rt.sealed_from), "--undo", rt.path])


def make_bundle(tmp, glassrun, args_):
    d = os.path.join(tmp, "bundle-" + args_[0])
    quiet([os.path.join(REPO, "tools/mkbundle"), "--glassrun", glassrun, "-o", d, "--", *args_], check=True)
    return d


@contextlib.contextmanager
def scratch_dir(prefix):
    """A benchmark's directory for bundles and state roots, removed however
    the benchmark ends: a refused argument, Ctrl-C or SIGTERM included
    (the benchmark's own cleanup of containers runs before, inside it)."""
    try:
        tmp = tempfile.mkdtemp(prefix=prefix)
    except OSError as e:
        sys.exit(f"bench: mkdir {os.path.join(tempfile.gettempdir(), prefix)}...: {e.strerror}")
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args):
    with scratch_dir("glassrun-bench-") as tmp:
        return measure(args, tmp)


def measure(args, tmp):
    samples = args.samples or (5 if args.quick else 30)
    warmup = 1 if args.quick else 3
    conc_samples = args.concurrent_samples or (1 if args.quick else 4)
    conc_levels = [1, 4] if args.quick else CONCURRENCY
    trace_samples = args.trace_samples or (3 if args.quick else 20)

    runtimes = find_runtimes(args, tmp)
    if not runtimes:
        sys.exit("lifecycle: no runtime found")
    names = [rt.name for rt in runtimes]
    result = {"schema": 1, "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "mode": "quick" if args.quick else "full",
              "settings": {"samples": samples, "warmup": warmup, "concurrent_samples": conc_samples,
                           "concurrency": conc_levels, "trace_samples": trace_samples},
              "machine": machine_info(runtimes), "build": build_info(args.glassrun),
              "rusage_via": "bench_spawn" if SPAWN else "python os.wait4 (RSS floor = Python's)", "samples": {}, "missing": {}, "errors": []}
    S = result["samples"]  # S[figure][runtime] = [ {wall,cpu,rss}, ... ]
    t_begin = time.perf_counter()
    try:
        bundle = make_bundle(tmp, args.glassrun, ["true"])
        sleeper = make_bundle(tmp, args.glassrun, ["sleep", "3600"])

        # run + phases, interleaved, after a warm-up
        log(f"lifecycle: run/create/start/wait/delete x{samples} (+{warmup} warm-up) for {', '.join(names)}")
        for i in range(-warmup, samples):
            for rt in round_order(runtimes, i):
                r = fig_run(rt, bundle)
                ph = fig_phases(rt, bundle, tmp)
                if i >= 0:
                    S.setdefault("run", {}).setdefault(rt.name, []).append(r)
                    for k, v in ph.items():
                        S.setdefault(k, {}).setdefault(rt.name, []).append(v)
            # The floor of `run` (issue 18: run <= 2.0 x floor): the namespaces
            # and two execs, nothing else; paired with the runtimes' round.
            if shutil.which("unshare"):
                wall, cpu, rss, _ = timed(FLOOR)
                if i >= 0:
                    S.setdefault("run", {}).setdefault("floor", []).append({"wall": wall, "cpu": cpu, "rss": rss})

        # exec into a running container
        log(f"lifecycle: exec x{samples}")
        targets = {}
        try:
            for rt in runtimes:
                try:
                    targets[rt.name] = ExecTarget(rt, sleeper)
                except Failed as e:
                    result["missing"].setdefault("exec", {})[rt.name] = f"run -d failed: {e}"
            live = [rt for rt in runtimes if rt.name in targets]
            for i in range(-warmup, samples):
                for rt in round_order(live, i):
                    t = targets[rt.name]
                    try:
                        r = t.exec_true()
                    except Failed as e:
                        result["errors"].append(f"exec: {e}")
                        r = None
                    if i >= 0:
                        S.setdefault("exec", {}).setdefault(rt.name, []).append(r)
            for name, t in targets.items():
                if t.missing:
                    result["missing"].setdefault("exec", {})[name] = t.missing
                    S["exec"].pop(name, None)
        finally:
            for t in targets.values():
                t.close()

        # concurrency
        log(f"lifecycle: concurrent runs N={conc_levels} x{conc_samples}")
        for n in conc_levels:
            key = f"concurrent_{n}"
            for i in range(conc_samples):
                for rt in round_order(runtimes, i):
                    try:
                        r = fig_concurrent(rt, bundle, n)
                    except RuntimeError as e:
                        result["errors"].append(str(e))
                        r = None
                    S.setdefault(key, {}).setdefault(rt.name, []).append(r)

        # tracer cost
        if not args.no_trace:
            g = next((rt for rt in runtimes if rt.name == "glassrun"), None)
            if g:
                trace_cost(g, bundle, tmp, trace_samples, warmup, result)
    except KeyboardInterrupt:
        result["errors"].append("interrupted")
        raise
    finally:
        result["elapsed_s"] = time.perf_counter() - t_begin
        result["leftovers"] = cleanup_check(runtimes)
        unseal_copies(runtimes)
    return result


def trace_cost(g, bundle, tmp, samples, warmup, result):
    S = result["samples"]
    glasstrace = os.path.join(os.path.dirname(os.path.abspath(g.path)), "../tracer/glasstrace")
    variants = [("untraced", lambda: fig_run(g, bundle))]
    if os.access(glasstrace, os.X_OK):
        tfile = os.path.join(tmp, "t.jsonl")
        variants.append(("glasstrace", lambda: fig_run(g, bundle, global_args=("--trace", tfile))))
    else:
        result["missing"]["trace.glasstrace"] = f"{glasstrace} not built"
    if shutil.which("strace"):
        variants.append(("strace", lambda: fig_run(g, bundle, pre=("strace", "-f", "-o", "/dev/null"))))
    else:
        result["missing"]["trace.strace"] = "strace not installed"
    log(f"lifecycle: tracer cost ({', '.join(v for v, _ in variants)}) x{samples}")
    for i in range(-warmup, samples):
        for name, fn in round_order(variants, i):
            try:
                r = fn()
            except Failed as e:
                result["errors"].append(f"trace {name}: {e}")
                r = None
            if i >= 0:
                S.setdefault("trace", {}).setdefault(name, []).append(r)


def cleanup_check(runtimes):
    """Our ids left in each --root and in the default state dirs (must be none)."""
    left = {}
    for rt in runtimes:
        mine = set(rt.ids)
        for d in [rt.root, "/run/glassrun", "/run/runc", "/run/crun", "/run/youki"]:
            try:
                stray = sorted(set(os.listdir(d)) & mine)
            except OSError:
                continue
            for cid in stray:  # one last try, then report
                rt.force_delete(cid)
            if stray:
                left.setdefault(rt.name, []).extend(f"{d}/{c}" for c in stray)
    return left


# --------------------------------------------------------------------------
# analysis, table, plot

def analyze(result):
    S = result["samples"]
    out = {}
    for fig, per_rt in S.items():
        out[fig] = {}
        metric = "per_s" if fig.startswith("concurrent_") else "wall"
        for name, xs in per_rt.items():
            val = lambda k: [x[k] if x else None for x in xs]
            a = {"metric": metric, "wall": summarize(val(metric)), "cpu": summarize(val("cpu")),
                 "rss_kib": summarize(val("rss"))}
            for ref in ("runc", "crun", "untraced", "floor"):
                if ref in per_rt and ref != name:
                    a[f"ratio_to_{ref}"] = pair_ratio(val(metric), [x[metric] if x else None for x in per_rt[ref]])
                    a[f"cpu_ratio_to_{ref}"] = pair_ratio(val("cpu"), [x["cpu"] if x else None for x in per_rt[ref]])
            out[fig][name] = a
    result["summary"] = out
    return out


def combine(runs):
    """The last run is the one reported; the others give the spread: per figure
    and runtime, the min and max of the runs' medians (and of their paired
    ratios to crun), so the table says how much a median moves between runs."""
    result = runs[-1]
    if len(runs) == 1:
        return result
    result["runs"] = [{"started": r["started"], "elapsed_s": r["elapsed_s"],
                       "loadavg_at_start": r["machine"]["loadavg_at_start"], "summary": r["summary"],
                       "errors": r["errors"], "leftovers": r["leftovers"]} for r in runs]
    spread = {}
    for fig, per_rt in result["summary"].items():
        for name in per_rt:
            meds, crun = [], []
            for r in runs:
                a = r["summary"].get(fig, {}).get(name)
                if a and a["wall"]:
                    meds.append(a["wall"]["median"])
                if a and a.get("ratio_to_crun"):
                    crun.append(a["ratio_to_crun"]["median"])
            if meds:
                spread.setdefault(fig, {})[name] = {
                    "medians": meds, "min": min(meds), "max": max(meds),
                    "ratio_to_crun_medians": crun}
    result["spread"] = spread
    result["errors"] = [e for r in runs for e in r["errors"]]
    for r in runs[:-1]:
        for name, left in r["leftovers"].items():
            result["leftovers"].setdefault(name, []).extend(left)
    return result


def describe(result):
    """One line: which build was measured, which run is shown, how loaded."""
    b = result.get("build", {})
    commit = (b.get("commit") or "?")[:10] + (" (dirty)" if b.get("dirty") else "")
    cm = b.get("cmake", {})
    flags = b.get("compile_flags")
    flags = " ".join(flags) if isinstance(flags, list) else "flags unknown"
    comp = b.get("compiler", {}).get("version", "?")
    n = len(result.get("runs", [])) or 1
    loads = [r["loadavg_at_start"][0] for r in result.get("runs", [])] or [result["machine"]["loadavg_at_start"][0]]
    what = (f"commit {commit}, build type {cm.get('CMAKE_BUILD_TYPE') or 'unset (CMakeLists: Release)'} "
            f"[{flags}], {comp}"
            if b else "build not recorded")
    runs = (f"medians of run {n} of {n} ({result['mode']}), spread = min-max of the {n} runs' medians"
            if n > 1 else f"one run ({result['mode']}), no spread")
    return f"{what}; {runs}; load at start: {', '.join(f'{x:.2f}' for x in loads)}"


def with_ci(s, digits=2):
    """A summarized ratio as "median [95 % CI of the median]"."""
    if not s:
        return "-"
    ci = s.get("median_ci95")
    text = f"{s['median']:.{digits}f}"
    return text + (f" [{ci[0]:.{digits}f}-{ci[1]:.{digits}f}]" if ci else "")


def fmt_ms(s):
    return "-" if s is None else f"{s * 1000:.1f}"


def table(result, markdown=False):
    summ = result["summary"]
    rows = []
    head = ["figure", "runtime", "median ms", "p95 ms", "min ms", "max ms", "cpu ms", "peak RSS MiB",
            "×runc [95 % CI]", "×crun [95 % CI]", "runs' medians min-max"]
    order = PHASES + [f"concurrent_{n}" for n in CONCURRENCY] + ["trace"]
    for fig in order:
        if fig not in summ:
            continue
        for name, a in summ[fig].items():
            w, c, r = a["wall"], a["cpu"], a["rss_kib"]
            if w is None:
                continue
            if a["metric"] == "per_s":
                cells = [f"{w['median']:.1f}/s", f"{w['p95']:.1f}/s", f"{w['min']:.1f}/s", f"{w['max']:.1f}/s"]
            else:
                cells = [fmt_ms(w["median"]), fmt_ms(w["p95"]), fmt_ms(w["min"]), fmt_ms(w["max"])]
            ratio = lambda k: with_ci(a[k]) if a.get(k) else ("1" if k.endswith(name) else "-")
            refs = ("ratio_to_runc", "ratio_to_crun")
            if fig == "trace":
                refs = ("ratio_to_untraced", "ratio_to_untraced")
            sp = result.get("spread", {}).get(fig, {}).get(name)
            if sp is None:
                spread = "-"
            elif a["metric"] == "per_s":
                spread = f"{sp['min']:.1f}-{sp['max']:.1f}/s"
            else:
                spread = f"{fmt_ms(sp['min'])}-{fmt_ms(sp['max'])}"
            if sp and sp["ratio_to_crun_medians"]:
                spread += f" (×crun {min(sp['ratio_to_crun_medians']):.2f}-{max(sp['ratio_to_crun_medians']):.2f})"
            rows.append([fig, name, *cells, fmt_ms(c["median"]) if c else "-",
                         f"{r['median'] / 1024:.1f}" if r else "-",
                         ratio(refs[0]), ratio(refs[1]) if fig != "trace" else "", spread])
    if fig_missing := result.get("missing"):
        for fig, what in fig_missing.items():
            if isinstance(what, dict):
                for name, why in what.items():
                    rows.append([fig, name, "missing: " + why[:60], "", "", "", "", "", "", "", ""])
            else:
                rows.append([fig, "", "missing: " + what[:60], "", "", "", "", "", "", "", ""])
    floor = ", ".join(f"{name} {with_ci(a['ratio_to_floor'])}" for name, a in summ.get("run", {}).items()
                      if a.get("ratio_to_floor"))
    floor = f"run ÷ floor (`{' '.join(FLOOR)}`, paired median [95 % CI]): {floor}" if floor else ""
    if markdown:
        lines = [describe(result), "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines + (["", floor] if floor else []))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt_row = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))
    return "\n".join([describe(result), fmt_row(head), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in rows]
                     + ([floor] if floor else []))


def plot(result, stem):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("lifecycle: matplotlib not available (apt-get install python3-matplotlib): no plot")
        return []
    S = result["samples"]
    figs = [f for f in PHASES + ["trace"] if f in S]
    conc = [f"concurrent_{n}" for n in CONCURRENCY if f"concurrent_{n}" in S]
    ncols = 4
    nplots = len(figs) + (1 if conc else 0)
    nrows = (nplots + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    axes = [a for row in axes for a in row]
    for ax, f in zip(axes, figs):
        names = list(S[f].keys())
        data = [[x["wall"] * 1000 for x in S[f][n] if x] for n in names]
        keep = [(n, d) for n, d in zip(names, data) if d]
        if not keep:
            continue
        ax.boxplot([d for _, d in keep], labels=[n for n, _ in keep], showfliers=True, whis=(5, 95))
        for k, (_, d) in enumerate(keep, start=1):
            ax.scatter([k + (j / max(len(d), 1) - 0.5) * 0.3 for j in range(len(d))], d, s=5, alpha=0.4)
        ax.set_title(f if f != "trace" else "glassrun run: tracer cost")
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3)
    if conc:
        ax = axes[len(figs)]
        levels = [int(c.split("_")[1]) for c in conc]
        for name in S[conc[0]].keys():
            med = [statistics.median([x["per_s"] for x in S[c].get(name, []) if x] or [float("nan")]) for c in conc]
            ax.plot(levels, med, marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(n) for n in levels])
        ax.set_title("N concurrent runs")
        ax.set_xlabel("N")
        ax.set_ylabel("containers / s (median)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[nplots:]:
        ax.axis("off")
    m = result["machine"]
    fig.suptitle(f"glassrun lifecycle benchmark ({result['mode']}) — {m['cpu_model']}, {m['cores']} cores, "
                 f"kernel {m['kernel']}", fontsize=10)
    fig.tight_layout()
    written = []
    for ext in ("svg", "png"):
        fig.savefig(f"{stem}.{ext}", dpi=110)
        written.append(f"{stem}.{ext}")
    plt.close(fig)
    return written


def print_report(args, analyze_fn, table_fn):
    """--report JSON: the table of an existing result."""
    result = json.load(open(args.report))
    analyze_fn(result)
    print(table_fn(result, args.markdown))
    return 0


def start_measuring(args, name, spawn=None):
    """What every benchmark script does before its first container: needs
    root; the machine made able to run every runtime (tools/prepare-machine.sh:
    crun refuses this VM's hybrid cgroups until hugetlb has a v1 hierarchy);
    SIGTERM (a CI timeout) unwinds like Ctrl-C, so containers get deleted;
    peak RSS is read through bench_spawn when it is built."""
    global SPAWN
    if os.geteuid() != 0:
        sys.exit(f"{name}: needs root")
    subprocess.run(["bash", os.path.join(REPO, "tools", "prepare-machine.sh")], check=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.glassrun = os.path.abspath(args.glassrun)
    spawner = spawn or os.path.join(os.path.dirname(os.path.dirname(args.glassrun)), "bench/bench_spawn")
    if os.access(spawner, os.X_OK):
        SPAWN = spawner
    else:
        log(f"{name}: {spawner} not built: peak RSS includes Python's (~15 MiB floor)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few samples (CI smoke run)")
    ap.add_argument("--runs", type=int, default=1,
                    help="whole benchmark N times; the table shows the last and the spread of the N medians")
    ap.add_argument("--samples", type=int, help="samples per figure (default 30, quick 5)")
    ap.add_argument("--concurrent-samples", type=int, help="batches per N (default 4, quick 1)")
    ap.add_argument("--trace-samples", type=int, help="samples per tracer variant (default 20, quick 3)")
    ap.add_argument("--glassrun", default=os.path.join(REPO, "build/runtime/glassrun"))
    ap.add_argument("--spawn", help="bench_spawn binary (default: next to the build's runtime/)")
    ap.add_argument("--youki", help="path of youki (default: on PATH if present)")
    ap.add_argument("--only", nargs="+", help="only these runtimes")
    ap.add_argument("--no-trace", action="store_true", help="skip the tracer-cost figure")
    ap.add_argument("--micro", help="Google Benchmark JSON output to include")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--report", metavar="JSON", help="print the table of an existing result and exit")
    ap.add_argument("--markdown", action="store_true", help="table as Markdown")
    args = ap.parse_args()

    if args.report:
        return print_report(args, analyze, table)
    start_measuring(args, "lifecycle", args.spawn)

    runs = []
    for k in range(args.runs):
        if args.runs > 1:
            log(f"lifecycle: run {k + 1} of {args.runs}")
        runs.append(bench(args))
        analyze(runs[-1])
    result = combine(runs)
    if args.micro and os.path.exists(args.micro):
        try:
            micro = json.load(open(args.micro))
            result["micro"] = [{k: b.get(k) for k in ("name", "real_time", "cpu_time", "time_unit", "iterations",
                                                      "items_per_second", "bytes_per_second")}
                               for b in micro.get("benchmarks", [])]
        except ValueError as e:
            result["errors"].append(f"micro: {e}")
    analyze(result)
    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S") + ("-quick" if args.quick else "")
    path = os.path.join(args.results, stamp + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    shutil.copyfile(path, os.path.join(args.results, "latest.json"))
    plots = plot(result, os.path.join(args.results, stamp))
    for p in plots:
        shutil.copyfile(p, os.path.join(args.results, "latest" + os.path.splitext(p)[1]))
    print(table(result))
    if result.get("micro"):
        print("\nmicro-benchmarks (Google Benchmark):")
        for b in result["micro"]:
            extra = f"  {b['items_per_second'] / 1e3:.0f}k items/s" if b.get("items_per_second") else ""
            print(f"  {b['name']:<40} {b['real_time']:>10.1f} {b['time_unit']}{extra}")
    print(f"\nresults: {path} (+ latest.json{', ' + ', '.join(os.path.basename(p) for p in plots) if plots else ''})"
          f"; {result['elapsed_s']:.0f} s")
    bad = 0
    if result["leftovers"]:
        print(f"LEFTOVER containers: {result['leftovers']}", file=sys.stderr)
        bad = 1
    for e in result["errors"]:
        print(f"error: {e}", file=sys.stderr)
    return bad


if __name__ == "__main__":
    sys.exit(main())
