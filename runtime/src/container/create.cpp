// `create`: the parent's side of the flow, top-down as the seeds list it.
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include "container/container.h"
#include "container/init.h"
#include "container/process.h"
#include "container/supervise.h"
#include "linux/capabilities.h"
#include "linux/cgroups.h"
#include "linux/cgroups_fs.h"
#include "linux/cgroups_placement.h"
#include "linux/cloned_binary.h"
#include "linux/console.h"
#include "linux/idmapped_mounts.h"
#include "linux/lsm.h"
#include "linux/mounts.h"
#include "linux/hooks.h"
#include "linux/idmap.h"
#include "linux/namespaces.h"
#include "linux/seccomp.h"
#include "linux/sync.h"
#include "state/runc_view.h"
#include "state/state.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

spec::Config load_config(const CreateOptions& o, bool foreground) {
  Step s("create.config");
  spec::Config c = spec::load_bundle(o.bundle);
  if (!c.process) throw Error("config.json: process: must be set");
  if (c.process->capabilities) caps::warn_unknown(c.process->capabilities->unknown);
  if (c.process->terminal && o.console_socket.empty() && !foreground)
    throw Error("cannot allocate tty if glassrun will detach without setting console socket");
  if (!c.process->terminal && !o.console_socket.empty())
    throw Error("cannot use console socket if glassrun will not detach or allocate tty");
  lsm::check_process(*c.process);
  lsm::check_mount_label(c);
  // Refused before anything is made, in runc's words.
  if (const auto& u = c.linux_section("resources"); u.is_object() && u.contains("unified") &&
      !u["unified"].is_null() && !u["unified"].empty() && cgroups::detect_layout() != cgroups::Layout::V2)
    throw Error("invalid configuration: cannot use unified on cgroup v1");
  return c;
}

// The first linux.resources member that limits something (device rules are
// left out: in a user namespace nothing can mknod a device anyway).
std::string first_limit(const nlohmann::json& r) {
  if (!r.is_object()) return "";
  for (const auto& [k, v] : r.items())
    if (k != "devices" && !v.is_null() && !v.empty()) return k;
  return "";
}

