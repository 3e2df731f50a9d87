// `run`: create and start, then (unless detached) wait for the container as
// its parent and subreaper, forwarding signals and proxying a terminal.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"
#include "util/log.h"

namespace glassrun::container {

namespace {

// Puts the user's terminal in raw mode for the proxy and restores it.
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(0) || tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(0, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void copy_once(int from, int to) {
  char buf[4096];
  ssize_t n = read(from, buf, sizeof buf);
  if (n > 0) (void)!write(to, buf, static_cast<size_t>(n));
}

void copy_window_size(int master) {
  winsize ws;
  if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

// Waits for the init, forwarding signals; returns its wait status.
int supervise(pid_t init, int master, int sfd) {
  std::optional<RawTerminal> raw;
  if (master >= 0) {
    raw.emplace();
    copy_window_size(master);
  }
  for (;;) {
    pollfd fds[3] = {{sfd, POLLIN, 0}, {master, POLLIN, 0}, {master >= 0 ? 0 : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) throw_sys("poll");
    if (fds[1].revents & POLLIN) copy_once(master, 1);
    if (fds[2].revents & (POLLIN | POLLHUP)) copy_once(0, master);
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != sizeof si) continue;
    if (si.ssi_signo == SIGWINCH && master >= 0) {
      copy_window_size(master);
    } else if (si.ssi_signo != SIGCHLD) {
      ::kill(init, static_cast<int>(si.ssi_signo));
      continue;
    }
    // Reap everything (we are a subreaper); stop when the init is gone.
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0)
      if (p == init) {
        if (master >= 0)
          while (poll(fds + 1, 1, 0) > 0 && (fds[1].revents & POLLIN)) copy_once(master, 1);
        return status;
      }
  }
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

int run(const CreateOptions& o, bool detach) {
  if (detach) {
    create(o, false);
    start(o.root, o.id);
    return 0;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // Block the forwarded signals before the init exists, so none is lost; the
  // init unblocks them itself before execve.
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL, SIGSTOP}) sigdelset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sfd(signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd) throw_sys("signalfd");

  Created c = create(o, true);
  int status;
  try {
    start(o.root, o.id);
    status = supervise(c.init_pid, c.console_master ? c.console_master.get() : -1, sfd.get());
  } catch (...) {
    try {
      remove(o.root, o.id, true);
    } catch (...) {
    }
    throw;
  }
  try {
    remove(o.root, o.id, true);
  } catch (const Error& e) {
    log::warn(e.what());
  }
  return exit_code(status);
}

}  // namespace glassrun::container
