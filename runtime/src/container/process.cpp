// The one path from "joined the container" to execve, for the init and exec.
#include "container/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "linux/capabilities.h"
#include "linux/cpu_affinity.h"
#include "linux/lsm.h"
#include "linux/rlimits.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::container::process {

namespace {

const char* step_name(const Finalize& f, const char* init_name, const char* exec_name) {
  return f.is_exec ? exec_name : init_name;
}

// Only fds 0-2 and the preserved ones reach the container process
// (CVE-2016-9962, CVE-2024-21626): everything else is closed at execve.
void mark_fds_cloexec(int preserve_fds) {
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) throw_sys("close_range");
}

std::vector<std::string> env_with_home(const spec::Process& p) {
  std::vector<std::string> env = p.env;
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
    env.push_back("HOME=" + user::home_dir(p.user.uid));
  return env;
}

// runc's fixStdioPermissions: a non-root process can reopen /dev/stdout or
// its tty. /dev/null (any char 1:3, the host's included) is never chowned.
void chown_stdio(uid_t uid) {
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) continue;  // not open
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) continue;
    if (st.st_uid == uid) continue;
    // EINVAL: uid not mapped in a user namespace; EPERM: a file the
    // container root does not own there. runc ignores both.
    if (fchown(fd, uid, static_cast<gid_t>(-1)) != 0 && errno != EINVAL && errno != EPERM)
      throw_sys(fmt::format("fchown fd {} to uid {} (process.user.uid)", fd, uid));
  }
}

// getcwd must name a path inside the root: a cwd reached through a leaked host
// fd (/proc/self/fd/N, CVE-2024-21626) has none ("(unreachable)", ENOENT).
void check_cwd(const std::string& cwd) {
  char buf[4096];
  if (!getcwd(buf, sizeof buf)) {
    int err = errno;
    if (err == ENOENT) throw Error(fmt::format("process.cwd {}: resolves outside the container", cwd), ENOENT);
    throw_sys(fmt::format("process.cwd {}: getcwd", cwd), err);
  }
  if (buf[0] != '/') throw Error(fmt::format("process.cwd {}: resolves outside the container", cwd), ENOENT);
}

void chdir_to_cwd(const std::string& cwd) {
  if (chdir(cwd.c_str()) != 0) throw_sys(fmt::format("chdir to cwd {} (process.cwd)", cwd));
  check_cwd(cwd);
}

// True when done; false when only the process's own user may enter it (runc:
// privileged first, then again after the user switch).
bool privileged_chdir(const std::string& cwd) {
  if (chdir(cwd.c_str()) != 0) {
    if (errno == EACCES) return false;
    throw_sys(fmt::format("chdir to cwd {} (process.cwd)", cwd));
  }
  check_cwd(cwd);
  return true;
}

[[noreturn]] void executable_not_found(const std::string& arg0, const user::Lookup& l) {
  if (l.err == ELOOP)
    throw Error(fmt::format("exec: \"{}\": process.args[0] is a symlink loop or goes through a /proc magic link (a host fd): refused", arg0),
                ELOOP);
  if (l.err == EACCES) throw Error(fmt::format("exec: \"{}\": permission denied", arg0), EACCES);
  if (l.err != ENOENT) throw_sys(fmt::format("exec: \"{}\": stat {}", arg0, l.failed), l.err);
  if (arg0.find('/') != std::string::npos)
    throw Error(fmt::format("exec: \"{}\": stat {}: no such file or directory", arg0, arg0), ENOENT);
  throw Error(fmt::format("exec: \"{}\": executable file not found in $PATH", arg0), ENOENT);
}

void load_seccomp(const Finalize& f) {
  Step s(step_name(f, "init.seccomp", "exec.seccomp"));
  int notify_fd = f.seccomp->load();
  if (notify_fd >= 0) {
    f.channel->send(sync::Msg::SeccompFd, "", 0, notify_fd);
    ::close(notify_fd);
  }
}

// Bounding set, user, then the other capability sets (runc's order).
void drop_privileges(const Finalize& f) {
  const spec::Process& p = *f.process;
  Step s(step_name(f, "init.capabilities", "exec.capabilities"));
  if (p.capabilities) {
    caps::drop_bounding(*p.capabilities);
    caps::keep_across_setuid();
  }
  user::switch_to(p.user, f.setgroups_allowed);
  if (p.capabilities) caps::apply_sets(*p.capabilities);
}

}  // namespace

