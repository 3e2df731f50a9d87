// User namespace id maps, written by the parent into /proc/<pid>/{uid,gid}_map.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "spec/config.h"

namespace glassrun::idmap {

// "0 1000 1\n1 100000 65536\n"
std::string format(const std::vector<spec::IdMapping>& maps);
// Writes gid_map (after setgroups "deny" when deny_setgroups) and uid_map.
void write(pid_t pid, const spec::Config& c, bool deny_setgroups);
// Joining a user namespace /proc/<pid>/ns/user by path: the config's maps,
// when given, must be the namespace's (/proc/<pid>/{uid,gid}_map), as runc
// 1.2 checks; they are never written. A path of another form is not checked.
void check_joined(const spec::Config& c, const std::string& userns_path);

}  // namespace glassrun::idmap
