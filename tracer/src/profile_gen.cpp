#include "profile_gen.h"

#include <set>
#include <stdexcept>

#include "container.h"

namespace glasstrace {
namespace {

// A runtime's init runs under the filter between installing it and the exec.
// A Go init (runc) also has its scheduler and other threads running then, and
// which of these calls they make depends on timing: a trace under load shows
// futex wake-ups that a quiet one does not, and runc dies ("futexwakeup ...
// returned -1") when one is refused. So whenever the trace shows calls under
// the filter before the exec, these are allowed too: every one of them is
// also in Docker's and podman's default profiles.
constexpr const char* kInitScheduling[] = {"futex",       "nanosleep",   "sched_yield", "epoll_pwait", "epoll_ctl",
                                           "tgkill",      "getpid",      "gettid",      "rt_sigreturn", "rt_sigprocmask",
                                           "sigaltstack", "madvise",     "mmap",        "munmap",      "clone",
                                           "exit",        "exit_group"};

}  // namespace

Json seccomp_profile(const Trace& t, bool* without_filter) {
  ContainerView c = find_container(t);
  if (!c.exec) throw std::runtime_error("no container exec in the trace (no execve in a new mount namespace)");
  *without_filter = c.filter_ts == 0;
  std::set<std::string> names;
  for (const auto& e : t.events)
    if (c.under_filter(e)) names.insert(e["name"].get<std::string>());
  if (c.filter_ts)
    for (const char* n : kInitScheduling) names.insert(n);
  // The trace is of x86_64 syscalls only (the table comes from unistd_64.h).
  return Json{{"defaultAction", "SCMP_ACT_ERRNO"},
              {"defaultErrnoRet", 1},
              {"architectures", {"SCMP_ARCH_X86_64"}},
              {"syscalls", Json::array({Json{{"names", names}, {"action", "SCMP_ACT_ALLOW"}}})}};
}

}  // namespace glasstrace
