// `glasstrace explain TRACE --config config.json`: which seccomp rule denied
// each denied syscall of the container.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "trace_file.h"

namespace glasstrace {

struct Denial {
  const Json* event;        // the syscall event
  uint32_t action;          // the filter's SECCOMP_RET_* | data
  std::optional<size_t> rule;  // index in linux.seccomp.syscalls; none: defaultAction
};

// Evaluates the profile as glassrun compiles it (libseccomp's BPF export of
// the same filter, run in user space) on every syscall the container made
// under it that failed with the errno the filter returns, or that never
// returned in a thread killed by SIGSYS. The deciding rule is found by
// running one filter per rule (that rule alone, default action a sentinel)
// and taking the first that matches with the whole filter's result.
// Throws std::exception (glassrun::Error for a bad profile).
std::vector<Denial> explain_denials(const Trace& t, const Json& seccomp);
// One line per denial: "[pid P] call(args) = -1 EPERM <- linux.seccomp.syscalls[3]
// {names: [...], action, errnoRet, args}" or "<- defaultAction ...".
std::string explain_text(const std::vector<Denial>& d, const Json& seccomp);
Json explain_json(const std::vector<Denial>& d, const Json& seccomp);

}  // namespace glasstrace
