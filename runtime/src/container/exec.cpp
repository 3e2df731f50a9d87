// `exec`: the parent joins the container's pid namespace and forks once; the
// child waits until the parent moved it into the container's cgroups, joins
// the other namespaces (user first), takes the container's root, and becomes
// the process: terminal, limits, privileges, cwd, seccomp last, execve.
#include "container/exec.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <optional>

#include "container/loaded.h"
#include "container/supervise.h"
#include "linux/capabilities.h"
#include "linux/cloned_binary.h"
#include "linux/console.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/rlimits.h"
#include "linux/seccomp.h"
#include "linux/sync.h"
#include "linux/user.h"
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

// What the forked child needs; everything is prepared by the parent.
struct ChildContext {
  const spec::Config* config = nullptr;
  const spec::Process* process = nullptr;
  std::vector<NsFd>* namespaces = nullptr;  // user first; pid excluded (joined by the parent)
  int root_fd = -1;                         // O_PATH /proc/<init>/root
  sync::Channel* channel = nullptr;
  sync::Channel* parent_channel = nullptr;
  seccomp::Filter* seccomp = nullptr;
  int preserve_fds = 0;
  bool joins_user_ns = false;
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

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
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (o.tty) p.terminal = *o.tty;
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
  }
  for (unsigned g : o.additional_gids) p.user.additional_gids.push_back(g);
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& name : o.caps) {
      auto cap = caps::from_name(name);
      if (!cap) throw Error(fmt::format("--cap {}: unknown capability", name));
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

std::vector<NsFd> open_namespaces(const spec::Config& c, pid_t init, UniqueFd& pid_ns) {
  Step s("exec.open_namespaces");
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

void write_pid_file(const std::string& path, pid_t pid) {
  // Digits alone, no newline: containerd parses the file as an integer.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  std::string name = path.substr(path.rfind('/') + 1);
  UniqueFd d(open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!d) throw_sys(fmt::format("--pid-file {}: open {}", path, dir));
  fileio::write_atomic(d.get(), name, std::to_string(pid), 0644);
}

// ---- the child

void join_namespaces(const ChildContext& x) {
  Step s("exec.namespaces");
  for (auto& ns : *x.namespaces) {
    if (setns(ns.fd.get(), ns.flag) != 0) throw_sys(fmt::format("setns {}", ns.path));
    if (ns.flag == CLONE_NEWUSER) {
      // Become root of the container's user namespace, as the init did.
      if (setresgid(0, 0, 0) != 0) throw_sys("setresgid 0 in the container's user namespace");
      if (setresuid(0, 0, 0) != 0) throw_sys("setresuid 0 in the container's user namespace");
    }
    ns.fd.reset();
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

void load_seccomp(const ChildContext& x) {
  Step s("exec.seccomp");
  int notify_fd = x.seccomp->load();
  if (notify_fd >= 0) {
    x.channel->send(sync::Msg::SeccompFd, "", 0, notify_fd);
    ::close(notify_fd);
  }
}

bool setgroups_allowed() {
  std::string v;
  if (!fileio::read_file("/proc/self/setgroups", v)) return true;
  return v.rfind("deny", 0) != 0;
}

void child_flow(const ChildContext& x) {
  const spec::Process& p = *x.process;
  x.parent_channel->close();
  // Nothing of the user's runs before the parent moved us into the cgroups.
  x.channel->expect(sync::Msg::Continue);
  join_namespaces(x);
  enter_root(x);

  if (p.terminal) {
    // From the container's devpts: /dev/ptmx is the container's now.
    console::Pty pty = console::open_pty(p.console_height, p.console_width);
    x.channel->send(sync::Msg::ConsoleFd, pty.slave_name, 0, pty.master.get());
    pty.master.reset();
    console::attach_slave(pty);
  }
  if (p.oom_score_adj) fileio::write_file("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
  lsm::set_exec_labels(p);
  {
    Step s("exec.rlimits");
    rlimits::apply(p.rlimits);
  }
  if (p.user.umask) umask(*p.user.umask);
  unsigned first = 3 + static_cast<unsigned>(x.preserve_fds);
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) throw_sys("close_range");

  std::string exe = user::find_executable(p.args[0], p.env);
  if (x.seccomp && !p.no_new_privileges) load_seccomp(x);  // needs CAP_SYS_ADMIN
  {
    Step s("exec.capabilities");
    if (p.capabilities) {
      caps::drop_bounding(*p.capabilities);
      caps::keep_across_setuid();
    }
    user::switch_to(p.user, setgroups_allowed());
    if (p.capabilities) caps::apply_sets(*p.capabilities);
  }
  if (chdir(p.cwd.c_str()) != 0) throw_sys(fmt::format("chdir to cwd {} (process.cwd)", p.cwd));
  if (exe.empty()) {
    if (p.args[0].find('/') != std::string::npos)
      throw Error(fmt::format("exec: \"{}\": stat {}: no such file or directory", p.args[0], p.args[0]), ENOENT);
    throw Error(fmt::format("exec: \"{}\": executable file not found in $PATH", p.args[0]), ENOENT);
  }
  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_sys("prctl PR_SET_NO_NEW_PRIVS");
  if (x.seccomp && p.no_new_privileges) load_seccomp(x);

  auto argv = c_strings(p.args);
  auto envp = c_strings(p.env);
  x.channel->send(sync::Msg::Ready);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  GLASS_STEP_BEGIN("exec.execve");
  execve(exe.c_str(), argv.data(), envp.data());
  throw_sys(fmt::format("exec {}", exe));
}

[[noreturn]] void run_child(const ChildContext& x) {
  try {
    child_flow(x);
  } catch (const Error& e) {
    try {
      x.channel->send(sync::Msg::Error, e.what(), e.sys_errno());
    } catch (...) {
    }
  } catch (const std::exception& e) {
    try {
      x.channel->send(sync::Msg::Error, e.what(), 0);
    } catch (...) {
    }
  }
  _exit(255);
}

// ---- the parent after fork

// True once the channel is closed (the child's end went away at execve).
bool channel_closed(const sync::Channel& chan) {
  char b;
  ssize_t n;
  while ((n = recv(chan.fd(), &b, 1, MSG_PEEK)) < 0 && errno == EINTR) {
  }
  return n == 0;
}

// Talks with the child until it execs; the console master is returned when
// it stays with us (foreground without --console-socket).
UniqueFd serve_child(const sync::Channel& chan, const ExecOptions& o, const Loaded& c, pid_t pid) {
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
      case sync::Msg::SeccompFd: {
        auto sc = seccomp::compile(c.extras.oci_config["linux"]["seccomp"]);
        auto st = nlohmann::json::parse(c.state_json(state::Status::Running));
        st["pid"] = pid;
        seccomp::send_to_listener(sc->listener_path(), fd.get(), st.dump(), sc->listener_metadata());
        break;
      }
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


}  // namespace

int exec(const ExecOptions& o) {
  cloned_binary::ensure();  // CVE-2019-5736: the entering process must not be the host binary
  Loaded c = Loaded::open(o.root, o.id);
  {
    Step s("exec.status");
    switch (c.status()) {
      case state::Status::Stopped: throw Error("cannot exec in a stopped container");
      case state::Status::Paused:
        if (!o.ignore_paused) throw Error("cannot exec in a paused container (use --ignore-paused to override)");
        break;
      default: break;
    }
  }
  if (c.extras.oci_config.is_null()) throw Error(fmt::format("{}: the container's config is missing", c.dir.path()));
  spec::Config config = spec::parse_config(c.extras.oci_config.dump(), c.st.bundle());
  spec::Process p = build_process(o, config);
  lsm::check_process(p, {o.apparmor.empty() ? "process.apparmorProfile" : "--apparmor",
                         o.process_label.empty() ? "process.selinuxLabel" : "--process-label"});
  if (p.terminal && o.detach && o.console_socket.empty())
    throw Error("cannot allocate tty if glassrun will detach without setting console socket");
  if (!p.terminal && !o.console_socket.empty())
    throw Error("cannot use console socket if glassrun will not detach or allocate tty");

  std::unique_ptr<seccomp::Filter> filter;
  if (const auto& sc = config.linux_section("seccomp"); !sc.is_null()) {
    Step s("exec.seccomp_compile");
    filter = seccomp::compile(sc);
  }

  pid_t init = c.st.init_pid;
  UniqueFd pid_ns;
  std::vector<NsFd> nss = open_namespaces(config, init, pid_ns);
  UniqueFd root_fd(open(fmt::format("/proc/{}/root", init).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw_sys(fmt::format("open /proc/{}/root", init));

  // Block the forwarded signals before the process exists so none is lost;
  // the child unblocks them before execve.
  UniqueFd sfd;
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL, SIGSTOP}) sigdelset(&set, s);
  if (!o.detach) {
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_sys("sigprocmask SIG_BLOCK");
    sfd.reset(signalfd(-1, &set, SFD_CLOEXEC));
    if (!sfd) throw_sys("signalfd");
  }

  auto [parent_chan, child_chan] = sync::Channel::pair();
  if (pid_ns) {
    Step s("exec.pid_namespace");
    // Applies to the child forked next: it is born in the container's pid ns.
    if (setns(pid_ns.get(), CLONE_NEWPID) != 0) throw_sys(fmt::format("setns /proc/{}/ns/pid", init));
    pid_ns.reset();
  }

  ChildContext x;
  x.config = &config;
  x.process = &p;
  x.namespaces = &nss;
  x.root_fd = root_fd.get();
  x.channel = &child_chan;
  x.parent_channel = &parent_chan;
  x.seccomp = filter.get();
  x.preserve_fds = o.preserve_fds;
  x.joins_user_ns = config.has_namespace("user");

  pid_t pid;
  {
    Step s("exec.fork");
    pid = fork();
    if (pid < 0) throw_sys("fork");
    if (pid == 0) run_child(x);
  }
  child_chan.close();
  nss.clear();
  root_fd.reset();

  UniqueFd master;
  try {
    {
      Step s("exec.cgroup_attach");
      c.cg->add_process(pid);
    }
    parent_chan.send(sync::Msg::Continue);
    master = serve_child(parent_chan, o, c, pid);
  } catch (const Error& e) {
    kill_and_reap(pid);
    throw;
  }
  parent_chan.close();
  if (!o.pid_file.empty()) write_pid_file(o.pid_file, pid);
  if (o.detach) return 0;
  return exit_code(supervise(pid, master ? master.get() : -1, sfd.get()));
}

}  // namespace glassrun::container
