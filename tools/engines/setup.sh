#!/usr/bin/env bash
# tools/engines/setup.sh: podman and containerd with glassrun registered, and
# a local busybox image, for runtime/tests/test_engines.py.
#   tools/engines/setup.sh [--glassrun PATH] [--dir DIR] [--no-containerd]
# Prints KEY=VALUE lines (DIR, CONTAINERS_CONF, CONTAINERD_SOCK, CONTAINERD_PID,
# IMAGE). Stop containerd with: kill $(cat DIR/containerd.pid)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
glassrun=${GLASSRUN:-$here/build/runtime/glassrun}
dir=
with_containerd=1
while [ $# -gt 0 ]; do
  case "$1" in
    --glassrun) glassrun=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --no-containerd) with_containerd=0; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$dir" ] || dir=$(mktemp -d /tmp/glassrun-engines.XXXXXX)
mkdir -p "$dir"

need=(podman conmon busybox-static)
[ $with_containerd = 1 ] && need+=(containerd)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# podman: cgroupfs, file events, rlimits within the hard limits, glassrun registered.
# Raising an rlimit above the caller's hard limit needs CAP_SYS_RESOURCE, which
# this machine's bounding set lacks: podman's own defaults (nofile 1048576) and
# even "ulimit -H" as podman sees it fail in runc and glassrun alike. Modest
# values, capped at our hard limits, always fit.
at_most() { if [ "$2" = unlimited ] || [ "$1" -le "$2" ]; then echo "$1"; else echo "$2"; fi; }
nofile=$(at_most 1024 "$(ulimit -Hn)")
nproc=$(at_most 4096 "$(ulimit -Hu)")
cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "glassrun"]

[engine.runtimes]
glassrun = ["$glassrun"]
runc = ["$(command -v runc)"]
CONF
export CONTAINERS_CONF=$dir/containers.conf

# The busybox image: rootfs from busybox-static, imported into podman.
image=localhost/glassrun-busybox:latest
if ! podman image exists "$image"; then
  rootfs=$dir/rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev}
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  tar -C "$rootfs" -cf "$dir/rootfs.tar" .
  podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$dir/rootfs.tar" "$image" >&2
fi

echo "DIR=$dir"
echo "CONTAINERS_CONF=$dir/containers.conf"
echo "IMAGE=$image"

if [ $with_containerd = 1 ]; then
  cd_dir=$dir/containerd
  mkdir -p "$cd_dir"
  cat > "$cd_dir/config.toml" <<CONF
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
[grpc]
  address = "$cd_dir/containerd.sock"
[ttrpc]
  address = "$cd_dir/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
CONF
  # Skip the cri plugin: it wants CNI; we need only the task API.
  sed -i 's/^\[plugins."io.containerd.grpc.v1.cri"\]/disabled_plugins = ["io.containerd.grpc.v1.cri"]\n&/' "$cd_dir/config.toml"
  containerd --config "$cd_dir/config.toml" > "$cd_dir/containerd.log" 2>&1 &
  echo $! > "$dir/containerd.pid"
  for _ in $(seq 1 300); do
    ctr --address "$cd_dir/containerd.sock" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr --address "$cd_dir/containerd.sock" version >/dev/null
  podman save --format docker-archive -o "$dir/busybox.tar" "$image" >&2
  ctr --address "$cd_dir/containerd.sock" -n glassrun images import --all-platforms "$dir/busybox.tar" >&2
  echo "CONTAINERD_SOCK=$cd_dir/containerd.sock"
  echo "CONTAINERD_PID=$(cat "$dir/containerd.pid")"
fi
