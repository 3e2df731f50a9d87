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
    for (pid_t p : c.cg->pids())
      if (::kill(p, signal) != 0 && errno != ESRCH) throw_sys(fmt::format("kill {} {}", p, signal));
    // A stopped process does not see SIGTERM until continued.
    if (s == state::Status::Paused && signal == SIGKILL) c.cg->thaw();
    return;
  }
  if (::kill(c.st.init_pid, signal) != 0) throw_sys(fmt::format("kill {} {}", c.st.init_pid, signal));
}

}  // namespace glassrun::container
