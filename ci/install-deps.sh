#!/usr/bin/env bash
# Installs every build and test dependency of glassrun from Debian's packages.
# Idempotent: on a machine that has them all it prints nothing and exits 0.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  nlohmann-json3-dev libseccomp-dev libcap-dev libfmt-dev libcli11-dev
  libbpf-dev bpftool clang llvm libelf-dev zlib1g-dev
  systemtap-sdt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-jsonschema python3-matplotlib
  busybox-static runc crun strace podman qemu-system-x86 linux-image-amd64 cpio uidmap passwd
  libclang-rt-14-dev tmux procps
  lld  # links glassrun with its hot code first (runtime/hot-text.txt)
  containerd conmon  # the engine tests (runtime/tests/test_engines.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
