// `delete`: kill what is left (created, or with --force), remove cgroups and
// the state directory, then run poststop hooks.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "container/container.h"
#include "container/loaded.h"
#include "linux/hooks.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

// SIGKILLs the init (if known) and everything in the container's cgroups, at
// any depth, until all are gone: returns only then, or fails after 10 s
// (e.g. a process in uninterruptible sleep), leaving the state to retry with.
void kill_all_and_wait(cgroups::Manager& cg, const state::State* st) {
  for (int i = 0; i < 1000; ++i) {
    bool init = st && state::init_alive(*st);
    if (init) ::kill(st->init_pid, SIGKILL);
    auto pids = cg.pids();
    if (!init && pids.empty()) return;
    for (pid_t p : pids) ::kill(p, SIGKILL);
    // A frozen process sees SIGKILL only once thawed (v1 freezer).
    try {
      if (cg.frozen()) cg.thaw();
    } catch (const Error&) {
    }
    // The init may be our child (run) or someone else's: wait by polling.
    if (st) waitpid(st->init_pid, nullptr, WNOHANG);
    usleep(10000);
  }
  fail("delete: processes of the container are still running after SIGKILL (10 s)");
}

// A create that died (kill -9) before state.json was written: the cgroups it
// recorded first (glassrun.json) are found by id, emptied and removed.
void remove_half_made(const state::ContainerDir& dir) {
  state::Extras ex;
  try {
    ex = dir.read_extras();
  } catch (const Error&) {
  }
  // Only cgroups this create made: a joined, shared one holds others' processes.
  std::map<std::string, std::string> ours;
  for (const auto& [ctrl, path] : ex.cgroup_paths)
    if (std::find(ex.created_cgroups.begin(), ex.created_cgroups.end(), path) != ex.created_cgroups.end())
      ours[ctrl] = path;
  if (!ours.empty()) {
    auto cg = cgroups::from_state(ours, ex.created_cgroups);
    kill_all_and_wait(*cg, nullptr);
    cg->destroy();
  }
  dir.remove();
}

void remove_loaded(Loaded& c, bool force) {
  Step s("delete");
  state::Status st = state::Status::Running;
  try {
    st = c.status();
  } catch (const Error&) {
    if (!force) throw;  // --force kills and removes whatever the status
  }
  if ((st == state::Status::Running || st == state::Status::Paused) && !force)
    throw Error(fmt::format("cannot delete container {} that is not stopped: {}", c.dir.id(), state::to_string(st)));
  // A stopped container's init took its pid namespace down with it; what is
  // left in a (possibly shared) cgroup is not ours to kill.
  if (st != state::Status::Stopped) kill_all_and_wait(*c.cg, &c.st);
  c.cg->destroy();
  c.dir.remove();
  auto h = c.hooks();
  if (!h.poststop.empty()) hooks::run_all_warning("poststop", h.poststop, c.state_json(state::Status::Stopped));
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
    // The state is missing or torn (a create killed half-way): clean up what is there.
    if (!force) throw;
    remove_half_made(*dir);
    return;
  }
  remove_loaded(*c, force);
}

void remove(Loaded& c, bool force) {
  // Deleted (or deleted and made again) by someone else meanwhile: what is
  // at the path now is what a delete by id sees, as before.
  if (!c.dir.is_at_its_path()) return remove(c.dir.root(), c.dir.id(), force);
  remove_loaded(c, force);
}

}  // namespace glassrun::container
