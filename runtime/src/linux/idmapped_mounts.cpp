#include "linux/idmapped_mounts.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/mount_options.h"
#include "util/error.h"

namespace glassrun::idmapped {

namespace {

// A user namespace whose maps are the mount's: a helper child unshares it and
// waits while we write its maps and open /proc/<child>/ns/user.
UniqueFd userns_with_maps(const spec::Mount& m) {
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(hold, O_CLOEXEC) != 0) throw_sys("pipe");
  UniqueFd ready_r(ready[0]), ready_w(ready[1]), hold_r(hold[0]), hold_w(hold[1]);
  pid_t child = fork();
  if (child < 0) throw_sys("fork the idmap helper");
  if (child == 0) {
    // Our pid as /proc names it: /proc may be the host's while the init is
    // pid 1 of a new pid namespace, so fork()'s pid is not the one to use.
    char buf[32] = "n";
    ssize_t n = unshare(CLONE_NEWUSER) == 0 ? readlink("/proc/self", buf, sizeof buf - 1) : -1;
    if (n <= 0) n = 1, buf[0] = 'n';
    if (::write(ready_w.get(), buf, static_cast<size_t>(n)) != n) _exit(1);
    hold_w.reset();
    ::read(hold_r.get(), buf, 1);  // until the parent closes its end
    _exit(0);
  }
  ready_w.reset();
  hold_r.reset();
  auto reap = [&] {
    hold_w.reset();
    ::kill(child, SIGKILL);
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  try {
    char buf[32] = {};
    ssize_t n = ::read(ready_r.get(), buf, sizeof buf - 1);
    if (n <= 0 || buf[0] == 'n') throw Error("unshare CLONE_NEWUSER in the idmap helper (or no /proc)", EPERM);
    std::string proc_pid(buf, static_cast<size_t>(n));
    auto write_map = [&](const char* file, const std::vector<spec::IdMapping>& maps) {
      std::string text;
      for (const auto& mp : maps) text += fmt::format("{} {} {}\n", mp.container_id, mp.host_id, mp.size);
      std::string path = fmt::format("/proc/{}/{}", proc_pid, file);
      UniqueFd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!f || ::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw_sys(fmt::format("write {} ({})", file, file[0] == 'u' ? "uidMappings" : "gidMappings"));
    };
    write_map("uid_map", m.uid_mappings);
    write_map("gid_map", m.gid_mappings);
    UniqueFd ns(::open(fmt::format("/proc/{}/ns/user", proc_pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_sys("open the idmap helper's user namespace");
    reap();
    return ns;
  } catch (...) {
    reap();
    throw;
  }
}

std::string what(const spec::Mount& m, const std::string& source) {
  return fmt::format("mounts[{}] ({}): idmapped mount of {}", m.index, m.destination, source);
}

// A detached copy of the source, idmapped with mount_setattr(MOUNT_ATTR_IDMAP).
UniqueFd make_tree(const spec::Mount& m, const std::string& source) {
  unsigned rec = (mounts::parse_options(m.options).flags & MS_REC) ? AT_RECURSIVE : 0;
  UniqueFd tree(static_cast<int>(
      syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec)));
  if (!tree) throw_sys("open_tree");
  UniqueFd ns = userns_with_maps(m);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(ns.get());
  if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | rec, &attr, sizeof attr) != 0) {
    if (errno == EINVAL) throw Error("the filesystem does not support idmapped mounts", EINVAL);
    if (errno == EPERM) throw_sys("mount_setattr MOUNT_ATTR_IDMAP (needs privilege over the filesystem)");
    throw_sys("mount_setattr MOUNT_ATTR_IDMAP");
  }
  return tree;
}

}  // namespace

Trees prepare(const spec::Config& c) {
  Trees trees;
  for (const auto& m : c.mounts) {
    if (m.uid_mappings.empty() && m.gid_mappings.empty()) continue;
    std::string source = m.source[0] == '/' ? m.source : c.bundle + "/" + m.source;
    trees[m.index] = with_context(what(m, source), [&] { return make_tree(m, source); });
  }
  return trees;
}

std::map<size_t, int> fds_of(const Trees& trees) {
  std::map<size_t, int> out;
  for (const auto& [index, fd] : trees) out[index] = fd.get();
  return out;
}

void attach(int tree_fd, int target_fd, const spec::Mount& m) {
  UniqueFd tree(tree_fd);
  if (syscall(SYS_move_mount, tree.get(), "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_sys(fmt::format("{}: move_mount", what(m, m.source)));
}

}  // namespace glassrun::idmapped