void close_fds_except(int preserve_fds, std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3 + static_cast<unsigned>(preserve_fds);
  for (int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < from) continue;
    if (static_cast<unsigned>(k) > from && syscall(SYS_close_range, from, static_cast<unsigned>(k) - 1, 0) != 0)
      throw_sys("close_range");
    from = static_cast<unsigned>(k) + 1;
  }
  if (syscall(SYS_close_range, from, ~0U, 0) != 0) throw_sys("close_range");
}

Error silent_end(pid_t pid, const char* who, const cgroups::Manager& cg, int64_t memory_limit) {
  // Its socket closed as it exited; the exit itself may show a moment later.
  siginfo_t si{};
  int err = 0;
  for (int i = 0; i < 100; ++i) {
    si.si_pid = 0;
    err = waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 ? 0 : errno;
    if ((err != 0 && err != EINTR) || si.si_pid == pid) break;
    usleep(10000);
  }
  std::string how = err ? fmt::format("unknown (waitid: {})", errno_text(err)) : "still running";
  if (si.si_pid == pid && si.si_code == CLD_EXITED)
    how = fmt::format("exit code {}", si.si_status);
  else if (si.si_pid == pid)
    how = fmt::format("killed by signal {} ({})", si.si_status, strsignal(si.si_status));
  std::string oom;
  if (si.si_pid == pid && si.si_code != CLD_EXITED) {
    unsigned long kills = 0;
    try {
      kills = cg.oom_kill_count();
    } catch (const Error&) {
    }
    if (kills > 0)
      oom = fmt::format("; the container's cgroup has had {} OOM kill{}{}", kills, kills == 1 ? "" : "s",
                        memory_limit > 0 ? fmt::format(": linux.resources.memory.limit ({}) may be too low", memory_limit)
                                         : "");
  }
  return Error(fmt::format("{} (pid {}) ended before it was ready, without a word: {}{}", who, pid, how, oom));
}

void report_failure(const sync::Channel& channel, const char* who, const char* what, int err) {
  try {
    channel.send(sync::Msg::Error, what, err);
  } catch (...) {
    dprintf(2, "glassrun: %s: %s\n", who, what);
  }
}

void become_root_in_user_ns() {
  if (setresgid(0, 0, 0) != 0) throw_sys("setresgid 0 in the container's user namespace");
  if (setresuid(0, 0, 0) != 0) throw_sys("setresuid 0 in the container's user namespace");
}

Ready finalize(const Finalize& f) {
  const spec::Process& p = *f.process;
  // First: a seccomp profile may refuse sched_setaffinity.
  if (int err = cpu_affinity::give_back_callers_cpus()) throw_sys("give back the caller's CPU affinity: sched_setaffinity", err);
  {
    Step s(step_name(f, "init.rlimits", "exec.rlimits"));
    rlimits::apply(p.rlimits);
  }
  lsm::set_exec_labels(p);  // as runc: before seccomp, the capability drop and no_new_privs
  if (p.user.umask) umask(*p.user.umask);
  mark_fds_cloexec(f.preserve_fds);

  Ready r;
  r.env = env_with_home(p);
  r.argv = p.args;
  chown_stdio(p.user.uid);
  bool in_cwd = privileged_chdir(p.cwd);
  // After the chdir: a relative args[0] ("./run") is looked up from the cwd, as runc.
  user::Lookup exe = user::find_executable(p.args[0], r.env);
  if (f.seccomp && !p.no_new_privileges) load_seccomp(f);  // needs CAP_SYS_ADMIN
  drop_privileges(f);
  if (!in_cwd) chdir_to_cwd(p.cwd);
  if (exe.path.empty()) executable_not_found(p.args[0], exe);
  r.exe = exe.path;
  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_sys("prctl PR_SET_NO_NEW_PRIVS");
  if (f.seccomp && p.no_new_privileges) load_seccomp(f);
  return r;
}

void exec(const Ready& r, bool is_exec) {
  auto c_strings = [](const std::vector<std::string>& v) {
    std::vector<char*> out;
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
  };
  auto argv = c_strings(r.argv);
  auto envp = c_strings(r.env);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  GLASS_STEP_BEGIN(is_exec ? "exec.execve" : "init.exec");
  execve(r.exe.c_str(), argv.data(), envp.data());
}

}  // namespace glassrun::container::process
