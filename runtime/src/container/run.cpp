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
#include "container/supervise.h"
#include "util/error.h"
#include "util/log.h"

namespace glassrun::container {


int run(const CreateOptions& o, bool detach, bool keep) {
  if (detach) {
    start_created(*create(o, false).loaded);
    return 0;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  UniqueFd sfd = block_forwarded_signals();  // before the init exists, so none is lost

  Created c = create(o, true);
  int status;
  try {
    if (!c.started) start_created(*c.loaded);
    status = supervise(c.init_pid, c.console_master ? c.console_master.get() : -1, sfd.get());
  } catch (...) {
    try {
      remove(*c.loaded, true);
    } catch (const Error& e) {
      log::warn(e.what());
    }
    throw;
  }
  if (keep) return exit_code(status);
  // A cleanup step that fails is retried; if it keeps failing, the id stays
  // taken, and that is an error (non-zero), never a warning with exit 0.
  for (int attempt = 0;; ++attempt) {
    try {
      remove(*c.loaded, true);
      break;
    } catch (const Error& e) {
      if (attempt == 2) throw Error(fmt::format("delete after exit: {}", e.what()), e.sys_errno());
      usleep(100000);
    }
  }
  return exit_code(status);
}

}  // namespace glassrun::container
