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
# The PASS line ends with the check's time in the guest (emulation is slow:
# this is where a long boot goes).
uptime_s() { cut -d' ' -f1 /proc/uptime; }
run_check() {
  began=$(uptime_s)
  out=$("$2" 2>&1)
  rc=$?
  [ -n "$out" ] && echo "$out" | sed "s/^/  [$1] /"
  if [ $rc -eq 0 ]; then pass "$1 ($(echo "$began $(uptime_s)" | awk '{printf "%.1f", $2 - $1}')s)"
  else fail "$1" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
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

# pid_of ID: the init's host pid from `state`.
pid_of() { $GR state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# wait_for TRIES CMD...: runs CMD every 0.1 s until it succeeds (bounded by tries).
wait_for() {
  n=$1; shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; n=$((n - 1)); sleep 0.1; done
  return 1
}

status_is() { $GR state "$1" 2>/dev/null | grep -q "\"status\": *\"$2\""; }

check_lifecycle() {
  make_bundle /tmp/b-life '["sleep","1000"]'
  $GR create -b /tmp/b-life life || return 1
  status_is life created || { $GR state life; return 1; }
  [ -d "$(cgroup_of life)" ] || { echo "no cgroup $(cgroup_of life)"; return 1; }
  pid=$(pid_of life)
  grep -qx "$pid" "$(cgroup_of life)/cgroup.procs" || { echo "init $pid not in $(cgroup_of life)/cgroup.procs"; return 1; }
  $GR start life || return 1
  status_is life running || { $GR state life; return 1; }
  $GR ps --format json life | grep -q "$pid" || { echo "ps: $($GR ps --format json life)"; return 1; }
  $GR events --stats life | grep -q '"pids":{"current":[1-9]' || { echo "events --stats: $($GR events --stats life)"; return 1; }
  $GR kill life KILL || return 1
  wait_for 100 status_is life stopped || { echo "not stopped after KILL"; return 1; }
  $GR delete life || return 1
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
  # update changes them on the live cgroup.
  $GR update --memory 64m --pids-limit 20 lim || r=1
  [ "$(cat $cg/memory.max)" = 67108864 ] || { echo "after update memory.max $(cat $cg/memory.max)"; r=1; }
  [ "$(cat $cg/pids.max)" = 20 ] || { echo "after update pids.max $(cat $cg/pids.max)"; r=1; }
  $GR delete -f lim
  return $r
}

# 16 MiB (no swap) and a process that wants 64 MiB: the OOM killer ends it (137),
# memory.events counts the kill, and events prints an oom line.
check_memory_limit() {
  make_bundle /tmp/b-mem '["sh","-c","x=$(head -c 64m /dev/zero | tr \"\\\\0\" x); echo survived"]' \
    '{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":16777216,"swap":16777216}}'
  $GR create -b /tmp/b-mem mem > /tmp/mem.out 2>&1 || { cat /tmp/mem.out; return 1; }
  cg=$(cgroup_of mem)
  r=0
  [ "$(cat $cg/memory.max)" = 16777216 ] || { echo "memory.max $(cat $cg/memory.max)"; r=1; }
  $GR events --interval 1s mem > /tmp/mem.events 2>&1 &
  ev=$!
  $GR start mem || r=1
  wait_for 1200 status_is mem stopped || { echo "still running"; r=1; }
  grep -q survived /tmp/mem.out && { echo "the allocation survived"; r=1; }
  kills=$(sed -n 's/^oom_kill //p' $cg/memory.events)
  [ "${kills:-0}" -ge 1 ] || { echo "memory.events: $(cat $cg/memory.events | tr '\n' ' ')"; r=1; }
  wait_for 100 grep -q '"type":"oom"' /tmp/mem.events || { echo "no oom event: $(head -c 300 /tmp/mem.events)"; r=1; }
  kill $ev 2>/dev/null; wait $ev 2>/dev/null
  $GR delete -f mem
  return $r
}

# pids.max 10 and a loop that wants 50 sleeps: forks fail, pids.current stays <= 10.
check_pids_limit() {
  make_bundle /tmp/b-pids '["sh","-c","(for i in $(seq 50); do sleep 1000 & done) 2>/dev/shm/err; echo done > /dev/shm/done; exec sleep 1000"]' \
    '{"devices":[{"allow":false,"access":"rwm"}],"pids":{"limit":10}}'
  $GR create -b /tmp/b-pids pids || return 1
  cg=$(cgroup_of pids)
  pid=$(pid_of pids)
  r=0
  $GR start pids || r=1
  wait_for 600 test -e /proc/$pid/root/dev/shm/done || { echo "loop did not finish"; r=1; }
  grep -qE "can't fork|Resource temporarily unavailable" /proc/$pid/root/dev/shm/err ||
    { echo "no fork failure: $(head -c 200 /proc/$pid/root/dev/shm/err)"; r=1; }
  cur=$(cat $cg/pids.current)
  [ "$cur" -ge 1 ] && [ "$cur" -le 10 ] || { echo "pids.current $cur"; r=1; }
  $GR kill --all pids KILL || r=1
  wait_for 100 status_is pids stopped || { echo "kill --all left it running"; r=1; }
  [ -z "$(cat $cg/cgroup.procs)" ] || { echo "procs left: $(cat $cg/cgroup.procs | tr '\n' ' ')"; r=1; }
  $GR delete -f pids
  return $r
}

# cpu.max on the host side and inside (the spec mounts /sys/fs/cgroup: the container's own cgroup).
check_cpu_limit() {
  make_bundle /tmp/b-cpu '["sleep","1000"]' \
    '{"devices":[{"allow":false,"access":"rwm"}],"cpu":{"quota":50000,"period":200000}}'
  $GR run -d -b /tmp/b-cpu cpu || return 1
  r=0
  [ "$(cat $(cgroup_of cpu)/cpu.max)" = "50000 200000" ] || { echo "cpu.max $(cat $(cgroup_of cpu)/cpu.max)"; r=1; }
  inside=$($GR exec cpu cat /sys/fs/cgroup/cpu.max 2>&1)
  [ "$inside" = "50000 200000" ] || { echo "inside cpu.max: $inside"; r=1; }
  $GR delete -f cpu
  return $r
}

# The BPF device program: /dev/null usable; mknod allowed ("c *:* m") but
# opening that /dev/mem node refused; a linux.devices node without an allow
# rule refused, with one it opens.
check_device_program() {
  make_bundle /tmp/b-dev '["sh","-c","echo ok > /dev/null || exit 1; mknod /dev/m c 1 1 || exit 2; head -c1 /dev/m >/dev/null && exit 3; exit 0"]'
  $GR run -b /tmp/b-dev dev
  r=$?
  case $r in 1) echo "/dev/null refused";; 2) echo "mknod refused";; 3) echo "/dev/mem readable";; esac
  $GR delete -f dev >/dev/null 2>&1
  [ $r -eq 0 ] || return $r
  for allow in false true; do
    rules='{"allow":false,"access":"rwm"}'
    [ $allow = true ] && rules="$rules,{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":11,\"access\":\"rw\"}"
    make_bundle /tmp/b-dev2 '["sh","-c","echo v2guest-device-check > /dev/kmsg2 && echo OPENED"]' "{\"devices\":[$rules]}"
    sed -i 's|"linux": *{|"linux": {"devices": [{"path":"/dev/kmsg2","type":"c","major":1,"minor":11,"fileMode":438,"uid":0,"gid":0}],|' /tmp/b-dev2/config.json
    grep -q /dev/kmsg2 /tmp/b-dev2/config.json || { echo "could not add the device"; return 4; }
    out=$($GR run -b /tmp/b-dev2 dev2 2>&1)
    $GR delete -f dev2 >/dev/null 2>&1
    # /dev/kmsg (1:11, not one of the default devices): a write-only open needs
    # no capability, so only the device cgroup can refuse it (EPERM).
    if [ $allow = true ]; then
      [ "$out" = OPENED ] || { echo "allowed /dev/kmsg2: $out"; return 5; }
    else
      echo "$out" | grep -q "Operation not permitted" && ! echo "$out" | grep -q OPENED ||
        { echo "denied /dev/kmsg2: $out"; return 6; }
    fi
  done
  return 0
}

