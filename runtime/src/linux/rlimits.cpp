#include "linux/rlimits.h"

#include <sys/resource.h>

#include <array>
#include <utility>

#include "util/error.h"

namespace glassrun::rlimits {

namespace {
constexpr std::array<std::pair<const char*, int>, 16> kNames{{
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};
}  // namespace

std::optional<int> from_name(const std::string& name) {
  for (auto& [n, v] : kNames)
    if (name == n) return v;
  return std::nullopt;
}

void apply(const std::vector<spec::Rlimit>& limits) {
  for (const auto& l : limits) {
    rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (setrlimit(static_cast<__rlimit_resource>(l.resource), &r) != 0)
      throw_sys(fmt::format("setrlimit {} soft {} hard {}", l.type, l.soft, l.hard));
  }
}

}  // namespace glassrun::rlimits
