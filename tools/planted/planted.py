#!/usr/bin/python3
"""Planted-defect runtimes: glassrun with one defect each, to prove that each
conformance check can fail on its own (conformance/test_planted_defects.py).
Never a runtime to ship: each is a wrapper that bends glassrun's input or
output, named by the link it is called through:

  no-sethostname     the hostname is not set (sethostname skipped); the
                     state.json still records the configured hostname.
                     Visible only in the syscall order when the configured
                     hostname is the host's own (bundle hostname-host).
  wrong-cgroup-path  state.json's cgroup_paths.memory names a wrong cgroup
                     (put right again before `delete`).
  wrong-status       `state` says "running" for a paused container.
  extra-capability   the process gets CAP_SYS_PTRACE (in the bounding set,
                     not given) instead of CAP_CHOWN in its effective,
                     permitted, inheritable and ambient sets: same counts to
                     capset, same bounding set; state.json records the
                     configured sets (bundle process-capabilities-user).
  no-ipc-namespace   no new ipc namespace although the config asks one.
  leak-fd            the container's first process inherits fd 3, the
                     bundle directory (a host directory, outside the
                     container's root: CVE-2024-21626's shape), handed on
                     through --preserve-fds 1.

GLASSRUN=PATH names the real runtime (default <repo>/build/runtime/glassrun).
Everything a defect does not touch passes through unchanged."""
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
REAL = os.environ.get("GLASSRUN") or str(HERE.parents[1] / "build" / "runtime" / "glassrun")
COMMANDS = {"create", "run", "start", "state", "kill", "delete", "pause", "resume", "ps", "exec", "list",
            "events", "update", "spec", "checkpoint", "restore", "features"}


def parse(args):
    """(global options, command, command args, --root, --bundle, container id)."""
    i = next((k for k, a in enumerate(args) if a in COMMANDS), len(args))
    glob, cmd, rest = args[:i], (args[i] if i < len(args) else ""), args[i + 1:]
    root = "/run/glassrun"
    for k, a in enumerate(glob):
        if a == "--root" and k + 1 < len(glob):
            root = glob[k + 1]
        elif a.startswith("--root="):
            root = a.split("=", 1)[1]
    bundle, cid, k = os.getcwd(), None, 0
    while k < len(rest):
        a = rest[k]
        if a in ("-b", "--bundle"):
            bundle, k = rest[k + 1], k + 2
            continue
        if a.startswith("--bundle="):
            bundle = a.split("=", 1)[1]
        elif a.startswith("-"):
            if a in ("--pid-file", "--console-socket", "--preserve-fds"):
                k += 1
        elif cid is None:
            cid = a
        k += 1
    return glob, cmd, rest, root, os.path.abspath(bundle), cid


# ---- the defects: each edits the config, the state.json or the output ------
def no_sethostname_config(cfg):
    cfg.pop("hostname", None)


def no_sethostname_state(sj, cfg):
    sj["config"]["hostname"] = cfg.get("hostname", "")


def wrong_cgroup_path_state(sj, cfg):
    paths = sj.get("cgroup_paths") or {}
    if "memory" in paths:
        paths["memory"] = paths["memory"].rstrip("/") + "/planted-wrong"


SWAP = ("CAP_CHOWN", "CAP_SYS_PTRACE")


def extra_capability_config(cfg):
    caps = cfg["process"].get("capabilities") or {}
    for s in ("effective", "permitted", "inheritable", "ambient"):
        caps[s] = [SWAP[1] if c == SWAP[0] else c for c in caps.get(s, [])]


def extra_capability_state(sj, cfg):
    want = cfg["process"].get("capabilities") or {}
    got = sj["config"].get("capabilities")
    if isinstance(got, dict):
        for k in got:
            for s in ("effective", "permitted", "inheritable", "ambient", "bounding"):
                if k.lower() == s:
                    got[k] = list(want.get(s) or [])


def no_ipc_namespace_config(cfg):
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"].get("namespaces", []) if n.get("type") != "ipc"]


def leak_fd_args(bundle, rest):
    fd = os.open(bundle, os.O_RDONLY | os.O_DIRECTORY)
    if fd != 3:
        os.dup2(fd, 3)   # inheritable
        os.close(fd)
    os.set_inheritable(3, True)
    return ["--preserve-fds", "1", *rest]


def wrong_status_output(cmd, out):
    if cmd != "state":
        return out
    doc = json.loads(out)
    if doc.get("status") == "paused":
        doc["status"] = "running"
    return json.dumps(doc, indent=2) + "\n"


DEFECTS = {
    "no-sethostname": {"config": no_sethostname_config, "state": no_sethostname_state},
    "wrong-cgroup-path": {"state": wrong_cgroup_path_state},
    "wrong-status": {"output": wrong_status_output},
    "extra-capability": {"config": extra_capability_config, "state": extra_capability_state},
    "no-ipc-namespace": {"config": no_ipc_namespace_config},
    "leak-fd": {"args": leak_fd_args},
}


def saved_state(root, cid):
    """Where wrong-cgroup-path keeps the true state.json until `delete`."""
    return pathlib.Path(str(root) + ".planted") / f"{cid}.state.json"


def main():
    name = pathlib.Path(sys.argv[0]).name
    defect = DEFECTS.get(name)
    if defect is None:
        sys.exit(f"planted: called as {name!r}: call me through one of {sorted(DEFECTS)}")
    args = sys.argv[1:]
    glob, cmd, rest, root, bundle, cid = parse(args)
    if cmd == "delete" and cid and saved_state(root, cid).exists():
        os.replace(saved_state(root, cid), pathlib.Path(root) / cid / "state.json")
    if cmd in ("create", "run"):
        cfg = json.loads((pathlib.Path(bundle) / "config.json").read_text())
        if "config" in defect:
            copy = pathlib.Path(bundle + ".planted-" + name)
            copy.mkdir(exist_ok=True)
            bent = json.loads(json.dumps(cfg))
            rp = bent["root"]["path"]
            bent["root"]["path"] = rp if os.path.isabs(rp) else os.path.join(bundle, rp)
            defect["config"](bent)
            (copy / "config.json").write_text(json.dumps(bent, indent=1))
            rest = list(rest)
            for k, a in enumerate(rest):
                if a in ("-b", "--bundle"):
                    rest[k + 1] = str(copy)
                elif a.startswith("--bundle="):
                    rest[k] = f"--bundle={copy}"
            if not any(a in ("-b", "--bundle") or a.startswith("--bundle=") for a in rest):
                rest = ["--bundle", str(copy)] + rest
        if "args" in defect:
            rest = defect["args"](bundle, rest)
        if "state" in defect and cmd == "create":
            p = subprocess.run([REAL, *glob, cmd, *rest])
            if p.returncode == 0:
                sj_path = pathlib.Path(root) / cid / "state.json"
                sj = json.loads(sj_path.read_text())
                if name == "wrong-cgroup-path":
                    saved_state(root, cid).parent.mkdir(exist_ok=True)
                    saved_state(root, cid).write_text(sj_path.read_text())
                defect["state"](sj, cfg)
                sj_path.write_text(json.dumps(sj))
            sys.exit(p.returncode)
    if "output" in defect and cmd == "state":
        p = subprocess.run([REAL, *glob, cmd, *rest], stdout=subprocess.PIPE, text=True)
        sys.stdout.write(defect["output"](cmd, p.stdout) if p.returncode == 0 else p.stdout)
        sys.exit(p.returncode)
    os.execv(REAL, [REAL, *glob, cmd, *rest])


if __name__ == "__main__":
    main()
