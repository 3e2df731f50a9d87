#include "syscalls.h"

#include <algorithm>
#include <span>

namespace glasstrace {
namespace {

struct SyscallEntry {
  long nr;
  const char* name;
};

constexpr SyscallEntry kSyscalls[] = {
#include "syscall_table.inc"
};

}  // namespace

std::string syscall_name(long nr) {
  for (const auto& s : kSyscalls)
    if (s.nr == nr) return s.name;
  return "syscall_" + std::to_string(nr);
}

std::optional<long> syscall_nr(std::string_view name) {
  for (const auto& s : kSyscalls)
    if (name == s.name) return s.nr;
  return std::nullopt;
}

long syscall_max_nr() {
  long m = 0;
  for (const auto& s : kSyscalls) m = std::max(m, s.nr);
  return m;
}

}  // namespace glasstrace
