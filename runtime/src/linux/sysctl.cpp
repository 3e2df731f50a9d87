#include "linux/sysctl.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "util/error.h"
#include "util/fd.h"
#include "util/probes.h"

namespace glassrun::sysctl {

void apply(const std::map<std::string, std::string>& values) {
  if (values.empty()) return;
  Step s("init.sysctl");
  for (const auto& [key, value] : values) {
    std::string rel = key;
    std::replace(rel.begin(), rel.end(), '.', '/');
    std::string path = "/proc/sys/" + rel;
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_sys(fmt::format("linux.sysctl.{}: open {}", key, path));
    struct statfs sf;
    // The write must land in procfs, never in a file planted there (CVE-2023-28642).
    if (fstatfs(fd.get(), &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC)
      throw Error(fmt::format("linux.sysctl.{}: {} is not on procfs", key, path));
    if (write(fd.get(), value.data(), value.size()) < 0)
      throw_sys(fmt::format("linux.sysctl.{}: write {} to {}", key, value, path));
  }
}

}  // namespace glassrun::sysctl
