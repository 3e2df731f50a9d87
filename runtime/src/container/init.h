// The init: the process glassrun clones into the container's namespaces. It
// sets the container up, waits on exec.fifo for `start`, then execs the user
// process. It never returns, and no exception leaves it.
#pragma once

#include <map>
#include <string>

#include "linux/cgroups_placement.h"
#include "linux/seccomp.h"
#include "linux/sync.h"
#include "spec/config.h"

namespace glassrun::container {

struct InitContext {
  const spec::Config* config = nullptr;
  sync::Channel* channel = nullptr;       // the init's end
  sync::Channel* parent_channel = nullptr;  // closed in the init
  int exec_fifo_fd = -1;                  // O_PATH fd of exec.fifo
  std::map<std::string, std::string> cgroup_paths;
  cgroups::Placement* placement = nullptr;  // the v1 cgroups the init moves itself into
  seccomp::Filter* seccomp = nullptr;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool wants_hooks = false;               // ask the parent to run create-time hooks
  int preserve_fds = 0;
  std::string id;
  std::map<size_t, int> idmapped_trees;   // made by `create` on the host, moved into place here
  std::map<size_t, int> bind_sources;     // opened by `create` on the host (mounts::open_bind_sources)
  // Cloned sharing the parent's memory (`run`, create.cpp): the parent sleeps
  // until our execve, so there is no Continue and no start to wait for, and
  // the parent's objects are only read.
  bool shares_memory = false;
};

[[noreturn]] void run_init(const InitContext& ctx);

}  // namespace glassrun::container
