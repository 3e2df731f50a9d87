"""The catalogue of configs: name -> function(cfg, ctx) editing config.json.

ctx is a dict: marker_dir (host dir for hook markers), data_dir (host dir for
bind sources), holder (pid of a process owning net/ipc/uts/pid/cgroup namespaces),
userns_holder() (pid of one owning a user namespace mapping 0 to 100000),
seccomp_agent() (the socket of the suite's seccomp agent); the two calls
start their process on first use.
Each bundle's process is rtlib.probe_args(EXTRA[name]) so the container
prints what it sees. XFAIL lists (runtime, name) -> reason for configs a
runtime does not support yet (strict: an unexpected pass is reported)."""
from __future__ import annotations

import json
import os

CATALOGUE = {}
EXTRA = {}
# (runtime, bundle) -> reason; applied as strict xfail by the tests.
XFAIL: dict[tuple[str, str], str] = {
    ("crun", "mount-proc-sysfs-mqueue-devpts-extra"): "crun 1.8.1 refuses a proc mount not at the root of the container (`invalid target mnt/proc2`)",
    ("runc", "ns-time-offsets"): "runc 1.1.5 has no time namespace (runc 1.2 added it): `namespace {\"time\" \"\"} does not exist`",
    ("runc", "rootfs-propagation-unbindable"): "runc 1.1.5 binds the rootfs onto itself after making it unbindable: `mount ... flags: 0x5000: invalid argument`",
    ("crun", "ns-user-mapped"): "crun 1.8.1 binds the default devices in a user namespace with nosuid,noexec and in its own order (null, zero, full, tty, random, urandom)",
    ("crun", "mount-idmapped"): "crun 1.8.1 binds the default devices in a user namespace with nosuid,noexec and in its own order; it does make the idmapped mount runc 1.1.5 ignores",
    ("crun", "rootfs-propagation-shared"): "crun 1.8.1 makes the root mount shared as asked; runc 1.1.5 leaves it private",
    ("glassrun", "rootfs-propagation-shared"): "glassrun makes the root mount shared as the runtime-spec asks (as crun); runc 1.1.5 leaves it private "
                                               "(runtime/tests/test_runc_parity_mounts.py::test_rootfs_propagation checks all four values)",
    ("crun", "mount-dangling-symlink"): "crun 1.8.1 refuses a mount target that is a dangling symlink: `openat2 dangling: No such file or directory`",
    ("crun", "process-user-stdio"): "crun 1.8.1 does not chown the stdio it is given to the container's user; runc 1.1.5 does",
    ("crun", "ns-time-offsets"): "crun 1.8.1 fails any time namespace here (with or without offsets): its process that unshares "
                                 "CLONE_NEWTIME exits and create ends with `write to sync socket: Connection reset by peer`",
}
# Bundles whose `create` runs wrapped in another command (the container's
# init lives in what that command made). ns-mount-absent: without a mount
# namespace runc 1.1.5 makes / rslave and binds the rootfs onto itself in the
# caller's mount namespace and leaves that behind (with root "/" a recursive
# bind of / over /, after which unshare(CLONE_NEWUSER) fails with EPERM
# host-wide): every runtime gets a private mount namespace made for the test,
# so the host's is never changed (test_behaviour checks its mountinfo).
WRAP: dict[str, list[str]] = {"ns-mount-absent": ["unshare", "--mount", "--propagation", "private"]}
# Bundles runc cannot run: the other runtimes are checked against what the
# config asks (the probe's `extra` section must read EXPECT[bundle]).
NO_REFERENCE: dict[str, str] = {b: XFAIL[("runc", b)] for b in ("ns-time-offsets", "rootfs-propagation-unbindable")}
EXPECT: dict[str, str] = {"ns-time-offsets": "monotonic 86400 0\nboottime 172800 0",
                          "rootfs-propagation-unbindable": "unbindable"}
# Known glassrun bugs that show as differences: a test whose only
# differences are listed here xfails; when a listed bug no longer shows, the
# test fails so the entry gets removed. (Fixed: joined namespace_paths, HOME,
# the cgroup mounts in a joined cgroup namespace.)
BUGS: list[dict] = []


