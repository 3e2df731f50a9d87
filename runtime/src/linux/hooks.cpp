#include "linux/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux/cpu_affinity.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/probes.h"

namespace glassrun::hooks {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Waits for pid up to timeout_s (0: no limit); returns the wait status, or -1 on timeout.
int wait_with_timeout(pid_t pid, int timeout_s) {
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, timeout_s ? WNOHANG : 0);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) throw_sys("wait for hook");
    if (!timeout_s) continue;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= timeout_s) return -1;
    usleep(2000);
  }
}

void run_one(const spec::Hook& h, const std::string& state_json, const std::string& cwd) {
  // Opened here, where a failure can still be reported; the child only fchdirs.
  UniqueFd dir(cwd.empty() ? -1 : open(cwd.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cwd.empty() && !dir) throw_sys(fmt::format("open hook working directory {}", cwd));
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw_sys("pipe for hook stdin");
  UniqueFd rd(in[0]), wr(in[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  auto argv = c_strings(args);
  auto envp = c_strings(h.env);
  pid_t pid = fork();
  if (pid < 0) throw_sys("fork hook");
  if (pid == 0) {
    dup2(rd.get(), 0);
    if (dir && fchdir(dir.get()) != 0) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    cpu_affinity::give_back_callers_cpus();  // a hook runs on the caller's CPUs, as under runc
    execve(h.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  rd.reset();
  signal(SIGPIPE, SIG_IGN);
  // A hook that does not read its stdin must not block us.
  fcntl(wr.get(), F_SETFL, O_NONBLOCK);
  (void)!write(wr.get(), state_json.data(), state_json.size());
  wr.reset();
  int status = wait_with_timeout(pid, h.timeout.value_or(0));
  if (status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw Error(fmt::format("timed out after {}s", *h.timeout));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    if (access(h.path.c_str(), X_OK) != 0) throw_sys(fmt::format("exec {}", h.path));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) throw Error(fmt::format("exit status {}", WEXITSTATUS(status)));
  if (WIFSIGNALED(status)) throw Error(fmt::format("killed by signal {}", WTERMSIG(status)));
}

std::string context(const char* kind, const std::vector<spec::Hook>& hooks, size_t i) {
  return fmt::format("{} hook ({}): error running hook #{}", kind, hooks[i].path, i);
}

}  // namespace

void run_all(const char* kind, const std::vector<spec::Hook>& hooks, const std::string& state_json,
             const std::string& cwd) {
  if (hooks.empty()) return;
  Step s("hooks");
  for (size_t i = 0; i < hooks.size(); ++i)
    with_context(context(kind, hooks, i), [&] { run_one(hooks[i], state_json, cwd); });
}

void run_all_warning(const char* kind, const std::vector<spec::Hook>& hooks, const std::string& state_json) {
  if (hooks.empty()) return;
  Step s("hooks");
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      with_context(context(kind, hooks, i), [&] { run_one(hooks[i], state_json, {}); });
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
}

}  // namespace glassrun::hooks
