// Switching to process.user: supplementary groups, gid, uid, umask.
#pragma once

#include "spec/config.h"

namespace glassrun::user {

// setgroups (unless setgroups is denied), setresgid, setresuid.
void switch_to(const spec::User& u, bool setgroups_allowed);
// The user's home from the container's /etc/passwd, "/" when it has none (runc's rule).
std::string home_dir(uid_t uid);
struct Lookup {
  std::string path;  // "" when not found
  int err = 0;       // then ENOENT; for a path (a '/' in name) also EACCES: there but not an
                     // executable file, ELOOP: a loop or a /proc magic link on the way;
                     // any other errno: looking at `failed` failed (EIO...), not "absent"
  std::string failed;
};
// PATH lookup as Go's exec.LookPath does it (runc), with the container's env.
Lookup find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace glassrun::user