# pause/resume: a counter in /dev/shm stops while frozen and grows after.
counter_of() { cat /proc/$1/root/dev/shm/c 2>/dev/null || echo 0; }
counter_above() { [ "$(counter_of $1)" -gt "$2" ]; }
check_freeze_thaw() {
  make_bundle /tmp/b-frz '["sh","-c","i=0; while true; do i=$((i+1)); echo $i > /dev/shm/c; sleep 0.1; done"]'
  $GR run -d -b /tmp/b-frz frz || return 1
  pid=$(pid_of frz)
  cg=$(cgroup_of frz)
  r=0
  wait_for 300 counter_above $pid 2 || { echo "counter does not count"; r=1; }
  $GR pause frz || r=1
  status_is frz paused || { echo "state not paused"; r=1; }
  grep -q 'frozen 1' $cg/cgroup.events || { echo "cgroup.events: $(cat $cg/cgroup.events | tr '\n' ' ')"; r=1; }
  [ "$(cat $cg/cgroup.freeze)" = 1 ] || { echo "cgroup.freeze $(cat $cg/cgroup.freeze)"; r=1; }
  v=$(counter_of $pid)
  for i in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.1
    [ "$(counter_of $pid)" = "$v" ] || { echo "counter moved while frozen: $v -> $(counter_of $pid)"; r=1; break; }
  done
  $GR resume frz || r=1
  status_is frz running || { echo "state not running after resume"; r=1; }
  grep -q 'frozen 0' $cg/cgroup.events || { echo "still frozen"; r=1; }
  wait_for 300 counter_above $pid $((v + 2)) || { echo "counter did not resume from $v"; r=1; }
  $GR delete -f frz
  return $r
}