def entry(name, extra="true"):
    def deco(fn):
        CATALOGUE[name] = fn
        EXTRA[name] = extra
        return fn
    return deco


def _ns(cfg):
    return cfg["linux"].setdefault("namespaces", [])


def _drop_ns(cfg, typ):
    cfg["linux"]["namespaces"] = [n for n in _ns(cfg) if n["type"] != typ]


def _set_ns(cfg, typ, path=None):
    _drop_ns(cfg, typ)
    n = {"type": typ}
    if path:
        n["path"] = path
    _ns(cfg).append(n)


def _mount(cfg, m):
    cfg["mounts"].append(m)


@entry("default")
def default(cfg, ctx):
    pass


# ---- namespaces: new, joined by path, absent --------------------------------
@entry("ns-cgroup-new", "readlink /proc/self/ns/cgroup >/dev/null && cat /proc/self/cgroup | sed 's/^[0-9]*://'")
def ns_cgroup_new(cfg, ctx):
    _set_ns(cfg, "cgroup")


@entry("ns-user-mapped", "cat /proc/self/uid_map /proc/self/gid_map")
def ns_user(cfg, ctx):
    _set_ns(cfg, "user")
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    import subprocess
    subprocess.run(["chown", "-R", "-h", "100000:100000", str(ctx["rootfs"])], check=True)
    # a cgroup v1 mount needs privileges a user namespace lacks
    cfg["mounts"] = [m for m in cfg["mounts"] if m["type"] != "cgroup"]


@entry("ns-mount-absent")
def ns_mount_absent(cfg, ctx):
    # no mount namespace: the caller's (a private one, catalogue.WRAP);
    # runc refuses masked and read-only paths without one
    _drop_ns(cfg, "mount")
    cfg["linux"].pop("maskedPaths", None)
    cfg["linux"].pop("readonlyPaths", None)


@entry("ns-user-joined", "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u %g' /")
def ns_user_joined(cfg, ctx):
    # a user namespace made by a holder (unshare --user, maps 0 -> 100000
    # written by the suite), joined by path; the config repeats its maps
    # (runc 1.1.5 refuses a user namespace without them: "User namespaces
    # enabled, but no uid mappings found")
    ns_user(cfg, ctx)
    _set_ns(cfg, "user", f"/proc/{ctx['userns_holder']()}/ns/user")


for _typ, _extra in (("network", "cat /proc/net/dev | wc -l"), ("ipc", "ls /proc/sysvipc >/dev/null; echo ipc"),
                     ("uts", "true"), ("pid", "echo pid1=$(cat /proc/1/comm 2>&1 | head -c 3)")):
    def _absent(cfg, ctx, _t=_typ):
        _drop_ns(cfg, _t)
        if _t == "uts":
            cfg.pop("hostname", None)
        if _t == "network":
            # sysfs in the host's netns needs no new mount here: drop it
            cfg["mounts"] = [m for m in cfg["mounts"] if m["type"] not in ("sysfs", "cgroup")]
    entry(f"ns-{_typ}-absent", _extra)(_absent)


# Joined: the container's namespace is the holder's (its id is put into the
# probe when the bundle is made); a runtime that makes a new one prints
# "not joined". In the holder's pid namespace, pid 1 is the holder's sleep.
HOLDER_NS = "@HOLDER_NS@"
for _typ, _nsfile in (("network", "net"), ("ipc", "ipc"), ("uts", "uts"), ("pid", "pid"), ("cgroup", "cgroup")):
    def _join(cfg, ctx, _t=_typ, _f=_nsfile):
        holder_ns = f"/proc/{ctx['holder']}/ns/{_f}"
        _set_ns(cfg, _t, holder_ns)
        cfg["process"]["args"] = [a.replace(HOLDER_NS, os.readlink(holder_ns)) for a in cfg["process"]["args"]]
        if _t == "uts":
            cfg.pop("hostname", None)
        if _t == "network":
            cfg["mounts"] = [m for m in cfg["mounts"] if m["type"] not in ("sysfs", "cgroup")]
    entry(f"ns-{_typ}-joined",
          f"n=$(readlink /proc/self/ns/{_nsfile}); test \"$n\" = '{HOLDER_NS}' && echo {_nsfile}-joined || echo \"not joined: $n\""
          + ("; echo pid1=$(cat /proc/1/comm)" if _typ == "pid" else ""))(_join)


