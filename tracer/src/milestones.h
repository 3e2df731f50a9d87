// Kernel-facing milestones of a container start, extracted from a trace:
// the sequence `glasstrace diff` aligns and the conformance suite compares.
#pragma once

#include <string>
#include <vector>

#include "trace_file.h"

namespace glasstrace {

struct Milestone {
  std::string kind;    // ns.create, ns.join, idmap.write, cgroup.attach, hostname,
                       // mount, mask, umount, pivot_root, chroot, capset,
                       // capbset.drop, no_new_privs, seccomp, exec
  std::string detail;  // normalised, comparable across runtimes
  std::string syscall;
  uint32_t pid = 0, tid = 0, ns_pid = 0;
  uint64_t ts = 0;
  uint32_t count = 1;  // consecutive identical milestones folded into one

  std::string key() const { return kind + " " + detail; }
};

struct MilestoneList {
  std::string rootfs;  // "" when no pivot_root/chroot was seen
  std::vector<Milestone> items;
};

MilestoneList extract_milestones(const Trace& t);
Json milestones_json(const MilestoneList& m);
std::string milestones_text(const MilestoneList& m);

}  // namespace glasstrace
