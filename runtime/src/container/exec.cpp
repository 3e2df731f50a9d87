// `exec`: the parent becomes non-dumpable, joins the container's pid
// namespace and clones once; the child closes what it does not need, moves
// itself into the container's cgroups (or waits until the parent did),
// joins the other namespaces (user first), takes the container's root and
// its terminal, and becomes the process on the init's path
// (container/process.cpp). Where it can, the child shares the parent's
// memory until it executes, as posix_spawn's does, and the parent sleeps
// meanwhile (cgroups::clone_into_sharing_memory): so the child leaves the
// parent's objects as they are.
#include "container/exec.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <optional>

#include "container/loaded.h"
#include "container/process.h"
#include "container/supervise.h"
#include "linux/capabilities.h"
#include "linux/cgroups_paths.h"
#include "linux/cgroups_placement.h"
#include "linux/cloned_binary.h"
#include "linux/console.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/seccomp.h"
#include "linux/user.h"
#include "linux/sync.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

struct NsFd {
  int flag;
  std::string path;
  UniqueFd fd;
};

// How the child joins the init's namespaces (user first, pid excluded: the
// parent joins that one before forking). Where the kernel takes
// setns(pidfd, flags) (>= 5.8), one pidfd and one setns replace an open, a
// setns and two closes per namespace; the kernel joins the user namespace
// first and checks the others with its credentials, as the sequence does.
// Otherwise one /proc/<init>/ns/<x> fd per namespace.
struct NsJoin {
  UniqueFd pidfd;         // set: setns(pidfd, flags) in the child
  int flags = 0;          // CLONE_NEW* of the config's namespaces but pid
  std::string what;       // for errors: /proc/<init>/ns/{user,ipc,...}
  std::vector<NsFd> fds;  // without pidfd
};

// What the child needs; everything is prepared by the parent, and the child
// only reads it (it may be the parent's own memory).
struct ChildContext {
  const spec::Config* config = nullptr;
  const spec::Process* process = nullptr;
  const NsJoin* namespaces = nullptr;
  int root_fd = -1;                         // O_PATH /proc/<init>/root
  const sync::Channel* channel = nullptr;
  seccomp::Filter* seccomp = nullptr;
  int preserve_fds = 0;
  std::vector<int> keep_fds;                // besides stdio and the preserved ones
  const cgroups::Placement* placement = nullptr;  // the v1 cgroups the child moves itself into
  bool await_continue = true;               // false: the parent sleeps until our execve
};

// ---- the process: config.process with the flags applied (runc's getProcess)

void add_cap(std::optional<std::vector<int>>& set, int cap) {
  if (!set) set.emplace();
  for (int c : *set)
    if (c == cap) return;
  set->push_back(cap);
}

