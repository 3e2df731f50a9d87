// `delete`: kill what is left (created, or with --force), remove cgroups and
// the state directory, then run poststop hooks.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container.h"
#include "container/loaded.h"
#include "linux/hooks.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

void kill_init_and_wait(const Loaded& c) {
  for (pid_t p : c.cg->pids()) ::kill(p, SIGKILL);
  ::kill(c.st.init_pid, SIGKILL);
  if (c.cg->frozen()) c.cg->thaw();
  // The init may be our child (run) or someone else's: wait by polling.
  for (int i = 0; i < 10000 && state::init_alive(c.st); ++i) {
    waitpid(c.st.init_pid, nullptr, WNOHANG);
    usleep(1000);
  }
  // Its children may outlive it for a moment; the cgroup must be empty to go.
  for (int i = 0; i < 2000 && !c.cg->pids().empty(); ++i) usleep(1000);
}

}  // namespace

void remove(const std::string& root, const std::string& id, bool force) {
  std::optional<state::ContainerDir> dir;
  try {
    dir.emplace(state::ContainerDir::open(root, id));
  } catch (const Error& e) {
    if (force && std::string(e.what()) == "container does not exist") return;
    throw;
  }
  std::optional<Loaded> c;
  try {
    c.emplace(Loaded::open(root, id));
  } catch (const Error& e) {
    // The state vanished (a half-removed container): clean up what is there.
    if (!force) throw;
    dir->remove();
    return;
  }
  Step s("delete");
  state::Status st = c->status();
  if ((st == state::Status::Running || st == state::Status::Paused) && !force)
    throw Error(fmt::format("cannot delete container {} that is not stopped: {}", id, state::to_string(st)));
  if (st != state::Status::Stopped) kill_init_and_wait(*c);
  c->cg->destroy();
  c->dir.remove();
  auto h = c->hooks();
  if (!h.poststop.empty()) hooks::run_all_warning("poststop", h.poststop, c->state_json(state::Status::Stopped));
}

}  // namespace glassrun::container
