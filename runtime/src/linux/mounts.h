// The mounts of config.json, each made inside the rootfs through an fd.
#pragma once

#include <map>
#include <string>

#include "spec/config.h"
#include "util/fd.h"

namespace glassrun::mounts {

struct MountContext {
  std::string bundle;
  std::map<std::string, std::string> cgroup_paths;  // the container's, for v1 cgroup mounts
  bool cgroup_ns = false;
  bool user_ns = false;
  std::string mount_label;  // linux.mountLabel: context= on the mounts that take it
  std::map<size_t, int> idmapped_trees;  // mounts[] index -> detached idmapped tree (idmapped_mounts.h)
  std::map<size_t, int> bind_sources;    // mounts[] index -> detached copy of the source (open_bind_sources)
};

// mounts[] index -> a detached copy (open_tree) of each bind source (relative
// ones against the bundle), made by `create` on the host, as runc's mountFds:
// inside its user namespace the init may not reach a source under a 0700
// directory. Empty without a user namespace.
std::map<size_t, UniqueFd> open_bind_sources(const spec::Config& c);

// Makes one config.json mount under root_fd (the bundle's rootfs, opened).
void mount_entry(int root_fd, const spec::Mount& m, const MountContext& ctx);

}  // namespace glassrun::mounts
