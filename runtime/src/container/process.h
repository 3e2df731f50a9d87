// Turning a process that has joined the container's namespaces and root into
// the container's process: one path for the init (create) and for exec, as
// runc's finalizeNamespace serves both. Two copies of this drifted once and
// exec lost the cwd check (CVE-2024-21626); keep it one.
#pragma once

#include <unistd.h>

#include <exception>
#include <string>
#include <vector>

#include "linux/cgroups.h"
#include "linux/seccomp.h"
#include "linux/sync.h"
#include "spec/config.h"
#include "util/error.h"

namespace glassrun::container::process {

// Closes every fd but stdio, the preserved ones (3 .. 3+preserve_fds-1) and
// keep: for a process that is visible in the container before it execs.
void close_fds_except(int preserve_fds, std::vector<int> keep);

// After joining (or creating) the container's user namespace: root in it.
void become_root_in_user_ns();

struct Finalize {
  const spec::Process* process = nullptr;
  const sync::Channel* channel = nullptr;  // the notify fd (SeccompFd) goes to the parent here
  seccomp::Filter* seccomp = nullptr;
  int preserve_fds = 0;
  bool setgroups_allowed = true;
  bool is_exec = false;  // step names: "exec.capabilities" instead of "init.capabilities"
};

// What execve needs, decided before the privileges go.
struct Ready {
  std::string exe;
  std::vector<std::string> argv, env;
};

// In this order, once: rlimits, LSM exec labels, umask, every fd but stdio
// and the preserved ones close-on-exec (before any lookup in the container),
// HOME from the container's passwd, stdio owned by process.user, the
// privileged chdir and the cwd check (before any seccomp filter, so a profile
// denying getcwd works), the executable, seccomp without NNP, capabilities
// and the user switch, the chdir again if the privileged one got EACCES,
// no_new_privs, seccomp with NNP. Throws Error naming the step or field.
Ready finalize(const Finalize& f);

// Signals unblocked, SIGPIPE default, execve (step init.exec or
// exec.execve). Returns only on failure, with errno set.
void exec(const Ready& r, bool is_exec);

// The parent's error for a child (`who`: "init", "process") whose end of the
// channel closed before it was ready, without a message (sync::PeerGone):
// how it ended, peeked at without reaping it (the caller's clean-up reaps),
// and, when it was killed while its cgroup's OOM killer has struck, that
// (`memory_limit`: the config's linux.resources.memory.limit, or 0).
Error silent_end(pid_t pid, const char* who, const cgroups::Manager& cg, int64_t memory_limit);

// Tells the parent why the child failed, over the channel, or on stderr
// ("glassrun: <who>: ...") when the channel is gone or refused (a seccomp
// filter without sendmsg).
void report_failure(const sync::Channel& channel, const char* who, const char* what, int err);

// The body of a cloned or forked child: runs flow; no exception leaves, an
// error is reported, then _exit(exit_code). The parent gone first
// (sync::PeerGone) reports its own failure.
template <typename Fn>
[[noreturn]] void run_child(const sync::Channel& channel, const char* who, int exit_code, Fn&& flow) {
  try {
    flow();
  } catch (const sync::PeerGone&) {
  } catch (const Error& e) {
    report_failure(channel, who, e.what(), e.sys_errno());
  } catch (const std::exception& e) {
    report_failure(channel, who, e.what(), 0);
  }
  _exit(exit_code);
}

}  // namespace glassrun::container::process
