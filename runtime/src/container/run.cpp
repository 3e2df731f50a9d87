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
  if (keep) return exit_code(status);
  try {
    remove(o.root, o.id, true);
  } catch (const Error& e) {
    log::warn(e.what());
  }
  return exit_code(status);
}

}  // namespace glassrun::container
