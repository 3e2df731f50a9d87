// `exec`: run another process in a running container, as runc does: it joins
// every namespace of the container, its cgroups, its root, and gets the
// process's privileges, limits and the container's seccomp filter.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace glassrun::container {

struct ExecOptions {
  std::string root;
  std::string id;
  std::vector<std::string> args;  // the command (overrides config.process.args)
  std::string process_file;       // --process: a whole process.json instead of the config's
  std::string console_socket;
  std::string cwd;
  std::vector<std::string> env;   // appended to the process's env
  std::optional<bool> tty;
  std::string user;               // UID[:GID]
  std::vector<unsigned> additional_gids;
  std::vector<std::string> caps;  // added to every set
  bool no_new_privs = false;
  std::string process_label;
  std::string apparmor;
  int preserve_fds = 0;
  std::string pid_file;
  bool detach = false;
  bool ignore_paused = false;
  std::vector<std::string> sub_cgroups;  // --cgroup [controller:]path, below the container's cgroups
};

// Detached: returns 0 once the process runs. Else waits for it, forwarding
// signals (and proxying the terminal), and returns its exit code (128+N for
// signal N).
int exec(const ExecOptions& o);

}  // namespace glassrun::container
