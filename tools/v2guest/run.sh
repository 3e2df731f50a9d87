#!/usr/bin/env bash
# Boots a pure cgroup v2 guest (Debian's kernel with cgroup_no_v1=all, under
# plain qemu TCG emulation) with the built glassrun in its initramfs, runs
# checks.sh there, and reports its V2GUEST lines.
#
#   tools/v2guest/run.sh BUILD_DIR
#
# Exit: 0 all checks passed; 1 a check failed or the guest did not finish;
# 77 qemu or a kernel image cannot be had (the caller skips).
# Env: V2GUEST_TIMEOUT (seconds, default 600), V2GUEST_KERNEL (a vmlinuz),
#      V2GUEST_CHECKS=basic (skip checks.sh's FULL_CHECKS, the glassrun lifecycle),
#      V2GUEST_ONLY=NAME,NAME (run only those checks: a quicker boot while working on them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)"
work="$build/v2guest"
timeout_s="${V2GUEST_TIMEOUT:-600}"

skip() { echo "V2GUEST SKIP: $*"; exit 77; }

# --- tools and kernel -------------------------------------------------------
find_kernel() {
  if [ -n "${V2GUEST_KERNEL:-}" ]; then echo "$V2GUEST_KERNEL"; return; fi
  ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1
}
need_install=()
command -v qemu-system-x86_64 >/dev/null || need_install+=(qemu-system-x86)
command -v cpio >/dev/null || need_install+=(cpio)
[ -n "$(find_kernel)" ] || need_install+=(linux-image-amd64)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need_install+=(busybox-static)
if [ ${#need_install[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || skip "need ${need_install[*]} and not root to install them"
  echo "v2guest: installing ${need_install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_install[@]}"; } >/dev/null 2>&1 ||
    skip "apt-get install ${need_install[*]} failed"
fi
kernel="$(find_kernel)"
[ -r "$kernel" ] || skip "kernel image $kernel not readable"
# busybox must be static: nothing else of the host is in the guest besides
# glassrun's own libraries.
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || skip "/bin/busybox is not static (install busybox-static)"

glassrun="$build/runtime/glassrun"
[ -x "$glassrun" ] || { echo "V2GUEST FAIL: no glassrun binary at $glassrun (build it first)"; exit 1; }

# --- initramfs ----------------------------------------------------------------
rm -rf "$work"
root="$work/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,run,tmp,newroot,bundle/rootfs/bin}
"$here/make_initramfs_root.sh" "$root" "$glassrun" "$here" "$build/runtime/glassrun_unit_tests" "$kernel"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

# --- boot ----------------------------------------------------------------------
log="$work/console.log"
echo "v2guest: booting $(basename "$kernel") (TCG, timeout ${timeout_s}s); console log: $log"
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=3 rdinit=/init v2guest.checks=${V2GUEST_CHECKS:-full}${V2GUEST_ONLY:+ v2guest.only=$V2GUEST_ONLY}" \
  </dev/null 2>&1 | tr -d '\r' | tee "$log" | grep --line-buffered '^V2GUEST'
qemu_rc=${PIPESTATUS[0]}
set -e

# --- verdict ----------------------------------------------------------------------
if [ "$qemu_rc" -eq 124 ]; then echo "V2GUEST FAIL: guest timed out after ${timeout_s}s"; exit 1; fi
grep -q '^V2GUEST DONE' "$log" || { echo "V2GUEST FAIL: guest did not finish (qemu exit $qemu_rc; see $log)"; exit 1; }
grep -q '^V2GUEST FAIL' "$log" && exit 1
grep -q '^V2GUEST PASS' "$log" || { echo "V2GUEST FAIL: no check passed"; exit 1; }
echo "v2guest: all checks passed"
