// Switching to process.user: supplementary groups, gid, uid, umask.
#pragma once

#include <cstdint>
#include <string>

#include "spec/config.h"

namespace glassrun::user {

// Why `id` (a uid when is_uid, else a gid) is no id to switch to, or "" when
// it is one. 4294967295 is (uid_t)-1 and (gid_t)-1, which setresuid and
// setresgid read as "leave unchanged": a process asked to become it would
// stay root. runc refuses ids above 2147483647; glassrun takes every other
// uint32 (the runtime-spec's type, and the kernel's), as crun.
std::string unusable_id(uint64_t id, bool is_uid);
// setgroups (unless setgroups is denied), setresgid, setresuid. Refuses an
// unusable_id before any of them, whoever filled u.
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
