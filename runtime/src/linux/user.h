// Switching to process.user: supplementary groups, gid, uid, umask.
#pragma once

#include "spec/config.h"

namespace glassrun::user {

// setgroups (unless setgroups is denied), setresgid, setresuid.
void switch_to(const spec::User& u, bool setgroups_allowed);
// The user's home from the container's /etc/passwd, "/" when it has none (runc's rule).
std::string home_dir(uid_t uid);
// PATH lookup as execvp would do it, with the container's env; "" if not found.
std::string find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace glassrun::user
