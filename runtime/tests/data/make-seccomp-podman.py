#!/usr/bin/python3
"""Regenerates seccomp-podman.json: the linux.seccomp object podman 4.3 hands
to its OCI runtime on amd64 with its default capabilities.

Source: /usr/share/containers/seccomp.json from Debian's
golang-github-containers-common 0.50.1 (Apache-2.0, github.com/containers/common).
That file is in containers/common's own format (archMap, includes/excludes);
this applies the filtering of containers/common pkg/seccomp setupSeccomp():
drop entries excluded for our arch/caps or not included, keep the rest.

Usage: make-seccomp-podman.py [SRC] > seccomp-podman.json
"""
import json
import sys

GO_ARCH = "amd64"
SECCOMP_ARCH = "SCMP_ARCH_X86_64"
# containers.conf default_capabilities (podman 4.3)
CAPS = {"CAP_" + c for c in ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
                             "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]}


def wanted(call):
    inc, exc = call.get("includes") or {}, call.get("excludes") or {}
    if GO_ARCH in (exc.get("arches") or []):
        return False
    if any(c in CAPS for c in exc.get("caps") or []):
        return False
    if inc.get("arches") and GO_ARCH not in inc["arches"]:
        return False
    if any(c not in CAPS for c in inc.get("caps") or []):
        return False
    return True


def convert(src):
    out = {"defaultAction": src["defaultAction"]}
    if "defaultErrnoRet" in src:
        out["defaultErrnoRet"] = src["defaultErrnoRet"]
    for m in src.get("archMap") or []:
        if m["architecture"] == SECCOMP_ARCH:
            out["architectures"] = [m["architecture"]] + m.get("subArchitectures", [])
    out["syscalls"] = []
    for call in src["syscalls"]:
        if not wanted(call):
            continue
        rule = {"names": call["names"], "action": call["action"]}
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = call["errnoRet"]
        if call.get("args"):
            rule["args"] = call["args"]
        out["syscalls"].append(rule)
    return out


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"
    with open(path) as f:
        json.dump(convert(json.load(f)), sys.stdout, indent=1)
    sys.stdout.write("\n")