spec::Process build_process(const ExecOptions& o, const spec::Config& c) {
  Step s("exec.process");
  if (!o.process_file.empty()) {
    std::string text;
    if (!fileio::read_file(o.process_file, text)) throw_sys(fmt::format("open {}", o.process_file));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(fmt::format("{}: invalid JSON: {}", o.process_file, e.what()));
    }
    return spec::parse_process(j, "process");
  }
  if (!c.process) throw Error("the container's config has no process");
  spec::Process p = *c.process;
  if (o.args.empty()) throw Error("exec: no command given (args must not be empty)");
  p.args = o.args;
  for (const auto& e : o.env) {
    if (e.find('=') == std::string::npos) throw Error(fmt::format("--env {}: must be KEY=VALUE", e));
    p.env.push_back(e);
  }
  if (!o.cwd.empty()) {
    if (o.cwd[0] != '/') throw Error(fmt::format("--cwd {}: must be an absolute path", o.cwd));  // as runc
    p.cwd = o.cwd;
  }
  // As runc: without -t the process gets no terminal, whatever
  // process.terminal says in config.json (a process.json keeps its own).
  p.terminal = o.tty.value_or(false);
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    auto num = [&](const std::string& t) -> unsigned {
      try {
        size_t used = 0;
        unsigned long v = std::stoul(t, &used);
        if (used != t.size() || v > 0xffffffffUL) throw std::invalid_argument(t);
        return static_cast<unsigned>(v);
      } catch (const std::exception&) {
        throw Error(fmt::format("--user {}: must be UID[:GID], numeric", o.user));
      }
    };
    p.user.uid = num(o.user.substr(0, colon));
    p.user.gid = colon == std::string::npos ? 0 : num(o.user.substr(colon + 1));
    for (auto [id, is_uid] : {std::pair{p.user.uid, true}, std::pair{p.user.gid, false}})
      if (auto why = user::unusable_id(id, is_uid); !why.empty()) throw Error(fmt::format("--user {}: {}", o.user, why));
  }
  for (unsigned g : o.additional_gids) {
    if (auto why = user::unusable_id(g, false); !why.empty()) throw Error(fmt::format("--additional-gids {}: {}", g, why));
    p.user.additional_gids.push_back(g);
  }
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& name : o.caps) {
      auto cap = caps::from_name(name);
      if (!cap || *cap > caps::last_cap()) {  // skipped with a warning, as runc and crun
        p.capabilities->unknown.push_back(name);
        continue;
      }
      add_cap(p.capabilities->bounding, *cap);
      add_cap(p.capabilities->effective, *cap);
      add_cap(p.capabilities->permitted, *cap);
      add_cap(p.capabilities->inheritable, *cap);
      add_cap(p.capabilities->ambient, *cap);
    }
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  return p;
}

// ---- the parent's preparations

std::vector<NsFd> open_namespace_fds(const spec::Config& c, pid_t init, UniqueFd& pid_ns) {
  std::vector<NsFd> out;
  auto open_ns = [&](const namespaces::Kind& k) {
    std::string path = fmt::format("/proc/{}/ns/{}", init, k.proc_name);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_sys(fmt::format("open {}", path));
    return NsFd{k.clone_flag, path, std::move(fd)};
  };
  // The user namespace first: it owns the others.
  if (c.has_namespace("user")) out.push_back(open_ns(*namespaces::by_config_name("user")));
  for (const auto& ns : c.namespaces) {
    if (ns.type == "user") continue;
    const auto* k = namespaces::by_config_name(ns.type);
    if (!k) throw Error(fmt::format("unknown namespace type {}", ns.type));
    NsFd n = open_ns(*k);
    if (ns.type == "pid")
      pid_ns = std::move(n.fd);
    else
      out.push_back(std::move(n));
  }
  return out;
}

// Joins the container's pid namespace here (it applies to the child forked
// next) and prepares the child's joins: through a pidfd of the init when the
// kernel takes setns(pidfd, CLONE_NEWPID) (tried on that join, so the pidfd
// path is proven before the child relies on it), else through /proc paths.
// Without a pid namespace in the config there is nothing to try it on: paths.
NsJoin join_pid_namespace(const spec::Config& c, pid_t init) {
  NsJoin j;
  UniqueFd pid_ns;
  {
    Step s("exec.open_namespaces");
    std::vector<std::string> names;
    for (const auto& ns : c.namespaces) {
      const auto* k = namespaces::by_config_name(ns.type);
      if (!k) throw Error(fmt::format("unknown namespace type {}", ns.type));
      if (ns.type == "pid") continue;
      j.flags |= k->clone_flag;
      if (ns.type == "user")
        names.insert(names.begin(), k->proc_name);
      else
        names.push_back(k->proc_name);
    }
    j.what = fmt::format("/proc/{}/ns/{{{}}}", init, fmt::join(names, ","));
    if (c.has_namespace("pid")) j.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, init, 0)));
    if (!j.pidfd) j.fds = open_namespace_fds(c, init, pid_ns);
  }
  if (!c.has_namespace("pid")) return j;
  Step s("exec.pid_namespace");
  if (j.pidfd) {
    if (setns(j.pidfd.get(), CLONE_NEWPID) == 0) return j;
    // Refused (kernel < 5.8, or an LSM): the paths, each with its own error.
    j.pidfd.reset();
    j.fds = open_namespace_fds(c, init, pid_ns);
  }
  if (setns(pid_ns.get(), CLONE_NEWPID) != 0) throw_sys(fmt::format("setns /proc/{}/ns/pid", init));
  return j;
}

