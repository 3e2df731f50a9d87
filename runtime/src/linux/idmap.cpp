#include "linux/idmap.h"

#include "util/error.h"
#include "util/fileio.h"
#include "util/probes.h"

namespace glassrun::idmap {

std::string format(const std::vector<spec::IdMapping>& maps) {
  std::string s;
  for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return s;
}

void write(pid_t pid, const spec::Config& c, bool deny_setgroups) {
  Step step("create.idmap");
  if (deny_setgroups) fileio::write_file(fmt::format("/proc/{}/setgroups", pid), "deny");
  fileio::write_file(fmt::format("/proc/{}/gid_map", pid), format(c.gid_mappings));
  fileio::write_file(fmt::format("/proc/{}/uid_map", pid), format(c.uid_mappings));
}

}  // namespace glassrun::idmap
