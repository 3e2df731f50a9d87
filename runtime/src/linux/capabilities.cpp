#include "linux/capabilities.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <fmt/ranges.h>

#include "util/error.h"
#include "util/log.h"

namespace glassrun::caps {

std::optional<int> from_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  cap_value_t v;
  if (lower.rfind("cap_", 0) != 0 || cap_from_name(lower.c_str(), &v) != 0) return std::nullopt;
  return static_cast<int>(v);
}

std::string to_name(int cap) {
  char* n = cap_to_name(static_cast<cap_value_t>(cap));
  std::string s = n ? n : fmt::format("{}", cap);
  cap_free(n);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

void warn_unknown(const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  log::warn(fmt::format("ignoring unknown or unavailable capabilities: [{}]", fmt::join(sorted, " ")));
}

int last_cap() {
  // libcap's start-up has asked the kernel already (PR_CAPBSET_READ, a binary
  // search, before main): its answer rather than a read of
  // /proc/sys/kernel/cap_last_cap (four more system calls per command).
  static const int cached = static_cast<int>(cap_max_bits()) - 1;
  return cached;
}

static bool contains(const std::optional<std::vector<int>>& set, int cap) {
  return set && std::find(set->begin(), set->end(), cap) != set->end();
}

void drop_bounding(const spec::Capabilities& c) {
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (contains(c.bounding, cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      throw_sys(fmt::format("prctl PR_CAPBSET_DROP {}", to_name(cap)));
  }
}

void keep_across_setuid() {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_sys("prctl PR_SET_KEEPCAPS");
}

void apply_sets(const spec::Capabilities& c) {
  // capset directly: two 32-bit words per set (_LINUX_CAPABILITY_VERSION_3).
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  auto fill = [&](const std::optional<std::vector<int>>& set, auto member) {
    if (!set) return;
    for (int cap : *set) {
      if (cap > last_cap()) continue;
      data[cap / 32].*member |= 1u << (cap % 32);
    }
  };
  fill(c.effective, &__user_cap_data_struct::effective);
  fill(c.permitted, &__user_cap_data_struct::permitted);
  fill(c.inheritable, &__user_cap_data_struct::inheritable);
  if (syscall(SYS_capset, &hdr, data) != 0) throw_sys("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw_sys("prctl PR_CAP_AMBIENT_CLEAR_ALL");
  if (!c.ambient) return;
  for (int cap : *c.ambient) {
    // runc ignores ambient capabilities the inheritable/permitted sets do not
    // allow; the kernel refuses them (EPERM), so they are not asked for.
    if (cap > last_cap() || !contains(c.permitted, cap) || !contains(c.inheritable, cap)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EPERM)
      throw_sys(fmt::format("prctl PR_CAP_AMBIENT_RAISE {}", to_name(cap)));
  }
}

bool grants(const spec::Process& p, int cap) {
  if (!p.capabilities) return false;
  const auto& k = *p.capabilities;
  for (const auto* set : {&k.bounding, &k.effective, &k.permitted, &k.inheritable, &k.ambient})
    if (*set && std::find((*set)->begin(), (*set)->end(), cap) != (*set)->end()) return true;
  return false;
}

}  // namespace glassrun::caps