// ---- the child

// The fds are closed by number: the NsJoin stays the parent's.
void join_namespaces(const ChildContext& x) {
  Step s("exec.namespaces");
  const NsJoin& j = *x.namespaces;
  if (j.pidfd) {
    if (j.flags != 0 && setns(j.pidfd.get(), j.flags) != 0) throw_sys(fmt::format("setns {}", j.what));
    if (j.flags & CLONE_NEWUSER) process::become_root_in_user_ns();
    ::close(j.pidfd.get());
    return;
  }
  for (const auto& ns : j.fds) {
    if (setns(ns.fd.get(), ns.flag) != 0) throw_sys(fmt::format("setns {}", ns.path));
    if (ns.flag == CLONE_NEWUSER) process::become_root_in_user_ns();
    ::close(ns.fd.get());
  }
}

// setns(CLONE_NEWNS) leaves us at the root of the mount namespace; the
// container's root is the init's root (they differ with --no-pivot setups or
// a process that chrooted), so take exactly that one.
void enter_root(const ChildContext& x) {
  Step s("exec.root");
  if (fchdir(x.root_fd) != 0) throw_sys("fchdir to the container's root (/proc/<init>/root)");
  if (chroot(".") != 0) throw_sys("chroot to the container's root");
  if (chdir("/") != 0) throw_sys("chdir /");
  ::close(x.root_fd);
}

// Only a user namespace can deny setgroups(2). Without one the process stays
// in ours, as the init did (init.cpp's rule): nothing to read, and nothing
// read from the container's /proc decides which groups it keeps.
bool setgroups_allowed(const spec::Config& c) {
  if (!c.has_namespace("user")) return true;
  std::string v;
  if (!fileio::read_file("/proc/self/setgroups", v)) return true;
  return v.rfind("deny", 0) != 0;
}