# ---- mounts -----------------------------------------------------------------
@entry("mount-bind-ro", "cat /data/file; touch /data/x 2>&1 | sed 's/.*: //'")
def mount_bind_ro(cfg, ctx):
    (ctx["data_dir"] / "file").write_text("hello\n")
    _mount(cfg, {"destination": "/data", "type": "bind", "source": str(ctx["data_dir"]),
                 "options": ["bind", "ro"]})


@entry("mount-rbind-rprivate", "cat /data/file")
def mount_rbind(cfg, ctx):
    (ctx["data_dir"] / "file").write_text("rbind\n")
    _mount(cfg, {"destination": "/data", "type": "bind", "source": str(ctx["data_dir"]),
                 "options": ["rbind", "rprivate"]})


@entry("mount-bind-rslave", "cat /data/file")
def mount_bind_slave(cfg, ctx):
    (ctx["data_dir"] / "file").write_text("slave\n")
    _mount(cfg, {"destination": "/data", "type": "bind", "source": str(ctx["data_dir"]),
                 "options": ["rbind", "rslave"]})


@entry("mount-tmpfs-size-mode", "stat -c '%a %U' /scratch; df -k /scratch | tail -1 | awk '{print $2}'")
def mount_tmpfs(cfg, ctx):
    _mount(cfg, {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "nodev", "size=4m", "mode=1770"]})


@entry("mount-proc-sysfs-mqueue-devpts-extra",
       "ls /mnt; test -e /mnt/proc2/self/status && echo proc2; test -d /mnt/sys2/kernel && echo sys2; "
       "test -c /mnt/pts2/ptmx && echo pts2")
def mount_more(cfg, ctx):
    # what the name says: a second proc, sysfs, mqueue and devpts, at
    # non-default places
    _mount(cfg, {"destination": "/mnt/proc2", "type": "proc", "source": "proc"})
    _mount(cfg, {"destination": "/mnt/sys2", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]})
    _mount(cfg, {"destination": "/mnt/mq", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]})
    _mount(cfg, {"destination": "/mnt/pts2", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]})


@entry("mount-dangling-symlink", "readlink /dangling; ls /nowhere/ 2>&1 | sed 's/.*: //'; cat /dangling/file 2>&1 | sed 's/.*: //'")
def mount_dangling(cfg, ctx):
    # the target is a symlink to a path that does not exist in the rootfs:
    # resolved inside the rootfs (securejoin), the directory is made there
    (ctx["rootfs"] / "dangling").symlink_to("/nowhere")
    (ctx["data_dir"] / "file").write_text("through the link\n")
    _mount(cfg, {"destination": "/dangling", "type": "bind", "source": str(ctx["data_dir"]), "options": ["bind", "ro"]})


