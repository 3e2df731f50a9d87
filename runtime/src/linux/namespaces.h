// Namespace types: config names ↔ CLONE_* flags ↔ /proc/<pid>/ns names ↔
// runc's state.json keys; joining by path.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::namespaces {

struct Kind {
  const char* config_name;  // "network"
  int clone_flag;           // CLONE_NEWNET
  const char* proc_name;    // "net"
  const char* runc_key;     // "NEWNET"
};

const std::vector<Kind>& kinds();
const Kind* by_config_name(const std::string& name);

// CLONE_NEW* flags for the namespaces to create at clone time. The cgroup and
// time namespaces are left out: the init unshares them itself (cgroup after it
// was moved into its cgroup, time because clone() cannot take CLONE_NEWTIME).
int clone_flags(const spec::Config& c);

// Opens /proc/<pid>/ns/<x> or a config path, setns into it. Throws naming the path.
void join(const std::string& path, int clone_flag);

// runc's namespace_paths: every type the host supports, as /proc/<pid>/ns/<x>.
std::map<std::string, std::string> state_paths(const spec::Config& c, pid_t init_pid);

}  // namespace glassrun::namespaces
