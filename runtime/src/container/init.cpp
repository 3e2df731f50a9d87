// The init's flow, top-down in the order of the seeds' step lists.
#include "container/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "linux/capabilities.h"
#include "linux/console.h"
#include "linux/hooks.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/rlimits.h"
#include "linux/rootfs.h"
#include "linux/sysctl.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/probes.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace glassrun::container {

namespace {

void join_namespaces(const spec::Config& c) {
  Step s("init.namespaces");
  // The user namespace first: it decides what the others may do.
  if (auto* u = c.find_namespace("user"); u && !u->path.empty()) namespaces::join(u->path, CLONE_NEWUSER);
  for (const auto& ns : c.namespaces) {
    if (ns.path.empty() || ns.type == "user" || ns.type == "pid") continue;
    namespaces::join(ns.path, namespaces::by_config_name(ns.type)->clone_flag);
  }
  // Unshared only now, after the parent moved us into our cgroup, so that the
  // container's cgroup is the root of its view.
  if (auto* cg = c.find_namespace("cgroup"); cg && cg->path.empty())
    if (unshare(CLONE_NEWCGROUP) != 0) throw_sys("unshare CLONE_NEWCGROUP");
  if (auto* t = c.find_namespace("time"); t && t->path.empty())
    if (unshare(CLONE_NEWTIME) != 0) throw_sys("unshare CLONE_NEWTIME");
}

void become_root_in_user_ns(const spec::Config& c) {
  if (!c.has_namespace("user")) return;
  if (setresgid(0, 0, 0) != 0) throw_sys("setresgid 0 in the user namespace");
  if (setresuid(0, 0, 0) != 0) throw_sys("setresuid 0 in the user namespace");
}

void set_names(const spec::Config& c) {
  Step s("init.hostname");
  if (!c.hostname.empty() && sethostname(c.hostname.data(), c.hostname.size()) != 0)
    throw_sys(fmt::format("sethostname {}", c.hostname));
  if (c.domainname && setdomainname(c.domainname->data(), c.domainname->size()) != 0)
    throw_sys(fmt::format("setdomainname {}", *c.domainname));
}

void join_session_keyring(const std::string& id) {
  std::string name = "_ses." + id;
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS)
    throw_sys("keyctl join session keyring");
}

void set_oom_score_adj(const spec::Process& p) {
  if (!p.oom_score_adj) return;
  fileio::write_file("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
}

// Only fds 0-2 and the preserved ones reach the container process
// (CVE-2016-9962, CVE-2024-21626): everything else is closed at execve.
void mark_fds_cloexec(int preserve_fds) {
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) throw_sys("close_range");
}

void change_to_cwd(const std::string& cwd) {
  if (chdir(cwd.c_str()) != 0) throw_sys(fmt::format("chdir to cwd {} (process.cwd)", cwd));
  // A cwd reached through a leaked host fd shows as "(unreachable)".
  char buf[4096];
  if (!getcwd(buf, sizeof buf)) throw_sys(fmt::format("getcwd after chdir {}", cwd));
  if (buf[0] != '/') throw Error(fmt::format("process.cwd {} resolves outside the container", cwd));
}

// Privileges: bounding set, user, then the other capability sets (runc's
// finalizeNamespace order).
void drop_privileges(const spec::Process& p, bool setgroups_allowed) {
  Step s("init.capabilities");
  if (p.capabilities) {
    caps::drop_bounding(*p.capabilities);
    caps::keep_across_setuid();
  }
  user::switch_to(p.user, setgroups_allowed);
  if (p.capabilities) caps::apply_sets(*p.capabilities);
}

void load_seccomp(const InitContext& ctx) {
  Step s("init.seccomp");
  int notify_fd = ctx.seccomp->load();
  if (notify_fd >= 0) {
    ctx.channel->send(sync::Msg::SeccompFd, "", 0, notify_fd);
    ::close(notify_fd);
  }
}

