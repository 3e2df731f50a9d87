// /dev inside the container: the default device nodes plus linux.devices
// (mknod, or bind mounts of the host nodes in a user namespace), and the
// standard symlinks.
#pragma once

#include <vector>

#include "spec/config.h"

namespace glassrun::devices {

// runc's default set: null, zero, full, random, urandom, tty.
std::vector<spec::Device> with_defaults(const std::vector<spec::Device>& configured);
void create_nodes(int root_fd, const std::vector<spec::Device>& devs, bool user_ns);
// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, /dev/core, /dev/ptmx.
void create_symlinks(int root_fd);

}  // namespace glassrun::devices
