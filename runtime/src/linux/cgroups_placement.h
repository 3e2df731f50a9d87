// Putting a new process (the init, or exec's process) into the container's
// cgroups without the kernel's global cgroup_threadgroup_rwsem.
//
// Writing a pid to cgroup.procs takes that lock for writing, and the first
// writer after a quiet spell waits for a whole RCU grace period: ~11 ms on
// this machine, more than the rest of an isolated `run` (docs/BENCHMARKS.md,
// session 7). Two ways in skip it:
//  - clone3(CLONE_INTO_CGROUP): the child is born in the unified cgroup
//    (hybrid's /sys/fs/cgroup/unified, or pure v2's only hierarchy);
//  - a single-threaded process writing "0" to a v1 hierarchy's `tasks` file
//    moves itself, and recent kernels take no global lock for that (6.18
//    here: ~0.01 ms per write, measured; an older kernel takes the lock, as
//    for cgroup.procs, and only the speed differs).
// Where clone3 is refused (ENOSYS under an older seccomp profile, or a
// kernel without CLONE_INTO_CGROUP), the caller falls back to the parent's
// Manager::add_process, which is what runc does.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/fd.h"

namespace glassrun::cgroups {

struct Placement {
  UniqueFd unified;                                     // the unified cgroup's directory (O_PATH)
  std::vector<std::pair<std::string, UniqueFd>> tasks;  // each v1 `tasks` file (path, fd open for writing)

  // Nothing to do in the child (no cgroups, or the parent moves it).
  bool empty() const { return !unified && tasks.empty(); }
  std::vector<int> fds() const;
};

// Opens what the child needs for the cgroups in paths (Manager::paths():
// "" is the unified hierarchy). Errors name the file.
Placement open_placement(const std::map<std::string, std::string>& paths);

// clone(2) with fork semantics and the given CLONE_* flags, into
// placement.unified when there is one. If clone3 refuses, clears placement
// (then empty(): the caller moves the child with Manager::add_process) and
// clones without it. Returns as clone: 0 in the child, -1 with errno.
// Neither side's copy of the cgroupfs directory fd (fs::at) reaches the
// child, which then walks cgroup paths from /.
pid_t clone_into(unsigned long flags, Placement& placement);

// clone_into for a child that shares this process's memory until its execve
// (CLONE_VM | CLONE_VFORK, as posix_spawn does), with the given CLONE_NEW*
// flags: no page tables are copied and neither side takes copy-on-write
// faults afterwards, ~1.6 ms of an `exec` and ~2.5 ms of a `run` here
// (docs/BENCHMARKS.md, session 24). This process sleeps in the call until
// the child has executed or exited; the child runs child(arg) on a stack in
// this call's frame (below everything of the caller's that is live), and
// must leave this process's objects as they are (it may read them and
// allocate: what it allocates stays allocated here) and end in execve or
// _exit. Not for a child that makes or joins a user or time namespace (the
// kernel refuses a process sharing its memory) or that needs its parent
// awake before it executes. Into placement.unified when there is one.
// Returns the child's pid, or -1 with errno when nothing was cloned (the
// caller forks instead).
pid_t clone_into_sharing_memory(const Placement& placement, int (*child)(void*), void* arg, unsigned long flags = 0);

// In the child, while it is single-threaded and before anything of the
// user's runs: "0" into each v1 `tasks` file; closes them all (its own
// fds), leaving placement as it was: the child may share the parent's
// memory (clone_into_sharing_memory).
void place_self(const Placement& placement);

// Closes placement's fds (then empty()): opened one after the other, they
// are usually one run of numbers, closed with one close_range(2) instead of
// a close(2) each (one per hierarchy, in the parent and in the child).
void close_all(Placement& placement);

}  // namespace glassrun::cgroups
