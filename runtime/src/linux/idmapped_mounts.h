// runtime-spec 1.1 idmapped bind mounts (mounts[].uidMappings/gidMappings).
// The idmapped tree is made by `create` on the host, before the init exists:
// the mappings are relative to the host, and inside a container's user
// namespace the kernel refuses open_tree/MOUNT_ATTR_IDMAP on a host
// filesystem (no privilege over it). The init only moves the tree onto its
// target (runc 1.2's split).
#pragma once

#include <map>

#include "spec/config.h"
#include "util/fd.h"

namespace glassrun::idmapped {

// mounts[] index -> a detached, idmapped copy of that mount's source.
using Trees = std::map<size_t, UniqueFd>;

// On the host: open_tree(OPEN_TREE_CLONE) of each idmapped bind source (relative
// sources against the bundle), mount_setattr(MOUNT_ATTR_IDMAP) with a user
// namespace made from the mount's own mappings.
Trees prepare(const spec::Config& c);
// The fds of trees, for the init (which inherits them across clone).
std::map<size_t, int> fds_of(const Trees& trees);
// In the init: move_mount the tree onto target_fd; the tree fd is closed.
void attach(int tree_fd, int target_fd, const spec::Mount& m);

}  // namespace glassrun::idmapped
