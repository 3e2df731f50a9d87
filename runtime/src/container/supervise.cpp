// The parent of a container process: start-up helpers shared by create and
// exec, and waiting in the foreground (forward signals, proxy a terminal,
// reap, report the status).
#include "container/supervise.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <optional>

#include "util/error.h"
#include "util/fileio.h"

namespace glassrun::container {

UniqueFd block_forwarded_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL, SIGSTOP}) sigdelset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_sys("sigprocmask SIG_BLOCK");
  UniqueFd sfd(signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd) throw_sys("signalfd");
  return sfd;
}

void write_pid_file(const std::string& path, pid_t pid) {
  if (path.size() >= PATH_MAX)
    throw Error(fmt::format("--pid-file {}...: too long ({} bytes)", path.substr(0, 64), path.size()), ENAMETOOLONG);
  std::string dir = path.find('/') == std::string::npos ? "." : path.rfind('/') == 0 ? "/" : path.substr(0, path.rfind('/'));
  std::string name = path.substr(path.rfind('/') + 1);
  UniqueFd d(open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!d) throw_sys(fmt::format("--pid-file {}: open {}", path, dir));
  fileio::write_atomic(d.get(), name, std::to_string(pid), 0644);
}

namespace {

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
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// false on EOF or error.
bool copy_once(int from, int to) {
  char buf[8192];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return true;  // output gone: drop it, keep the process running
    }
    off += w;
  }
  return true;
}

void copy_window_size(int master) {
  winsize ws;
  if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

// Reaps every exited child; true (and *status set) once pid is among them.
// A failing wait4 is retried (a few times, briefly), then reported: never a
// silent give-up that would leave us waiting for a SIGCHLD already consumed.
bool reap_all(pid_t pid, int* status) {
  int failures = 0;
  for (;;) {
    pid_t r = waitpid(-1, status, WNOHANG);
    if (r == pid) return true;
    if (r > 0) continue;
    if (r == 0) return false;
    if (errno == EINTR) continue;
    if (errno == ECHILD) throw Error(fmt::format("wait4 {}: not a child of glassrun any more", pid), ECHILD);
    if (++failures == 10) throw_sys(fmt::format("wait4 {}", pid));
    usleep(10000);
  }
}

// Without signals, the loop still wakes this often and reaps: bounded, even
// when a SIGCHLD was lost or a wait4 failed.
constexpr int kReapTickMs = 1000;

}  // namespace

int supervise(pid_t pid, int master, int sfd) {
  std::optional<RawTerminal> raw;
  if (master >= 0) {
    raw.emplace();
    copy_window_size(master);
  }
  int in = master >= 0 ? 0 : -1;
  int out = master;
  for (;;) {
    pollfd fds[3] = {{sfd, POLLIN, 0}, {out, POLLIN, 0}, {in, POLLIN, 0}};
    int polled = poll(fds, 3, kReapTickMs);
    if (polled < 0) {
      if (errno == EINTR) continue;
      throw_sys("poll");
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
      if (!copy_once(out, 1)) out = -1;
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
      if (!copy_once(0, master)) in = -1;
    // Reap on SIGCHLD, and on a timed-out poll (a SIGCHLD may have been missed).
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) != sizeof si) continue;
      if (si.ssi_signo == SIGWINCH) {
        if (master >= 0) copy_window_size(master);
        continue;
      }
      if (si.ssi_signo != SIGCHLD) {
        ::kill(pid, static_cast<int>(si.ssi_signo));
        continue;
      }
    } else if (polled != 0) {
      continue;  // terminal traffic only
    }
    int status;
    if (reap_all(pid, &status)) {
      // Drain what the process wrote before it exited.
      if (out >= 0) {
        pollfd d{out, POLLIN, 0};
        while (poll(&d, 1, 0) > 0 && (d.revents & POLLIN) && copy_once(out, 1)) {
        }
      }
      return status;
    }
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 1000; ++i) {
    pid_t r = waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return;
    usleep(10000);
  }
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace glassrun::container