// Blocks until `start` opens exec.fifo for reading. The write end stays open
// (close-on-exec) so `start` sees EOF exactly when the user process has been
// executed, and runs poststart hooks after it, as the runtime-spec orders.
void wait_for_start(int fifo_fd) {
  Step s("init.wait_start");
  int fd = open(fmt::format("/proc/self/fd/{}", fifo_fd).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_sys("open exec.fifo");
  if (write(fd, "0", 1) != 1) throw_sys("write exec.fifo");
  ::close(fifo_fd);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void init_flow(const InitContext& ctx) {
  const spec::Config& c = *ctx.config;
  const spec::Process& p = *c.process;
  ctx.parent_channel->close();
  ctx.channel->expect(sync::Msg::Continue);
  become_root_in_user_ns(c);
  join_namespaces(c);
  if (!ctx.no_new_keyring) join_session_keyring(ctx.id);
  set_names(c);
  set_oom_score_adj(p);

  mounts::MountContext mctx{c.bundle, ctx.cgroup_paths, c.has_namespace("cgroup"), c.has_namespace("user"),
                            lsm::effective_mount_label(c), ctx.idmapped_trees, ctx.bind_sources};
  UniqueFd root_fd = rootfs::prepare(c, mctx);

  std::string state_json;
  if (ctx.wants_hooks) {
    ctx.channel->send(sync::Msg::HooksRequest);
    state_json = ctx.channel->expect(sync::Msg::HooksDone).text;
    hooks::run_all("createContainer", c.hooks.create_container, state_json);
  }
  rootfs::enter(c, root_fd.get(), ctx.no_pivot);
  root_fd.reset();

  if (p.terminal) {
    console::Pty pty = console::open_pty(p.console_height, p.console_width);
    // Without a mount namespace the bind would land in the host's.
    if (c.has_namespace("mount")) with_context("process.terminal", [&] { console::bind_dev_console(pty); });
    ctx.channel->send(sync::Msg::ConsoleFd, pty.slave_name, 0, pty.master.get());
    console::attach_slave(pty);
  }
  sysctl::apply(c.sysctl);
  rootfs::protect_paths(c);
  rootfs::finalize(c);
  if (p.user.umask) umask(*p.user.umask);
  mark_fds_cloexec(ctx.preserve_fds);

  std::vector<std::string> env = p.env;
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
    env.push_back("HOME=" + user::home_dir(p.user.uid));
  // A missing executable fails `create`, not the later `start` (as runc).
  std::string exe = user::find_executable(p.args[0], env);
  rlimits::apply(p.rlimits);
  lsm::set_exec_labels(p);  // as runc: before seccomp, the capability drop and no_new_privs
  if (ctx.seccomp && !p.no_new_privileges) load_seccomp(ctx);  // needs CAP_SYS_ADMIN
  bool setgroups_allowed = !c.has_namespace("user") || c.find_namespace("user")->path.empty();
  // A rootless parent that wrote gid_map itself had to deny setgroups.
  if (std::string sg; setgroups_allowed && c.has_namespace("user") && fileio::read_file("/proc/self/setgroups", sg))
    setgroups_allowed = sg.rfind("deny", 0) != 0;
  drop_privileges(p, setgroups_allowed);
  change_to_cwd(p.cwd);
  if (exe.empty()) {
    if (p.args[0].find('/') != std::string::npos)
      throw Error(fmt::format("exec: \"{}\": stat {}: no such file or directory", p.args[0], p.args[0]), ENOENT);
    throw Error(fmt::format("exec: \"{}\": executable file not found in $PATH", p.args[0]), ENOENT);
  }
  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_sys("prctl PR_SET_NO_NEW_PRIVS");
  if (ctx.seccomp && p.no_new_privileges) load_seccomp(ctx);

  ctx.channel->send(sync::Msg::Ready);
  wait_for_start(ctx.exec_fifo_fd);
  hooks::run_all("startContainer", c.hooks.start_container, state_json);

  auto argv = c_strings(p.args);
  auto envp = c_strings(env);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  GLASS_STEP_BEGIN("init.exec");
  execve(exe.c_str(), argv.data(), envp.data());
  // After Ready nobody reads the channel: say it on stderr, where engines look.
  int err = errno;
  dprintf(2, "glassrun: start: init: exec %s: %s\n", exe.c_str(), errno_text(err).c_str());
  _exit(127);
}

}  // namespace

void run_init(const InitContext& ctx) {
  try {
    init_flow(ctx);
  } catch (const sync::PeerGone&) {
    // The parent failed first (a hook, a cgroup write) and reports that itself.
  } catch (const Error& e) {
    try {
      ctx.channel->send(sync::Msg::Error, e.what(), e.sys_errno());
    } catch (...) {
      // The channel is gone or refused (a seccomp filter without sendmsg):
      // say it on stderr rather than exit without a word.
      dprintf(2, "glassrun: init: %s\n", e.what());
    }
  } catch (const std::exception& e) {
    try {
      ctx.channel->send(sync::Msg::Error, e.what(), 0);
    } catch (...) {
      dprintf(2, "glassrun: init: %s\n", e.what());
    }
  }
  _exit(1);
}

}  // namespace glassrun::container
