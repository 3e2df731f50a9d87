#include "syscalls.h"

#include <algorithm>
#include <span>
#include <vector>

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
  // Indexed by number: glasstrace names every syscall event it records.
  static const std::vector<const char*> by_nr = [] {
    std::vector<const char*> v(syscall_max_nr() + 1, nullptr);
    for (const auto& s : kSyscalls) v[s.nr] = s.name;
    return v;
  }();
  if (nr >= 0 && static_cast<std::size_t>(nr) < by_nr.size() && by_nr[nr]) return by_nr[nr];
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
