// The container's filesystem, in the order of the runtime-spec and runc:
// propagation, bind the rootfs, every mount, /dev, pivot_root, then the
// masked and read-only paths and the read-only root.
#pragma once

#include "linux/mounts.h"
#include "spec/config.h"
#include "util/fd.h"

namespace glassrun::rootfs {

// Makes the mount tree private/slave, binds the rootfs onto itself, makes the
// mounts and /dev; returns an O_PATH fd of the bound rootfs. Without a mount
// namespace only the mounts and /dev, in the caller's namespace (as runc).
UniqueFd prepare(const spec::Config& c, const mounts::MountContext& ctx);
// pivot_root into the rootfs and drop the old root; with no_pivot, hide the
// host's procfs/sysfs, move the rootfs to / and chroot; chroot alone without
// a mount namespace. Then linux.rootfsPropagation on "/".
void enter(const spec::Config& c, int root_fd, bool no_pivot);
// After pivot: readonlyPaths, maskedPaths.
void protect_paths(const spec::Config& c);
// Remount "/" read-only when root.readonly.
void finalize(const spec::Config& c);

}  // namespace glassrun::rootfs