// The directories of the manager's paths that do not exist yet: what
// create() will make, recorded before it runs (see record_pieces). The walk up
// from each path stops at the first that exists; a hierarchy's mount point
// exists and is not looked at.
std::vector<std::string> missing_dirs(const cgroups::Manager& cg) {
  std::vector<std::string> out, roots = cg.hierarchy_roots();
  auto exists = [&](const std::string& d) {
    return std::find(roots.begin(), roots.end(), d) != roots.end() || cgroups::fs::accessible(d);
  };
  for (const auto& [ctrl, dir] : cg.paths())
    for (std::string d = dir; d.size() > 1 && !exists(d); d = d.substr(0, d.rfind('/')))
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

// Before the first cgroup or process exists: which cgroups this container
// will have, so `delete --force` can find them if glassrun dies (kill -9)
// before state.json is written.
// Returns the cgroups it recorded (oci_config left empty: the config was
// written from c.raw as it is, not copied).
state::Extras record_pieces(const state::ContainerDir& dir, const spec::Config& c, const cgroups::Manager& cg) {
  state::Extras e{{}, missing_dirs(cg), cg.paths()};
  dir.write_extras(c.raw, e.created_cgroups, e.cgroup_paths);
  return e;
}

// Whether every cgroup of the manager is in `made` (made by this run, or
// about to be).
bool all_made_here(const cgroups::Manager& cg, const std::vector<std::string>& made) {
  auto paths = cg.paths();
  return std::all_of(paths.begin(), paths.end(),
                     [&](const auto& ctrl_dir) { return std::find(made.begin(), made.end(), ctrl_dir.second) != made.end(); });
}

// runc refuses at once rather than starting an init that would never run.
// Only a cgroup that was there before can be frozen: one this run has just
// made is not frozen itself (frozen() reads its own state, not its
// parent's), so a run that made all of its cgroups asks nothing.
void refuse_frozen(const cgroups::Manager& cg) {
  if (all_made_here(cg, cg.created_dirs())) return;
  bool frozen = false;
  try {
    frozen = cg.frozen();
  } catch (const Error&) {
  }
  if (frozen) throw Error("container's cgroup unexpectedly frozen");
}

// The cleanup list shares ownership of the manager: an undo action must not
// outlive what it undoes (the limits step may throw before we return).
// `recorded` gets what glassrun.json says after this step.
std::shared_ptr<cgroups::Manager> make_cgroups(const spec::Config& c, const std::string& id,
                                               const state::ContainerDir& dir, Cleanup& cleanup,
                                               state::Extras& recorded) {
  Step s("create.cgroups");
  std::shared_ptr<cgroups::Manager> cg = cgroups::for_new_container(c.cgroups_path, id);
  recorded = record_pieces(dir, c, *cg);
  // As runc 1.1: a cgroup that already has processes is used, with a
  // warning. One this run is about to make has none.
  if (auto n = all_made_here(*cg, recorded.created_cgroups) ? 0 : cg->pids().size(); n > 0)
    log::warn(fmt::format("container's cgroup is not empty: {} process(es) found", n));
  try {
    cg->create();
  } catch (const Error& e) {
    // Rootless without a delegated cgroup: go on without one (as runc), unless
    // the config asks for limits, which only a cgroup can enforce.
    int err = e.sys_errno();
    if (geteuid() == 0 || (err != EACCES && err != EPERM && err != EROFS)) throw;
    if (std::string k = first_limit(c.linux_section("resources")); !k.empty())
      throw Error(fmt::format("linux.resources.{}: cannot be applied: rootless cgroups need delegation (a cgroup "
                              "v2 subtree owned by uid {}): {}",
                              k, geteuid(), e.what()),
                  err);
    return cgroups::from_state({}, {});
  }
  cleanup.add([cg] { cg->destroy(); });
  refuse_frozen(*cg);
  // Also without linux.resources: the default device rules apply (as runc).
  cg->apply_resources(c.linux_section("resources"));
  return cg;
}

std::unique_ptr<seccomp::Filter> compile_seccomp(const spec::Config& c) {
  const auto& sc = c.linux_section("seccomp");
  if (sc.is_null()) return nullptr;
  Step s("create.seccomp_compile");
  return seccomp::compile(sc);
}

// On the host, before the init and its user namespace exist (see idmapped_mounts.h).
idmapped::Trees make_idmapped_trees(const spec::Config& c) {
  Step s("create.idmapped_mounts");
  return idmapped::prepare(c);
}

// fork semantics (no new stack) with the namespace flags: the child returns
// here as in fork and carries on in the new namespaces. With a placement, the
// child is born in the unified cgroup (cgroups_placement.h).
pid_t clone_init(int flags, cgroups::Placement& placement) {
  // Not a scoped Step: the child returns from here too, and the step is the parent's.
  step_begin("create.clone");
  pid_t pid = cgroups::clone_into(static_cast<unsigned long>(flags), placement);
  int err = errno;
  if (pid != 0) step_end("create.clone", pid < 0);
  if (pid < 0) throw_sys(fmt::format("clone into new namespaces (flags {:#x})", flags), err);
  return pid;
}

int run_init_sharing_memory(void* ctx) { run_init(*static_cast<const InitContext*>(ctx)); }

// Whether `run` may clone the init sharing our memory until its execve
// (cgroups::clone_into_sharing_memory): we sleep meanwhile, so nothing may
// need us before the execve, and the init starts at once (no exec.fifo;
// state.json is written once the process runs). Not for create or run -d
// (the init waits for a start while we go on); not with a user or time
// namespace (refused to a process sharing its memory) or a namespace joined
// by path (the joins keep runc's order, on the fork's path); only with a
// new pid namespace, so that no process but the host's sees the init (and
// through it our memory) before its execve; not with hooks (they run between
// the init's steps and ours), a seccomp listener (it gets the notify fd
// through us first), a terminal or --pid-file (handed out before the process
// runs, as runc), a memory resource (the init's pages before its execve are
// charged to our memory cgroup, not the container's), or CAP_SYS_PTRACE in
// the container's process.
bool init_can_share_memory(const CreateOptions& o, const spec::Config& c, bool foreground,
                           const seccomp::Filter* filter) {
  if (!foreground || !o.pid_file.empty() || !o.console_socket.empty()) return false;
  if (!c.process || c.process->terminal || caps::grants(*c.process, CAP_SYS_PTRACE)) return false;
  if (!c.find_namespace("pid") || c.has_namespace("user") || c.has_namespace("time")) return false;
  for (const auto& ns : c.namespaces)
    if (!ns.path.empty()) return false;
  if (c.hooks.any_before_exec() || !c.hooks.poststart.empty()) return false;
  if (filter && filter->uses_notify()) return false;
  const auto& res = c.linux_section("resources");
  return !(res.is_object() && res.contains("memory") && !res["memory"].empty());
}

// Joining a user namespace by path, the new namespaces must be made after the
// join, so that they belong to it (made before, they are the host's: the init
// may not even sethostname). A joiner child joins every namespace given by
// path, the user namespace first, then clones the init with the CLONE_NEW*
// flags and CLONE_PARENT (the init is our child, as in runc's nsexec, whose
// stage 1 joins and unshares and whose stage 2 is the init), hands us its pid
// and exits. Returns the init's pid in the parent; does not return in the init.
pid_t clone_init_from_joiner(const spec::Config& c, const InitContext& ctx, const sync::Channel& parent_chan) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw_sys("pipe for the init's pid");
  UniqueFd pid_rd(fds[0]), pid_wr(fds[1]);
  pid_t joiner = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (joiner < 0) throw_sys("clone the namespace joiner");
  if (joiner == 0) {
    pid_rd.reset();
    process::run_child(*ctx.channel, "init", 1, [&] {
      namespaces::join_paths(c, true);
      cgroups::Placement none;  // the parent moves the init: this child is in another user namespace
      pid_t pid = clone_init(CLONE_PARENT | namespaces::clone_flags(c), none);
      if (pid == 0) {
        pid_wr.reset();
        run_init(ctx);
      }
      if (write(pid_wr.get(), &pid, sizeof pid) != sizeof pid) throw_sys("write the init's pid");
    });
  }
  pid_wr.reset();
  pid_t pid = 0;
  ssize_t n;
  while ((n = read(pid_rd.get(), &pid, sizeof pid)) < 0 && errno == EINTR) {
  }
  while (waitpid(joiner, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof pid) {
    // The joiner failed before the clone and said why on the init's channel.
    sync::Message m = parent_chan.recv(nullptr, sync::kChildMessageTimeoutMs);
    throw Error("init: " + m.text, m.err);
  }
  return pid;
}

std::string hook_state(const std::string& id, pid_t pid, const spec::Config& c, const char* status) {
  nlohmann::json j{{"ociVersion", "1.0.2"}, {"id", id}, {"status", status}, {"pid", pid}, {"bundle", c.bundle}};
  if (!c.annotations.empty()) j["annotations"] = c.annotations;
  return j.dump();
}

// The parent's half of the conversation with the init, until it is Ready.
void serve_init(const sync::Channel& chan, const CreateOptions& o, const spec::Config& c, pid_t pid,
                const seccomp::Filter* filter, Created& out, bool foreground) {
  for (;;) {
    UniqueFd fd;
    sync::Message m = chan.recv(&fd, sync::kChildMessageTimeoutMs);
    switch (m.type) {
      case sync::Msg::HooksRequest: {
        std::string st = hook_state(o.id, pid, c, "created");
        hooks::run_all("prestart", c.hooks.prestart, st);
        hooks::run_all("createRuntime", c.hooks.create_runtime, st);
        chan.send(sync::Msg::HooksDone, st);
        break;
      }
      case sync::Msg::ConsoleFd:
        if (!o.console_socket.empty())
          console::send_to_socket(o.console_socket, fd.get(), m.text);
        else if (foreground)
          out.console_master = std::move(fd);
        break;
      case sync::Msg::SeccompFd:
        if (!filter) throw Error("init: sent a seccomp notify fd without a seccomp profile");
        seccomp::send_to_listener(*filter, fd.get(), pid, hook_state(o.id, pid, c, "creating"));
        break;
      case sync::Msg::Ready:
        return;
      case sync::Msg::Error:
        throw Error("init: " + m.text, m.err);
      default:
        throw Error(fmt::format("init: unexpected message {}", static_cast<int>(m.type)));
    }
  }
}

state::State make_state(const CreateOptions& o, const spec::Config& c, pid_t pid, pid_t stdio_of,
                        const cgroups::Manager& cg) {
  state::State s;
  s.id = o.id;
  s.init_pid = pid;
  // exited too: an init that shared our memory has been started, and may be done already.
  s.init_start = state::process_start_time(pid, /*exited_too=*/true);
  s.created = clock::now_rfc3339();
  s.config = state::runc_config_view(c, o.id, o.no_pivot, o.no_new_keyring);
  s.cgroup_paths = cg.paths();
  s.rootless = geteuid() != 0;
  s.namespace_paths = namespaces::state_paths(c, pid);
  for (int i = 0; i < 3; ++i) {
    char buf[4096];
    ssize_t n = readlink(fmt::format("/proc/{}/fd/{}", stdio_of, i).c_str(), buf, sizeof buf - 1);
    s.external_descriptors.push_back(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/dev/null");
  }
  return s;
}

}  // namespace

Created create(const CreateOptions& o, bool foreground) {
  cloned_binary::ensure();  // CVE-2019-5736: the init's /proc/<pid>/exe is a sealed copy
  Created out;
  spec::Config config = load_config(o, foreground);
  // Declared before the Cleanup, so they outlive the undo actions that use them.
  std::shared_ptr<state::ContainerDir> dir;
  std::shared_ptr<cgroups::Manager> cg;
  Cleanup cleanup;
  idmapped::Trees idmapped_trees = make_idmapped_trees(config);
  auto bind_sources = mounts::open_bind_sources(config);  // before the init's user namespace

  dir = std::make_shared<state::ContainerDir>(state::ContainerDir::create(o.root, o.id));
  cleanup.add([dir] { dir->remove(); });
  state::Extras recorded;
  cg = make_cgroups(config, o.id, *dir, cleanup, recorded);
  auto filter = compile_seccomp(config);
  bool shares_memory = init_can_share_memory(o, config, foreground, filter.get());
  UniqueFd fifo;
  if (!shares_memory) fifo = dir->make_exec_fifo();

  auto [parent_chan, init_chan] = sync::Channel::pair();
  bool joins_user = namespaces::joins_user(config);
  if (joins_user) idmap::check_joined(config, config.find_namespace("user")->path);
  if (auto* pidns = config.find_namespace("pid"); pidns && !pidns->path.empty() && !joins_user)
    namespaces::join(pidns->path, CLONE_NEWPID);  // applies to the child we clone next

  InitContext ctx;
  ctx.config = &config;
  ctx.channel = &init_chan;
  ctx.parent_channel = &parent_chan;
  ctx.exec_fifo_fd = fifo.get();
  ctx.cgroup_paths = cg->paths();
  ctx.seccomp = filter.get();
  ctx.no_pivot = o.no_pivot;
  ctx.no_new_keyring = o.no_new_keyring;
  ctx.wants_hooks = config.hooks.any_before_exec();
  ctx.preserve_fds = o.preserve_fds;
  ctx.id = o.id;
  ctx.idmapped_trees = idmapped::fds_of(idmapped_trees);
  ctx.bind_sources = idmapped::fds_of(bind_sources);
  // The init moves itself into the v1 hierarchies and is born in the unified
  // one: no wait on the kernel's global cgroup lock (cgroups_placement.h).
  cgroups::Placement placement;
  if (!joins_user) placement = cgroups::open_placement(cg->paths());
  ctx.placement = &placement;

  pid_t pid = -1;
  if (shares_memory) {
    ctx.shares_memory = true;
    {
      Step s("create.clone");  // returns after the init's execve
      pid = cgroups::clone_into_sharing_memory(placement, run_init_sharing_memory, &ctx,
                                               static_cast<unsigned long>(namespaces::clone_flags(config)));
    }
    if (pid < 0) {  // refused (an older kernel, a seccomp profile): the fork, with its exec.fifo
      shares_memory = ctx.shares_memory = false;
      fifo = dir->make_exec_fifo();
      ctx.exec_fifo_fd = fifo.get();
    }
  }
  if (pid < 0)
    pid = joins_user ? clone_init_from_joiner(config, ctx, parent_chan)
                     : clone_init(namespaces::clone_flags(config), placement);
  if (pid == 0) run_init(ctx);
  idmapped_trees.clear();  // the init has its own copies
  bind_sources.clear();
  bool init_places_itself = !placement.empty();
  cgroups::close_all(placement);
  cleanup.add([pid] { kill_and_reap(pid); });
  init_chan.close();
  fifo.reset();

  {
    if (auto* u = config.find_namespace("user"); u && u->path.empty()) idmap::write(pid, config, false);
    if (!init_places_itself) {
      Step s("create.cgroup_attach");
      cg->add_process(pid);
    }
    if (!shares_memory) parent_chan.send_unless_gone(sync::Msg::Continue);
    try {
      serve_init(parent_chan, o, config, pid, filter.get(), out, foreground);
    } catch (const sync::PeerGone&) {
      const auto& res = config.linux_section("resources");
      const nlohmann::json::json_pointer limit("/memory/limit");
      bool has_limit = res.is_object() && res.contains(limit) && res[limit].is_number_integer();
      throw process::silent_end(pid, "init", *cg, has_limit ? res[limit].get<int64_t>() : 0);
    }
    // Never report a created container whose init is already gone (one that
    // shared our memory has been started: its process may be done already).
    if (int status; !shares_memory && waitpid(pid, &status, WNOHANG) == pid)
      throw Error(fmt::format("init (pid {}) exited before create finished ({})", pid,
                              WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                                  : fmt::format("exit code {}", WEXITSTATUS(status))));
  }

  Step s("create.state");
  // Stdio as the init had it: it still has ours, unless it already executed.
  state::State st = make_state(o, config, pid, shares_memory ? getpid() : pid, *cg);
  // config is not used past this point: its JSON moves, not copied.
  state::Extras extras{std::move(config.raw), cg->created_dirs(), cg->paths()};
  // Usually the cgroups made are the ones recorded before: then the file
  // already says this, and a second write would cost a new inode (issue 18).
  if (extras.created_cgroups != recorded.created_cgroups || extras.cgroup_paths != recorded.cgroup_paths)
    dir->write_extras(extras);
  dir->write_state(st);
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, pid);
  cleanup.disarm();
  out.init_pid = pid;
  out.started = shares_memory;
  out.loaded = Loaded::made(std::move(*dir), std::move(st), std::move(extras));
  return out;
}

}  // namespace glassrun::container
