// Which processes of a trace are "the container", for any runtime and
// without runtime internals: the first successful execve made in a mount
// namespace other than the traced command's (the runtime's own re-execs
// happen before it unshares), and every process forked from it afterwards.
#pragma once

#include <cstdint>
#include <set>

#include "trace_file.h"

namespace glasstrace {

struct ContainerView {
  const Json* exec = nullptr;  // the execve syscall event; null: no container seen
  uint32_t pid = 0;            // its thread-group id (host view)
  uint64_t exec_ts = 0;        // when that execve was entered
  uint64_t filter_ts = 0;      // its seccomp filter install before the exec, 0 if none
  std::set<uint32_t> pids;     // pid and its descendants forked after the exec

  // A syscall event made by the container's user program (the execve itself
  // included) or by its process after the seccomp filter was installed.
  bool under_filter(const Json& e) const;
  bool after_exec(const Json& e) const;
};

ContainerView find_container(const Trace& t);

}  // namespace glasstrace
