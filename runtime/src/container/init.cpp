// The init's flow, top-down in the order of the seeds' step lists.
#include "container/init.h"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/process.h"
#include "linux/console.h"
#include "linux/hooks.h"
#include "linux/inroot.h"
#include "linux/lsm.h"
#include "linux/namespaces.h"
#include "linux/rootfs.h"
#include "linux/sysctl.h"
#include "linux/timens.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/probes.h"

namespace glassrun::container {

namespace {

void join_namespaces(const spec::Config& c) {
  Step s("init.namespaces");
  // Joining a user namespace, `create`'s joiner did all the joins before our clone.
  if (!namespaces::joins_user(c)) namespaces::join_paths(c, false);
  // Unshared only now, after the parent moved us into our cgroup, so that the
  // container's cgroup is the root of its view.
  if (auto* cg = c.find_namespace("cgroup"); cg && cg->path.empty())
    if (unshare(CLONE_NEWCGROUP) != 0) throw_sys("unshare CLONE_NEWCGROUP");
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

// runc creates a missing cwd (0755) before the process starts. Resolved in
// the rootfs without magic links: a /proc/self/fd/N cwd is left alone here
// and refused by the cwd check.
void make_cwd(int root_fd, const std::string& cwd) {
  Step s("init.cwd");
  if (cwd == "/" || inroot::open_existing(root_fd, cwd) || errno != ENOENT) return;
  with_context(fmt::format("process.cwd {}", cwd),
               [&] { inroot::open_or_create(root_fd, cwd, inroot::Kind::Directory, 0755); });
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

void init_flow(const InitContext& ctx) {
  const spec::Config& c = *ctx.config;
  const spec::Process& p = *c.process;
  ::close(ctx.parent_channel->fd());  // by number: the Channel may be the parent's own memory
  if (ctx.placement && !ctx.placement->empty()) {
    Step s("init.cgroup_attach");
    cgroups::place_self(*ctx.placement);
  }
  if (!ctx.shares_memory) ctx.channel->expect(sync::Msg::Continue);
  UniqueFd time_offsets = timens::open_offsets(c);  // with the credentials we were cloned with
  if (c.has_namespace("user")) process::become_root_in_user_ns();
  join_namespaces(c);
  // Before anything forks (hooks): the offsets freeze when a process enters.
  timens::create(c, time_offsets.get());
  time_offsets.reset();
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
    hooks::run_all("createContainer", c.hooks.create_container, state_json, c.root_path);  // cwd: the rootfs, as runc
  }
  make_cwd(root_fd.get(), p.cwd);
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
  bool setgroups_allowed = !c.has_namespace("user") || c.find_namespace("user")->path.empty();
  // A rootless parent that wrote gid_map itself had to deny setgroups.
  if (std::string sg; setgroups_allowed && c.has_namespace("user") && fileio::read_file("/proc/self/setgroups", sg))
    setgroups_allowed = sg.rfind("deny", 0) != 0;
  // A missing executable or a refused cwd fails `create`, not the later `start` (as runc).
  process::Ready ready = process::finalize({&p, ctx.channel, ctx.seccomp, ctx.preserve_fds, setgroups_allowed, false});

  ctx.channel->send(sync::Msg::Ready);
  if (!ctx.shares_memory) wait_for_start(ctx.exec_fifo_fd);  // else run starts us now: no exec.fifo
  hooks::run_all("startContainer", c.hooks.start_container, state_json);
  process::exec(ready, false);
  // After Ready nobody reads the channel: say it on stderr, where engines look.
  int err = errno;
  dprintf(2, "glassrun: start: init: exec %s: %s\n", ready.exe.c_str(), errno_text(err).c_str());
  _exit(127);
}

}  // namespace

void run_init(const InitContext& ctx) {
  process::run_child(*ctx.channel, "init", 1, [&] { init_flow(ctx); });
}

}  // namespace glassrun::container
