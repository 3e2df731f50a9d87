// `start`: open exec.fifo for reading, which lets the waiting init exec.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container.h"
#include "container/loaded.h"
#include "linux/hooks.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

// How the init ended, when we are its parent (`run`) and can reap it.
std::string exit_of_child(pid_t pid) {
  int status;
  if (waitpid(pid, &status, WNOHANG) != pid) return "";
  if (WIFSIGNALED(status)) return fmt::format(" (killed by signal {})", WTERMSIG(status));
  return fmt::format(" (exit code {})", WEXITSTATUS(status));
}

void release_init(const Loaded& c) {
  Step s("start.exec_fifo");
  UniqueFd fd(open(c.dir.fifo_path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open {}", c.dir.fifo_path()));
  for (;;) {
    char b;
    ssize_t n = read(fd.get(), &b, 1);
    if (n == 1) break;
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw_sys("read exec.fifo");
    // EOF before the init opened its end, or nothing written yet: wait a bit,
    // unless the init is gone. Looked at only now (the byte is often there
    // at the first read) and before the deciding read below: an init that
    // wrote its byte and then ran and exited (a short process, under load)
    // has been started, and that read still finds the byte.
    if (!state::init_alive(c.st)) {
      // Gone: whatever it wrote is in the fifo by now, so one more read
      // decides (the one above may have come back empty-handed, EINTR, or
      // been made to fail under fault injection; an init that ran its
      // process to the end between our open and the check above is common
      // with a short process).
      if (read(fd.get(), &b, 1) == 1) break;
      throw Error("container init exited before start" + exit_of_child(c.st.init_pid));
    }
    pollfd p{fd.get(), POLLIN, 0};
    poll(&p, 1, 5);
  }
  if (unlink(c.dir.fifo_path().c_str()) != 0) throw_sys(fmt::format("remove {}", c.dir.fifo_path()));
  // EOF comes when the init's write end closes: at its execve (or its death).
  Step w("start.wait_exec");
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) throw_sys("poll exec.fifo");
    char b;
    ssize_t n = read(fd.get(), &b, 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
  }
}

}  // namespace

void start(const std::string& root, const std::string& id) { start(Loaded::open(root, id)); }

void start(const Loaded& c) {
  switch (c.status()) {
    case state::Status::Created: break;
    case state::Status::Stopped: throw Error("cannot start a container that has stopped");
    case state::Status::Paused: throw Error("cannot start a paused container");
    default: throw Error("cannot start an already running container");
  }
  start_created(c);
}

void start_created(const Loaded& c) {
  release_init(c);
  auto h = c.hooks();
  if (!h.poststart.empty()) hooks::run_all_warning("poststart", h.poststart, c.state_json(state::Status::Running));
}

}  // namespace glassrun::container
