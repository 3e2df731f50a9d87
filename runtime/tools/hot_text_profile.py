#!/usr/bin/python3
"""List the code and data glassrun's (or glasstrace's) commands touch, for the linker to put first.

  hot_text_profile.py [--binary glassrun|glasstrace] [--build build] [--out LIST] [--rounds 60]

Every page of code a process runs costs a page fault the first time (on a
PVM guest ~11-14 us each, on bare metal ~1 us); the kernel maps up to 16
pages around each fault when they are in the page cache, so code laid out
together costs a few faults where code scattered over the binary's 3.3 MB
of text costs one per piece (one `exec`: ~64). runtime/CMakeLists.txt links
glassrun with lld and `--symbol-ordering-file runtime/hot-text.txt`, and
glasstrace with `tracer/hot-text.txt`, which this script writes.

In rounds: link the binary with the list so far (`cmake --build BUILD
--target BINARY`), run its commands under `perf record -e
exceptions:page_fault_user` (glassrun: the lifecycle, create, start, state,
exec, ps, pause, resume, events --stats, update, list, kill, delete, run, on
busybox bundles; glasstrace: a command traced through a session, which
every `glasstrace -- CMD` is while one runs, then one without, then `show`),
and list the function (or data object) under each page fault of the
binary's processes that is not listed yet (the container's init and exec'd
process, the traced command, count until their execve), right after the
one under that process's fault before it, so that code run together lies
together (the start-up, a command's steps). A
round that fails puts the list and the binary back as they were. A fault
shows only the first piece touched in a 64 KiB window; the rest show once
that piece has moved, so the list grows until a round adds nothing. Names
the code no longer has are harmless (lld skips them); run it again after the
commands' paths change.
"""
import argparse
import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The programs laid out: the directory (in the source tree and in the build)
# of each one, its list's and its binary's.
LISTS = {"glassrun": "runtime", "glasstrace": "tracer"}
FAULT = re.compile(r"^\s*(\S+)\s+(\d+)\s.*address=(0x[0-9a-f]+) ip=0x[0-9a-f]+ error_code=")