# delete -f of a running container with a nested cgroupsPath: the cgroups it
# made are gone, the parent that was there before stays.
check_delete() {
  mkdir -p /sys/fs/cgroup/pre-existing
  make_bundle /tmp/b-del '["sleep","1000"]'
  sed -i 's|"linux": *{|"linux": {"cgroupsPath": "/pre-existing/x/y",|' /tmp/b-del/config.json
  grep -q '"cgroupsPath"' /tmp/b-del/config.json || { echo "could not set cgroupsPath"; return 1; }
  $GR run -d -b /tmp/b-del del || return 1
  r=0
  [ -d /sys/fs/cgroup/pre-existing/x/y ] || { echo "no /sys/fs/cgroup/pre-existing/x/y"; r=1; }
  $GR delete -f del || r=1
  [ ! -d /sys/fs/cgroup/pre-existing/x/y ] || { echo "pre-existing/x/y left"; r=1; }
  [ -d /sys/fs/cgroup/pre-existing ] || { echo "pre-existing removed"; r=1; }
  $GR state del >/dev/null 2>&1 && { echo "state still there"; r=1; }
  rmdir /sys/fs/cgroup/pre-existing/x/y /sys/fs/cgroup/pre-existing/x /sys/fs/cgroup/pre-existing 2>/dev/null
  return $r
}

# ---- against runc (the reference), which the guest carries at /usr/bin/runc ----
# Each runtime runs the same bundle under the same id (one after the other);
# the guest prints what the host compares, one line each:
#   V2GUEST DATA <runtime> state <`state` JSON of the created container>
#   V2GUEST DATA <runtime> state_json <root>/<id>/state.json>
#   V2GUEST DATA <runtime> cgroup <the init's /proc/PID/cgroup>
# The comparison itself is the host's (conformance/checks.py, the same code
# as on the host's runs), so the named check passes once the data is out.
# The lines go to /tmp/v2-data, printed after the checks: run_check would
# indent them.
data() { echo "V2GUEST DATA $*" >> /tmp/v2-data; }
dump_for() {  # RUNTIME
  rt=$1
  root=/run/cmp-$rt
  make_bundle /tmp/b-cmp-$rt '["sleep","1000"]'
  "$rt" --root $root create -b /tmp/b-cmp-$rt cmp >/tmp/cmp-$rt.out 2>&1 || { cat /tmp/cmp-$rt.out; return 1; }
  r=0
  st=$("$rt" --root $root state cmp | tr -d '\n') || r=1
  data "$rt state $st"
  [ -f $root/cmp/state.json ] && data "$rt state_json $(tr -d '\n' < $root/cmp/state.json)" ||
    { echo "no $root/cmp/state.json"; r=1; }
  pid=$(echo "$st" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  data "$rt cgroup $(tr '\n' ' ' < /proc/$pid/cgroup)"
  "$rt" --root $root delete -f cmp || r=1
  [ ! -d /sys/fs/cgroup/cmp ] || { echo "$rt left /sys/fs/cgroup/cmp"; r=1; }
  return $r
}
check_reference_runc() {
  [ -x /usr/bin/runc ] || { echo "no runc in the guest"; return 1; }
  runc --version | head -n 1
}
check_dump_runc() { dump_for runc; }
check_dump_glassrun() { dump_for glassrun; }

# ---- events --stats and update against runc ----
# One container with memory, pids, cpu, cpuset and io limits (a read limit on
# /dev/ram0, which it reads with O_DIRECT so io.stat has entries), run by each
# runtime in turn under the same id. What each prints goes out as DATA lines
# that the host compares by JSON path (conformance/test_cgroup_v2_guest.py):
#   V2GUEST DATA <runtime> stats <events --stats>
#   V2GUEST DATA <runtime> interval <the first line of events --interval 100ms>
#   V2GUEST DATA <runtime> update_<step> {"rc":N,"stderr":"...","files":{cgroup file: content}}
#   V2GUEST DATA <runtime> stats_limits <events --stats after update_limits>
# Every runtime command costs seconds under emulation (and this runs in
# `make test`): eight per runtime.
STATS_RESOURCES='{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"b","major":1,"minor":0,"access":"r"}],
 "memory":{"limit":67108864,"swap":134217728},"pids":{"limit":32},
 "cpu":{"quota":20000,"period":100000,"cpus":"0-1","mems":"0"},
 "blockIO":{"throttleReadBpsDevice":[{"major":1,"minor":0,"rate":104857600}]}}'
