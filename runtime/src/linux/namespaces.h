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

// Joins every namespace the config gives by path, the user namespace first
// (it decides what the others may do); the pid namespace (which applies to
// children only) just when with_pid.
void join_paths(const spec::Config& c, bool with_pid);

// The user namespace is joined by path: the new namespaces must be made
// after that join so that they belong to it (runc's nsexec order).
bool joins_user(const spec::Config& c);

// runc's namespace_paths: every type the host supports, as /proc/<pid>/ns/<x>.
std::map<std::string, std::string> state_paths(const spec::Config& c, pid_t init_pid);

}  // namespace glassrun::namespaces