def symbols(binary):
    """(address, size, mangled name) of the binary's functions and data, sorted."""
    r = subprocess.run(["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"hot_text_profile: nm {binary}: {r.stderr.strip()}")
    syms = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTWwidDbBrRvV":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
        elif len(f) == 3 and f[1] in "tTWwidDbBrRvV":
            syms.append((int(f[0], 16), 1, f[2]))
    return syms


def run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)


def brief(r):
    """One line of what a failed command said: its first line that is not a
    heading ("Error:", "Traceback ...:") or a traceback's indented frame."""
    for line in r.stderr.splitlines():
        if line.strip() and not line.startswith(" ") and not line.rstrip().endswith(":"):
            return line.strip()
    return f"exit {r.returncode}"


def lifecycle(glassrun, bundles, root):
    """glassrun's commands profiled, as a shell script (one perf record
    covers all), and the containers it makes (deleted after it)."""
    a, b = "hot-" + uuid.uuid4().hex[:8], "hot-" + uuid.uuid4().hex[:8]
    g = f"{glassrun} --root {root}"
    return [a, b], "\n".join([
        f"{g} create -b {bundles['sleep']} {a}",
        f"{g} start {a}",
        f"{g} state {a} >/dev/null",
        f"{g} exec {a} true",
        f"{g} ps {a} >/dev/null",
        f"{g} pause {a}",
        f"{g} resume {a}",
        f"{g} events --stats {a} >/dev/null",
        f"{g} update --pids-limit 100 {a}",
        f"{g} list >/dev/null",
        f"{g} kill {a} KILL",
        "sleep 0.2",
        f"{g} delete {a}",
        f"{g} run -b {bundles['true']} {b} </dev/null",
        f"{g} delete --force {b} 2>/dev/null || true",
    ])


def tracing(glasstrace, tmp):
    """glasstrace's commands profiled: a command traced through a session
    (the session's daemon started first: its faults are its own start-up,
    paid once per session), then without one, then rendered."""
    d, t = os.path.join(tmp, "session"), os.path.join(tmp, "trace.jsonl")
    return "\n".join([
        f"{glasstrace} session start --dir {d} >/dev/null",
        f"{glasstrace} -o {t} --session --session-dir {d} -- true",
        f"{glasstrace} session stop --dir {d} >/dev/null",
        f"{glasstrace} --no-session -o {t} -- true",
        f"{glasstrace} show {t} >/dev/null",
        f"{glasstrace} show --format strace {t} >/dev/null",
    ])


def containing(syms, starts, addr):
    """The name of the symbol whose [address, address + size) holds addr, or None."""
    i = bisect.bisect_right(starts, addr) - 1
    for j in range(i, max(i - 8, -1), -1):  # aliases and zero-size labels share addresses
        a, size, name = syms[j]
        if a <= addr < a + max(size, 1):
            return name
    return None


def faults(kind, binary, tmp):
    """(pid, address) of the page faults of the binary's processes over its
    commands (kind: a key of LISTS), in order."""
    if kind == "glasstrace":
        script = tracing(binary, tmp)
        cleanup = [f"{binary} session stop --dir {os.path.join(tmp, 'session')}"]
    else:
        root = os.path.join(tmp, "root")
        os.makedirs(root, exist_ok=True)
        bundles = {}
        for name, argv in (("sleep", ["sleep", "30"]), ("true", ["true"])):
            bundles[name] = os.path.join(tmp, name)
            if not os.path.isdir(bundles[name]):
                r = run(["bash", os.path.join(REPO, "tools", "mkbundle"), "--glassrun", binary, "-o", bundles[name],
                         "--", *argv])
                if r.returncode != 0:
                    sys.exit(f"hot_text_profile: mkbundle: {brief(r)}")
        ids, script = lifecycle(binary, bundles, root)
        cleanup = [f"{binary} --root {root} delete --force {cid}" for cid in ids]
    data = os.path.join(tmp, "perf.data")
    try:
        r = run(["perf", "record", "-q", "-o", data, "-e", "exceptions:page_fault_user", "--", "bash", "-ec",
                 script])
        if r.returncode != 0:
            sys.exit(f"hot_text_profile: the profiled commands failed: {brief(r)}")
        trace = run(["perf", "script", "-i", data, "-F", "comm,pid,trace"], check=True).stdout
    finally:
        for c in cleanup:
            run(["bash", "-c", c])
    out = []
    for line in trace.splitlines():
        m = FAULT.match(line)
        if m and m[1] == os.path.basename(binary)[:15]:
            out.append((int(m[2]), int(m[3], 16)))
    return out


def relink_or_exit(relink):
    r = run(["bash", "-c", relink])
    if r.returncode != 0:
        sys.exit(f"hot_text_profile: relink `{relink}`: exit {r.returncode}: {brief(r)}")


def write_list(path, names, binary):
    with open(path, "w") as f:
        f.write(f"# Functions and data {binary}'s commands touch: the linker lays them out first\n"
                "# (runtime/CMakeLists.txt). Written by runtime/tools/hot_text_profile.py.\n")
        for n in names:
            f.write(n + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", choices=sorted(LISTS), default="glassrun", help="the program whose list is made")
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="the CMake build directory")
    ap.add_argument("--out", help="the list (default: the one the build links, runtime/ or tracer/hot-text.txt)")
    ap.add_argument("--relink", help="shell command that links the binary with --out (default: cmake --build)")
    ap.add_argument("--glassrun", "--path", dest="path",
                    help="the binary --relink makes (default: BUILD/runtime/glassrun, BUILD/tracer/glasstrace)")
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    if not shutil.which("perf"):
        sys.exit("hot_text_profile: needs perf (apt-get install linux-perf)")
    default_list = os.path.join(REPO, LISTS[args.binary], "hot-text.txt")
    args.out = args.out or default_list
    if not args.relink and os.path.realpath(args.out) != os.path.realpath(default_list):
        sys.exit(f"hot_text_profile: --out {args.out}: the build links {default_list}; another list needs --relink")
    relink = args.relink or f"cmake --build {args.build} --target {args.binary}"
    binary = os.path.abspath(args.path or os.path.join(args.build, LISTS[args.binary], args.binary))
    # A round that fails puts the list (and the binary) back as they were.
    before_run = open(args.out).read() if os.path.exists(args.out) else None
    try:
        names = profile_rounds(args, relink, binary)
    except BaseException:
        if before_run is None:
            os.unlink(args.out)
        else:
            with open(args.out, "w") as f:
                f.write(before_run)
        run(["bash", "-c", relink])
        raise
    print(f"hot_text_profile: {len(names)} names -> {args.out}")


def profile_rounds(args, relink, binary):
    """The rounds; returns the list as written to args.out and linked."""
    names, listed = [], set()
    with tempfile.TemporaryDirectory(prefix="hot-text-") as tmp:
        for round_ in range(1, args.rounds + 1):
            write_list(args.out, names, args.binary)
            relink_or_exit(relink)
            syms = symbols(binary)
            if not syms:
                sys.exit(f"hot_text_profile: {binary}: no symbols (stripped?)")
            starts = [a for a, _, _ in syms]
            seen = faults(args.binary, binary, tmp)
            new = []
            before = {}  # pid -> the symbol of its previous fault: the new name goes after it
            for pid, addr in seen:
                name = containing(syms, starts, addr)
                if name and name not in listed:
                    listed.add(name)
                    new.append(name)
                    prev = before.get(pid)
                    names.insert(names.index(prev) + 1 if prev in listed else len(names), name)
                if name:
                    before[pid] = name
            print(f"hot_text_profile: round {round_}: {len(seen)} faults, {len(new)} names added, {len(names)} in all")
            if not new:
                break
        else:
            print(f"hot_text_profile: still adding after {args.rounds} rounds; the list is written as it stands")
        write_list(args.out, names, args.binary)
        relink_or_exit(relink)
    return names


if __name__ == "__main__":
    main()