STATS_FILES="cpuset.cpus cpuset.mems memory.max memory.swap.max memory.low pids.max cpu.max io.max"

json_str() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t' '  ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }
cgroup_files_json() {  # DIR: {"file": "content", ...} of STATS_FILES
  sep='{'
  for f in $STATS_FILES; do
    printf '%s%s:%s' "$sep" "$(json_str $f)" "$(json_str "$(cat $1/$f 2>&1)")"
    sep=','
  done
  printf '}'
}
has_line() { [ "$(wc -l < "$1")" -ge 1 ]; }
# update_step RT ROOT STEP ARGS...: runs update, then prints its outcome.
update_step() {
  rt=$1 root=$2 step=$3; shift 3
  "$rt" --root $root update "$@" st > /tmp/upd.out 2>&1
  rc=$?
  data "$rt update_$step {\"rc\":$rc,\"stderr\":$(json_str "$(cat /tmp/upd.out)"),\"files\":$(cgroup_files_json $(cgroup_of st))}"
}
stats_for() {  # RUNTIME
  rt=$1
  root=/run/st-$rt
  [ -b /dev/ram0 ] || { echo "no /dev/ram0 (brd.ko not loaded)"; return 1; }
  make_bundle /tmp/b-st-$rt \
    '["sh","-c","dd if=/dev/ram0 of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null; echo ready > /dev/shm/ready; exec sleep 1000"]' \
    "$(echo "$STATS_RESOURCES" | tr -d '\n')"
  sed -i 's|"linux": *{|"linux": {"devices": [{"path":"/dev/ram0","type":"b","major":1,"minor":0,"fileMode":432,"uid":0,"gid":0}],|' \
    /tmp/b-st-$rt/config.json
  "$rt" --root $root run -d -b /tmp/b-st-$rt st > /tmp/st-$rt.out 2>&1 < /dev/null || { cat /tmp/st-$rt.out; return 1; }
  r=0
  pid=$(head -n 1 $(cgroup_of st)/cgroup.procs)
  wait_for 600 test -e /proc/$pid/root/dev/shm/ready || { echo "the container did not get ready"; r=1; }
  data "$rt stats $("$rt" --root $root events --stats st | tr -d '\n')"
  # --interval prints the same object each period: its first line.
  "$rt" --root $root events --interval 100ms st > /tmp/ev-$rt 2>&1 &
  ev=$!
  wait_for 600 has_line /tmp/ev-$rt || { echo "events --interval printed no line: $(head -c 300 /tmp/ev-$rt)"; r=1; }
  kill $ev; wait $ev 2>/dev/null
  data "$rt interval $(head -n 1 /tmp/ev-$rt)"
  data "$rt update_none {\"rc\":0,\"stderr\":\"\",\"files\":$(cgroup_files_json $(cgroup_of st))}"
  update_step $rt $root limits --cpuset-cpus 1 --cpuset-mems 0 --memory 96m --memory-swap 192m --pids-limit 48 --cpu-quota 30000
  data "$rt stats_limits $("$rt" --root $root events --stats st | tr -d '\n')"
  update_step $rt $root invalid --memory 32m --memory-swap 16m
  update_step $rt $root unlimited --memory -1 --pids-limit -1
  "$rt" --root $root delete -f st || r=1
  [ ! -d $(cgroup_of st) ] || { echo "$rt left $(cgroup_of st)"; r=1; }
  return $r
}
check_stats_runc() { stats_for runc; }
check_stats_glassrun() { stats_for glassrun; }

CHECKS="pure_v2:check_pure_v2 glassrun_version:check_glassrun_version cgroup_unit_tests:check_cgroup_unit_tests"
FULL_CHECKS="lifecycle:check_lifecycle limits:check_limits memory_limit:check_memory_limit pids_limit:check_pids_limit
  cpu_limit:check_cpu_limit device_program:check_device_program freeze_thaw:check_freeze_thaw delete:check_delete"
CHECKS="$CHECKS reference_runc:check_reference_runc dump_runc:check_dump_runc dump_glassrun:check_dump_glassrun"
CHECKS="$CHECKS stats_runc:check_stats_runc stats_glassrun:check_stats_glassrun"

grep -q 'v2guest.checks=basic' /proc/cmdline || CHECKS="$CHECKS $FULL_CHECKS"
# v2guest.only=NAME,NAME (run.sh's V2GUEST_ONLY): just those checks, for a quicker boot while working on them.
only=$(sed -n 's/.*v2guest.only=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$only" ]; then
  picked=""
  for c in $CHECKS; do case ",$only," in *",${c%%:*},"*) picked="$picked $c" ;; esac; done
  CHECKS=$picked
fi
for c in $CHECKS; do run_check "${c%%:*}" "${c#*:}"; done
[ -f /tmp/v2-data ] && cat /tmp/v2-data
