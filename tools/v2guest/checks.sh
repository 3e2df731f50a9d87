#!/bin/sh
# Checks run inside the pure cgroup v2 guest (busybox sh). Each check prints
#   V2GUEST PASS <name>            or   V2GUEST FAIL: <name>: <what>
# run.sh fails the run on any FAIL line. Add checks by writing a function
# and listing it in CHECKS or FULL_CHECKS (glassrun lifecycle; run by default,
# left out with V2GUEST_CHECKS=basic on the host).
#
# Helpers: run_check NAME FUNC; make_bundle DIR ARGS_JSON [RESOURCES_JSON]
# makes a bundle from /bundle/config.template.json (rootfs /bundle/rootfs).

GR="glassrun --root /run/glassrun"
DEFAULT_RESOURCES='{"devices":[{"allow":false,"access":"rwm"}]}'

pass() { echo "V2GUEST PASS $1"; }
fail() { echo "V2GUEST FAIL: $1: $2"; }

# run_check NAME FUNC: FUNC prints what went wrong on stdout and returns non-0.
# Its output goes to the console log (indented) either way.
run_check() {
  out=$("$2" 2>&1)
  rc=$?
  [ -n "$out" ] && echo "$out" | sed "s/^/  [$1] /"
  if [ $rc -eq 0 ]; then pass "$1"; else fail "$1" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

# Text made safe as a sed replacement ('&', '|' and '\' are special there).
sed_escape() { printf '%s' "$1" | sed -e 's/[&|\\]/\\&/g'; }

make_bundle() {  # DIR ARGS_JSON [RESOURCES_JSON]
  mkdir -p "$1"
  sed -e "s|\"@ARGS@\"|$(sed_escape "$2")|" -e "s|\"@RESOURCES@\"|$(sed_escape "${3:-$DEFAULT_RESOURCES}")|" \
    /bundle/config.template.json > "$1/config.json"
}

# cgroup_of ID: the container's cgroup dir (runc's layout: /sys/fs/cgroup/<id>
# since our own cgroup is the root).
cgroup_of() { echo "/sys/fs/cgroup/$1"; }

# ---- checks ----

check_pure_v2() {
  [ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "no /sys/fs/cgroup/cgroup.controllers"; return 1; }
  for c in cpu memory pids; do
    grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || { echo "controller $c missing: $(cat /sys/fs/cgroup/cgroup.controllers)"; return 1; }
  done
  # cgroup_no_v1=all: no v1 hierarchy may be mountable.
  mkdir -p /tmp/v1 && if mount -t cgroup -o memory none /tmp/v1 2>/dev/null; then umount /tmp/v1; echo "v1 memory mountable"; return 1; fi
  return 0
}

check_glassrun_version() {
  v=$(glassrun --version 2>&1) || { echo "glassrun --version failed: $v"; return 1; }
  echo "$v"
  [ -n "$v" ]
}

# The cgroup manager's own kernel tests (gtest), when the build has them.
check_cgroup_unit_tests() {
  [ -x /usr/bin/glassrun_unit_tests ] || { echo "no unit test binary"; return 0; }
  /usr/bin/glassrun_unit_tests --gtest_filter='CgroupKernel.*' > /tmp/unit.log 2>&1
  r=$?
  grep -E '^\[ *(OK|FAILED|SKIPPED) *\]|Failure|Expected|Which is' /tmp/unit.log | head -n 30
  return $r
}

# ---- glassrun lifecycle (left out with kernel cmdline v2guest.checks=basic) ----

check_lifecycle() {
  make_bundle /tmp/b-life '["sleep","1000"]'
  $GR create -b /tmp/b-life life || return 1
  $GR state life | grep -q '"status": *"created"' || { $GR state life; return 1; }
  [ -d "$(cgroup_of life)" ] || { echo "no cgroup $(cgroup_of life)"; return 1; }
  $GR start life || return 1
  $GR state life | grep -q '"status": *"running"' || { $GR state life; return 1; }
  $GR pause life || return 1
  grep -q 'frozen 1' "$(cgroup_of life)/cgroup.events" || { echo "not frozen"; return 1; }
  $GR resume life || return 1
  grep -q 'frozen 0' "$(cgroup_of life)/cgroup.events" || { echo "still frozen"; return 1; }
  $GR delete -f life || return 1
  [ ! -d "$(cgroup_of life)" ] || { echo "cgroup left behind"; return 1; }
}

check_limits() {
  make_bundle /tmp/b-lim '["sleep","1000"]' \
    '{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":33554432},"pids":{"limit":16},"cpu":{"quota":20000,"period":100000}}'
  $GR create -b /tmp/b-lim lim || return 1
  cg=$(cgroup_of lim)
  r=0
  [ "$(cat $cg/memory.max)" = 33554432 ] || { echo "memory.max $(cat $cg/memory.max)"; r=1; }
  [ "$(cat $cg/pids.max)" = 16 ] || { echo "pids.max $(cat $cg/pids.max)"; r=1; }
  [ "$(cat $cg/cpu.max)" = "20000 100000" ] || { echo "cpu.max $(cat $cg/cpu.max)"; r=1; }
  $GR delete -f lim
  return $r
}

# The BPF device program: /dev/null usable; mknod allowed ("c *:* m") but
# opening that /dev/mem node refused.
check_device_program() {
  make_bundle /tmp/b-dev '["sh","-c","echo ok > /dev/null || exit 1; mknod /dev/m c 1 1 || exit 2; head -c1 /dev/m >/dev/null && exit 3; exit 0"]'
  $GR run -b /tmp/b-dev dev
  r=$?
  case $r in 1) echo "/dev/null refused";; 2) echo "mknod refused";; 3) echo "/dev/mem readable";; esac
  $GR delete -f dev >/dev/null 2>&1
  return $r
}

CHECKS="pure_v2:check_pure_v2 glassrun_version:check_glassrun_version cgroup_unit_tests:check_cgroup_unit_tests"
FULL_CHECKS="lifecycle:check_lifecycle limits:check_limits device_program:check_device_program"

grep -q 'v2guest.checks=basic' /proc/cmdline || CHECKS="$CHECKS $FULL_CHECKS"
for c in $CHECKS; do run_check "${c%%:*}" "${c#*:}"; done
