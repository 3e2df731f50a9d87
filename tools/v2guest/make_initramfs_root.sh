#!/usr/bin/env bash
# Fills ROOT with what the v2 guest needs: static busybox, glassrun and runc
# (the reference) with the shared libraries ldd names, a busybox bundle,
# /init and /checks.sh, and the kernel's brd.ko (a RAM block device whose IO
# the io controller counts and limits; /init loads it).
#   make_initramfs_root.sh ROOT GLASSRUN_BINARY V2GUEST_DIR [UNIT_TEST_BINARY] [KERNEL_IMAGE]
set -euo pipefail
root="$1" glassrun="$2" here="$3" unit_tests="${4:-}" kernel="${5:-}"

install_busybox() {  # dir
  cp /bin/busybox "$1/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$1/$applet" ] || ln -s busybox "$1/$applet"
  done
}

# A binary into /usr/bin, stripped (the guest holds it in RAM), with the
# shared libraries ldd names at the same paths as on the host (none for the
# static glassrun: ldd then fails, "not a dynamic executable").
install_binary() {  # SRC NAME
  mkdir -p "$root/usr/bin"
  strip -o "$root/usr/bin/$2" "$1" 2>/dev/null || cp "$1" "$root/usr/bin/$2"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# /bundle/rootfs is a busybox tree; /bundle/config.template.json is runc's
# default spec with "@ARGS@" and "@RESOURCES@" for checks.sh to fill in, and
# CAP_MKNOD so a check can make a node the device cgroup must refuse to open.
make_bundle() {
  install_busybox "$root/bundle/rootfs/bin"
  mkdir -p "$root/bundle/rootfs"/{proc,sys,dev,tmp,etc}
  /usr/bin/python3 - "$root/bundle/config.template.json" <<'PY'
import json, subprocess, sys, tempfile, os
with tempfile.TemporaryDirectory() as d:
    subprocess.run(["runc", "spec"], cwd=d, check=True)
    cfg = json.load(open(os.path.join(d, "config.json")))
cfg["process"]["terminal"] = False
cfg["process"]["args"] = "@ARGS@"
cfg["linux"]["resources"] = "@RESOURCES@"
cfg["root"] = {"path": "/bundle/rootfs", "readonly": True}
cfg["hostname"] = "v2guest"
for kind in ("bounding", "effective", "permitted"):
    cfg["process"]["capabilities"][kind].append("CAP_MKNOD")
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PY
}

install_busybox "$root/bin"
install_binary "$glassrun" glassrun
# the reference: Debian's runc binary (its shared libraries come along)
install_binary "$(command -v runc || echo /usr/sbin/runc)" runc
if [ -n "$unit_tests" ] && [ -x "$unit_tests" ]; then install_binary "$unit_tests" glassrun_unit_tests; fi
make_bundle
brd="/lib/modules/${kernel##*/vmlinuz-}/kernel/drivers/block/brd.ko"
if [ -n "$kernel" ] && [ -f "$brd" ]; then
  mkdir -p "$root/lib/modules" && cp "$brd" "$root/lib/modules/brd.ko"
else
  echo "v2guest: no $brd for $kernel: the guest has no /dev/ram0 (the stats checks fail)"
fi
cp "$here/init" "$root/init"
cp "$here/checks.sh" "$root/checks.sh"
chmod +x "$root/init" "$root/checks.sh"