@entry("dev-readonly", "touch /dev/x 2>&1 | sed 's/.*: //'; echo ok > /dev/null && echo null-writable")
def dev_readonly(cfg, ctx):
    for m in cfg["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = [o for o in m.get("options", []) if o != "rw"] + ["ro"]


for _prop in ("private", "slave", "shared", "unbindable"):
    def _propagation(cfg, ctx, _p=_prop):
        cfg["linux"]["rootfsPropagation"] = _p
    # the optional fields of the root mount (shared:N, master:N, unbindable), without the peer ids.
    # slave shows master only where the rootfs comes from a shared mount: on
    # a host whose mounts are private (this CI VM: `/` has no shared:N) slave
    # and private both show none, and only the config tells them apart
    # (shared and unbindable always show).
    entry(f"rootfs-propagation-{_prop}",
          "awk '$5 == \"/\" { for (i = 7; $i != \"-\"; i++) printf \"%s \", $i; print \"\" }' /proc/self/mountinfo"
          " | sed 's/:[0-9]*//g'")(_propagation)


@entry("mount-idmapped", "stat -c '%u %g' /data /data/file; cat /proc/self/uid_map")
def mount_idmapped(cfg, ctx):
    # a user namespace and an idmapped bind (runtime-spec 1.1 mounts[].uidMappings)
    ns_user(cfg, ctx)
    (ctx["data_dir"] / "file").write_text("idmapped\n")
    _mount(cfg, {"destination": "/data", "type": "bind", "source": str(ctx["data_dir"]), "options": ["bind", "ro"],
                 "uidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}],
                 "gidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}]})

@entry("ns-time-offsets", "cat /proc/self/timens_offsets")
def ns_time(cfg, ctx):
    _set_ns(cfg, "time")
    cfg["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0},
                                   "boottime": {"secs": 172800, "nanosecs": 0}}


@entry("root-writable", "touch /rootfile && echo writable")
def root_writable(cfg, ctx):
    cfg["root"]["readonly"] = False


# ---- devices ----------------------------------------------------------------
@entry("device-fuse", "ls -ln /dev/fuse | awk '{print $1,$3,$4,$5,$6}'")
def device(cfg, ctx):
    cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                "fileMode": 438, "uid": 0, "gid": 0}]
    cfg["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"})


# ---- process ----------------------------------------------------------------
@entry("process-user-groups")
def process_user(cfg, ctx):
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}


@entry("process-umask")
def process_umask(cfg, ctx):
    cfg["process"]["user"]["umask"] = 0o077


@entry("process-cwd-env")
def process_cwd_env(cfg, ctx):
    cfg["process"]["cwd"] = "/tmp"
    cfg["process"]["env"].append("CONFORMANCE=yes with spaces")


# soft and hard limits (ulimit -a in the probe shows only the soft ones)
@entry("process-rlimits", "grep -E '^Max (processes|core file size|open files)' /proc/self/limits")
def process_rlimits(cfg, ctx):
    cfg["process"]["rlimits"] += [{"type": "RLIMIT_NPROC", "soft": 512, "hard": 1024},
                                  {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]


@entry("process-capabilities")
def process_caps(cfg, ctx):
    caps = cfg["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        caps[s] = sorted(set(caps.get(s, [])) | {"CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_CHOWN"})


@entry("process-capabilities-user")
def process_caps_user(cfg, ctx):
    # a non-root user keeps only its ambient capabilities across execve; the
    # bounding set holds one capability more than the others
    # (tools/planted/extra-capability gives the process that one)
    caps = cfg["process"]["capabilities"]
    base = sorted(set(caps.get("bounding", [])) | {"CAP_CHOWN"})
    for s in ("effective", "permitted", "inheritable", "ambient"):
        caps[s] = list(base)
    caps["bounding"] = sorted(set(base) | {"CAP_SYS_PTRACE"})
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}


@entry("process-nnp-false")
def process_nnp(cfg, ctx):
    cfg["process"]["noNewPrivileges"] = False


@entry("process-oom-score-adj")
def process_oom(cfg, ctx):
    cfg["process"]["oomScoreAdj"] = 123


@entry("process-cwd-0700", "pwd; ls . 2>&1 | sed 's/.*: //'")
def process_cwd_0700(cfg, ctx):
    # the user process (uid 1000) starts in a directory only root may search
    d = ctx["rootfs"] / "secret" / "work"
    d.mkdir(parents=True)
    (ctx["rootfs"] / "secret").chmod(0o700)
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    cfg["process"]["cwd"] = "/secret/work"


@entry("process-user-stdio", "for f in 0 1 2; do stat -L -c \"$f %u %g %a\" /proc/self/fd/$f; done")
def process_user_stdio(cfg, ctx):
    # stdio of a non-root user: who owns what it was given
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}


@entry("devices-allow-deny-order",
       "(exec 3<>/dev/fuse) 2>/dev/null && echo fuse-opened || echo fuse-denied; "
       "(exec 3>/dev/kmsg) 2>/dev/null && echo kmsg-opened-for-writing || echo kmsg-denied-for-writing; "
       "echo x > /dev/null && echo null-ok; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null | sort")
