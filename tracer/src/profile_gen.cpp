#include "profile_gen.h"

#include <set>
#include <stdexcept>

#include "container.h"

namespace glasstrace {

Json seccomp_profile(const Trace& t, bool* without_filter) {
  ContainerView c = find_container(t);
  if (!c.exec) throw std::runtime_error("no container exec in the trace (no execve in a new mount namespace)");
  *without_filter = c.filter_ts == 0;
  std::set<std::string> names;
  for (const auto& e : t.events)
    if (c.under_filter(e)) names.insert(e["name"].get<std::string>());
  // The trace is of x86_64 syscalls only (the table comes from unistd_64.h).
  return Json{{"defaultAction", "SCMP_ACT_ERRNO"},
              {"defaultErrnoRet", 1},
              {"architectures", {"SCMP_ARCH_X86_64"}},
              {"syscalls", Json::array({Json{{"names", names}, {"action", "SCMP_ACT_ALLOW"}}})}};
}

}  // namespace glasstrace
