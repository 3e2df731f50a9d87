// `kill`: a signal to the init, or with --all to every process of the container.
#include <signal.h>

#include "container/container.h"
#include "container/loaded.h"
#include "util/error.h"

namespace glassrun::container {

void kill(const std::string& root, const std::string& id, int signal, bool all) {
  Loaded c = Loaded::open(root, id);
  state::Status s = c.status();
  if (s == state::Status::Stopped && !all) throw Error("container not running");
  if (all) {
    std::vector<pid_t> pids;
    try {
      pids = c.cg->pids();
    } catch (const Error&) {
      if (s == state::Status::Stopped) return;  // as runc: nothing left to signal is no error
      throw;
    }
    for (pid_t p : pids)
      if (::kill(p, signal) != 0 && errno != ESRCH) throw_sys(fmt::format("unable to signal pid {} with {}", p, signal));
  } else if (::kill(c.st.init_pid, signal) != 0) {
    throw_sys(fmt::format("unable to signal init (pid {}) with {}", c.st.init_pid, signal));
  }
  // A frozen process does not see SIGKILL until thawed (runc thaws for it alone).
  if (s == state::Status::Paused && signal == SIGKILL) c.cg->thaw();
}

}  // namespace glassrun::container