def devices_order(cfg, ctx):
    # The rules apply in order, the last match wins: /dev/fuse denied, then
    # allowed; /dev/kmsg allowed, then denied for reading and writing (mknod
    # stays allowed). Neither is among the devices runc allows by default
    # after the config's rules (/dev/zero would be), so only the config's
    # order decides. The container opens both (kmsg write-only: nothing is
    # written, and no syslog permission is needed).
    cfg["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
        {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 420, "uid": 0, "gid": 0},
    ]
    cfg["linux"]["resources"]["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rwm"},
        {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "rw"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 136, "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    ]


# ---- uts, paths, sysctl -----------------------------------------------------
@entry("hostname-host")
def hostname_host(cfg, ctx):
    # the host's own hostname: a runtime that skips sethostname shows the
    # same hostname; only the syscall order tells (tools/planted/no-sethostname)
    import socket
    cfg["hostname"] = socket.gethostname()


@entry("hostname-domainname")
def hostname(cfg, ctx):
    cfg["hostname"] = "conf-host"
    cfg["domainname"] = "conf.example"


@entry("masked-readonly-paths", "cat /proc/cpuinfo | wc -c; echo 1 > /proc/sys/kernel/ctrl-alt-del 2>&1 | sed 's/.*: //'; ls /proc/driver | wc -l")
def masked(cfg, ctx):
    cfg["linux"]["maskedPaths"] += ["/proc/cpuinfo", "/proc/driver"]
    cfg["linux"]["readonlyPaths"] += ["/proc/sysvipc"]


@entry("sysctl-netns", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")
def sysctl(cfg, ctx):
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "2048"}


# ---- resources --------------------------------------------------------------
@entry("resources-limits")
def resources(cfg, ctx):
    r = cfg["linux"]["resources"]
    r["memory"] = {"limit": 64 * 1024 * 1024}
    r["pids"] = {"limit": 64}
    r["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}


# ---- seccomp ----------------------------------------------------------------
def _seccomp_on_tmp(cfg, rule, **fields):
    """A tmpfs on /tmp to make directories in, and a filter allowing all but rule."""
    _mount(cfg, {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                               **fields, "syscalls": [rule]}


@entry("seccomp-mkdir-eperm", "mkdir /tmp/x 2>&1 | sed 's/.*: //'; mkdir /tmp/y 2>&1 | sed 's/.*: //'")
def seccomp(cfg, ctx):
    _seccomp_on_tmp(cfg, {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1})


@entry("seccomp-notify", "mkdir /tmp/x 2>&1 | sed 's/.*: //'; test -d /tmp/x || echo x-not-made")
def seccomp_notify(cfg, ctx):
    # mkdir goes to the suite's seccomp agent (tools/seccomp-agent, on
    # listenerPath), which fails it with EDQUOT without running it.
    # The agent logs each runtime's hand-off: the fd and the metadata
    # (test_behaviour.test_seccomp_agent_handoff)
    _seccomp_on_tmp(cfg, {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                    listenerPath=str(ctx["seccomp_agent"]()), listenerMetadata="conformance-metadata")


# ---- hooks ------------------------------------------------------------------
HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def hook(name, path):
    # the marker word "conformance-hook=NAME" shows in the trace's exec argv
    # It reads the state on its stdin, as a hook should: crun 1.8.1 writes it
    # without ignoring SIGPIPE, and a hook that exits first killed `crun start`
    # with SIGPIPE now and then (seen in CI).
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat >/dev/null; echo {name} >> {path} # conformance-hook={name}"]}


@entry("hooks", "grep -c startContainer /markers/order")
def hooks(cfg, ctx):
    md = ctx["marker_dir"]
    host = str(md / "order")
    _mount(cfg, {"destination": "/markers", "type": "bind", "source": str(md), "options": ["rbind", "rw"]})
    cfg["hooks"] = {n: [hook(n, "/markers/order" if n == "startContainer" else host)]
                    for n in HOOK_NAMES}


def render_config(name, cfg):
    return json.dumps(cfg, indent=1)
