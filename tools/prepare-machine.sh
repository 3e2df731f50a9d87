#!/usr/bin/env bash
# prepare-machine.sh: make this machine able to run every runtime of the
# conformance suite. Idempotent: prints nothing when there is nothing to do,
# and one line per change (what and why) otherwise.
#
# Changes:
#  - cgroup v1 hybrid with hugetlb sitting on cgroup2 (unified): crun 1.8
#    refuses hybrid mode while any controller is enabled on the unified
#    hierarchy ("the requested cgroup controller `hugetlb` is not available"
#    / hybrid check), so hugetlb is mounted as its own v1 hierarchy, which
#    moves it off cgroup2.
set -uo pipefail

cg=/sys/fs/cgroup
[ "$(id -u)" = 0 ] || { echo "prepare-machine: not root, nothing changed" >&2; exit 0; }

# Only in hybrid mode: a tmpfs on /sys/fs/cgroup with cgroup2 at unified/.
if [ -d "$cg/unified" ] && [ -f "$cg/unified/cgroup.controllers" ] && \
   ! [ -f "$cg/cgroup.controllers" ]; then
  for ctrl in $(cat "$cg/unified/cgroup.controllers"); do
    # A v1-capable controller left on cgroup2 while unused by any v1 hierarchy.
    grep -qw "^$ctrl" /proc/cgroups || continue
    if mountpoint -q "$cg/$ctrl"; then continue; fi
    mkdir -p "$cg/$ctrl" 2>/dev/null
    if mount -t cgroup -o "$ctrl" "$ctrl" "$cg/$ctrl" 2>/dev/null; then
      echo "prepare-machine: mounted the $ctrl controller as a cgroup v1 hierarchy at $cg/$ctrl (crun refuses hybrid mode while a controller sits on cgroup2)"
    else
      rmdir "$cg/$ctrl" 2>/dev/null
      echo "prepare-machine: could not mount $ctrl as v1 at $cg/$ctrl; crun may refuse this hybrid setup" >&2
    fi
  done
fi
exit 0