void child_flow(const ChildContext& x) {
  const spec::Process& p = *x.process;
  // Born in the container's pid namespace: hold nothing of the host's that a
  // container process could reach through us (CVE-2016-9962); the parent's
  // end of the channel goes too.
  process::close_fds_except(x.preserve_fds, x.keep_fds);
  // Nothing of the user's runs before we are in the container's cgroups:
  // born in the unified one, we move ourselves into the v1 ones, or the
  // parent moves us before Continue (cgroups_placement.h).
  if (!x.placement->empty()) {
    Step s("exec.cgroup_attach");
    cgroups::place_self(*x.placement);
  }
  if (x.await_continue) x.channel->expect(sync::Msg::Continue);
  // Still on the host's side: once in the container's user namespace, a
  // non-dumpable process's /proc/self belongs to a root not mapped there.
  if (p.oom_score_adj) fileio::write_file("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
  join_namespaces(x);
  enter_root(x);

  if (p.terminal) {
    // From the container's devpts: /dev/ptmx is the container's now.
    console::Pty pty = console::open_pty(p.console_height, p.console_width);
    x.channel->send(sync::Msg::ConsoleFd, pty.slave_name, 0, pty.master.get());
    pty.master.reset();
    console::attach_slave(pty);
  }
  process::Ready ready = process::finalize({&p, x.channel, x.seccomp, x.preserve_fds, setgroups_allowed(*x.config), true});
  x.channel->send(sync::Msg::Ready);
  process::exec(ready, true);
  throw_sys(fmt::format("exec {}", ready.exe));
}

[[noreturn]] void run_child(const ChildContext& x) {
  process::run_child(*x.channel, "exec", 255, [&] { child_flow(x); });
}

int run_child_sharing_memory(void* x) { run_child(*static_cast<const ChildContext*>(x)); }

// Whether the child may share our memory until it executes: not when it
// joins a user or a time namespace (the kernel refuses a process that shares
// its memory), nor when it needs us awake before its execve: a seccomp
// listener gets the notify fd through us first, and a child frozen in a
// paused container's cgroups must not hold us past serve_child's timeout.
// Nor where the container's processes are given CAP_SYS_PTRACE: without a
// user namespace that lets them into a non-dumpable root process they see
// (docs/SECURITY.md, CVE-2016-9962), and our memory stays out of that reach.
bool child_can_share_memory(const spec::Config& c, const spec::Process& p, state::Status status,
                            const seccomp::Filter* filter) {
  return !c.has_namespace("user") && !c.has_namespace("time") && !(filter && filter->uses_notify()) &&
         status != state::Status::Paused && !(c.process && caps::grants(*c.process, CAP_SYS_PTRACE)) &&
         !caps::grants(p, CAP_SYS_PTRACE);
}

// ---- the parent after fork

// True once the channel is closed (the child's end went away at execve).
bool channel_closed(const sync::Channel& chan) {
  char b;
  ssize_t n;
  while ((n = recv(chan.fd(), &b, 1, MSG_PEEK)) < 0) {
    if (errno != EINTR) throw_sys("peek at sync socket");
  }
  return n == 0;
}

// Talks with the child until it execs; the console master is returned when
// it stays with us (foreground without --console-socket).
UniqueFd serve_child(const sync::Channel& chan, const ExecOptions& o, const Loaded& c, pid_t pid,
                     const seccomp::Filter* filter) {
  UniqueFd master;
  for (;;) {
    UniqueFd fd;
    // Bounded: a child stuck in a frozen cgroup must not hang exec.
    sync::Message m = chan.recv(&fd, sync::kChildMessageTimeoutMs);
    switch (m.type) {
      case sync::Msg::ConsoleFd:
        if (!o.console_socket.empty())
          console::send_to_socket(o.console_socket, fd.get(), m.text);
        else
          master = std::move(fd);
        break;
      case sync::Msg::SeccompFd:
        if (!filter) throw Error("process: sent a seccomp notify fd without a seccomp profile");
        seccomp::send_to_listener(*filter, fd.get(), pid, c.state_json(state::Status::Running));
        break;
      case sync::Msg::Ready:
        // execve comes next: the channel closes (CLOEXEC) or an Error follows.
        if (channel_closed(chan)) return master;
        break;
      case sync::Msg::Error:
        throw Error("process: " + m.text, m.err);  // the entering process's own failure, as "init:" for create
      default:
        throw Error(fmt::format("exec: unexpected message {}", static_cast<int>(m.type)));
    }
  }
}


// What the parent keeps once the process runs.
struct Started {
  pid_t pid = 0;
  UniqueFd master;  // the console master, when it stays with us
  UniqueFd signals;  // forwarded signals (foreground), blocked before the fork
};

// Everything up to the process's execve. The state, config and filter it
// loaded are freed on return, so exec frees them while the process runs,
// not after it exits (a page fault per heap page here; issue 18).
Started start_process(const ExecOptions& o) {
  Started started;
  // CVE-2016-9962: before any setns, so no container process can ptrace or
  // read /proc/<pid>/mem|environ|fd of us or the child (inherited by fork);
  // the final execve makes the container's process dumpable again.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_sys("prctl PR_SET_DUMPABLE 0");
  Loaded c = Loaded::open(o.root, o.id);
  state::Status status = c.status();
  {
    Step s("exec.status");
    switch (status) {
      case state::Status::Stopped: throw Error("cannot exec in a stopped container");
      case state::Status::Paused:
        if (!o.ignore_paused) throw Error("cannot exec in a paused container (use --ignore-paused to override)");
        break;
      default: break;
    }
  }
  if (c.extras.oci_config.is_null()) throw Error(fmt::format("{}: the container's config is missing", c.dir.path()));
  spec::Config config = spec::parse_config_object(std::move(c.extras.oci_config), c.st.bundle());
  spec::Process p = build_process(o, config);
  if (p.capabilities) caps::warn_unknown(p.capabilities->unknown);
  lsm::check_process(p, {o.apparmor.empty() ? "process.apparmorProfile" : "--apparmor",
                         o.process_label.empty() ? "process.selinuxLabel" : "--process-label"});
  if (p.terminal && o.detach && o.console_socket.empty())
    throw Error("cannot allocate tty if glassrun will detach without setting console socket");
  if (!p.terminal && !o.console_socket.empty())
    throw Error("cannot use console socket if glassrun will not detach or allocate tty");

  // --cgroup: checked before any process exists (as runc); joined at attach.
  std::unique_ptr<cgroups::Manager> sub_cgroups;
  if (!o.sub_cgroups.empty()) sub_cgroups = cgroups::from_state(cgroups::sub_cgroup_paths(c.cg->paths(), o.sub_cgroups), {});

  std::unique_ptr<seccomp::Filter> filter;
  if (const auto& sc = config.linux_section("seccomp"); !sc.is_null()) {
    Step s("exec.seccomp_compile");
    filter = seccomp::compile(sc);
  }

  pid_t init = c.st.init_pid;
  UniqueFd root_fd(open(fmt::format("/proc/{}/root", init).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw_sys(fmt::format("open /proc/{}/root", init));

  if (!o.detach) started.signals = block_forwarded_signals();  // before the process exists, so none is lost

  auto [parent_chan, child_chan] = sync::Channel::pair();
  // The child forked next is born in the container's pid namespace.
  NsJoin nss = join_pid_namespace(config, init);

  ChildContext x;
  x.config = &config;
  x.process = &p;
  x.namespaces = &nss;
  x.root_fd = root_fd.get();
  x.channel = &child_chan;
  x.seccomp = filter.get();
  x.preserve_fds = o.preserve_fds;
  x.keep_fds = {child_chan.fd(), root_fd.get()};
  if (nss.pidfd) x.keep_fds.push_back(nss.pidfd.get());
  for (const auto& ns : nss.fds) x.keep_fds.push_back(ns.fd.get());
  cgroups::Manager& target = sub_cgroups ? *sub_cgroups : *c.cg;
  cgroups::Placement placement = cgroups::open_placement(target.paths());
  for (int fd : placement.fds()) x.keep_fds.push_back(fd);
  x.placement = &placement;

  pid_t pid = -1;
  {
    Step s("exec.fork");
    if (child_can_share_memory(config, p, status, filter.get())) {
      x.await_continue = false;
      pid = cgroups::clone_into_sharing_memory(placement, run_child_sharing_memory, &x);  // after its execve
      x.await_continue = pid < 0;
    }
    if (pid < 0) {
      pid = cgroups::clone_into(0, placement);
      if (pid < 0) throw_sys("fork");
      if (pid == 0) run_child(x);
    }
  }
  child_chan.close();
  nss = NsJoin{};
  root_fd.reset();
  bool child_places_itself = !placement.empty();
  cgroups::close_all(placement);

  try {
    if (!child_places_itself) {
      Step s("exec.cgroup_attach");
      target.add_process(pid);
    }
    if (x.await_continue) parent_chan.send_unless_gone(sync::Msg::Continue);
    try {
      started.master = serve_child(parent_chan, o, c, pid, filter.get());
    } catch (const sync::PeerGone&) {
      throw process::silent_end(pid, "process", target, 0);
    }
  } catch (const Error& e) {
    kill_and_reap(pid);
    throw;
  }
  started.pid = pid;
  return started;
}

}  // namespace

int exec(const ExecOptions& o) {
  cloned_binary::ensure();  // CVE-2019-5736: the entering process must not be the host binary
  Started p = start_process(o);
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, p.pid);
  if (o.detach) return 0;
  return exit_code(supervise(p.pid, p.master ? p.master.get() : -1, p.signals.get()));
}

}  // namespace glassrun::container
