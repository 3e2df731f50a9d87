#include "linux/mounts.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/inroot.h"
#include "linux/mount_options.h"
#include "linux/tree_copy.h"
#include "util/error.h"

namespace glassrun::mounts {

namespace {

void do_mount(const std::string& source, int target_fd, const std::string& shown_target, const char* type,
              unsigned long flags, const std::string& data) {
  std::string target = inroot::fd_path(target_fd);
  if (::mount(source.c_str(), target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
    throw_sys(fmt::format("mount {} on {} (type {}, flags {}{}{})", source.empty() ? "none" : source, shown_target,
                          type ? type : "none", flags_text(flags), data.empty() ? "" : ", data ", data));
}

// Flags that a bind mount can only get with a second, remounting call.
constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                                       MS_RELATIME | MS_STRICTATIME;

void apply_propagation_and_attrs(int fd, const std::string& dest, const ParsedOptions& o) {
  for (unsigned long p : o.propagation)
    if (::mount(nullptr, inroot::fd_path(fd).c_str(), nullptr, p, nullptr) != 0)
      throw_sys(fmt::format("set propagation {} on {}", flags_text(p), dest));
  if (o.attr_set || o.attr_clr) {
    mount_attr attr{};
    attr.attr_set = o.attr_set;
    attr.attr_clr = o.attr_clr;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      throw_sys(fmt::format("mount_setattr {} (recursive options)", dest));
  }
}

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

// runtime-spec 1.1 mounts[].uidMappings/gidMappings: a detached copy of the
// source, idmapped with mount_setattr(MOUNT_ATTR_IDMAP), moved onto the target.
void idmapped_bind(const std::string& source, int target_fd, const spec::Mount& m, const ParsedOptions& o) {
  std::string what = fmt::format("mounts[{}] ({}): idmapped mount of {}", m.index, m.destination, source);
  try {
    unsigned rec = (o.flags & MS_REC) ? AT_RECURSIVE : 0;
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
    if (syscall(SYS_move_mount, tree.get(), "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
      throw_sys("move_mount");
  } catch (const Error& e) {
    throw Error(what + ": " + e.what(), e.sys_errno());
  }
}

void bind_mount(int root_fd, const spec::Mount& m, const ParsedOptions& o, const MountContext& ctx) {
  std::string source = m.source[0] == '/' ? m.source : ctx.bundle + "/" + m.source;
  struct stat st;
  if (stat(source.c_str(), &st) != 0) throw_sys(fmt::format("bind source {} for {}", source, m.destination));
  auto kind = S_ISDIR(st.st_mode) ? inroot::Kind::Directory : inroot::Kind::File;
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, kind);
  if (!m.uid_mappings.empty() || !m.gid_mappings.empty())
    idmapped_bind(source, target.get(), m, o);
  else
    do_mount(source, target.get(), m.destination, nullptr, MS_BIND | (o.flags & MS_REC), "");
  if (o.flags & kRemountable) {
    // Reopen: the fd above names the directory under the new mount.
    UniqueFd mounted = inroot::open_existing(root_fd, m.destination);
    if (!mounted) throw_sys(fmt::format("open {} after bind", m.destination));
    do_mount("", mounted.get(), m.destination, nullptr, MS_BIND | MS_REMOUNT | (o.flags & ~MS_REC), "");
    apply_propagation_and_attrs(mounted.get(), m.destination, o);
    return;
  }
  UniqueFd mounted = inroot::open_existing(root_fd, m.destination);
  apply_propagation_and_attrs(mounted.get(), m.destination, o);
}

// A real procfs or sysfs must land on a real directory: a symlink there would
// move the mount and the later masking somewhere else (CVE-2019-16884).
void check_plain_directory(int root_fd, const spec::Mount& m) {
  UniqueFd parent = inroot::open_existing(root_fd, m.destination.substr(0, m.destination.rfind('/') + 1));
  if (!parent) return;
  std::string name = m.destination.substr(m.destination.rfind('/') + 1);
  struct stat st;
  if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
    throw Error(fmt::format("mount {} on {}: destination is not a directory (a symlink?)", m.type, m.destination));
}

// A "cgroup" mount: cgroup2 in a cgroup namespace; otherwise what runc does on
// v1/hybrid: a tmpfs with each hierarchy's container cgroup bound into it.
void cgroup_mount(int root_fd, const spec::Mount& m, const ParsedOptions& o, const MountContext& ctx) {
  bool unified_only = ctx.cgroup_paths.size() == 1 && ctx.cgroup_paths.count("");
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, inroot::Kind::Directory);
  if (unified_only) {
    if (ctx.cgroup_ns) {
      do_mount("cgroup2", target.get(), m.destination, "cgroup2", o.flags, "");
    } else {
      do_mount(ctx.cgroup_paths.at(""), target.get(), m.destination, nullptr, MS_BIND | MS_REC, "");
      UniqueFd again = inroot::open_existing(root_fd, m.destination);
      do_mount("", again.get(), m.destination, nullptr, MS_BIND | MS_REMOUNT | (o.flags & kRemountable), "");
    }
    return;
  }
  do_mount("tmpfs", target.get(), m.destination, "tmpfs", o.flags & ~MS_RDONLY, "mode=755");
  for (const auto& [controller, host_path] : ctx.cgroup_paths) {
    const std::string prefix = "/sys/fs/cgroup/";
    if (host_path.rfind(prefix, 0) != 0) continue;
    std::string hierarchy = host_path.substr(prefix.size(), host_path.find('/', prefix.size()) - prefix.size());
    std::string dest = m.destination + "/" + hierarchy;
    UniqueFd sub = inroot::open_or_create(root_fd, dest, inroot::Kind::Directory);
    do_mount(host_path, sub.get(), dest, nullptr, MS_BIND | MS_REC, "");
    UniqueFd again = inroot::open_existing(root_fd, dest);
    do_mount("", again.get(), dest, nullptr, MS_BIND | MS_REMOUNT | (o.flags & kRemountable), "");
  }
  if (o.flags & MS_RDONLY) {
    UniqueFd again = inroot::open_existing(root_fd, m.destination);
    do_mount("", again.get(), m.destination, nullptr, MS_REMOUNT | (o.flags & kRemountable), "mode=755");
  }
}

// "tmpcopyup" (podman, containerd): the new tmpfs starts with what the
// directory it covers held. runc mounts on a temporary directory, copies and
// moves the mount; an fd opened before the mount reaches the covered
// directory just as well, without a temporary path on the host.
void tmpfs_copyup(int root_fd, const spec::Mount& m, const ParsedOptions& o) {
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, inroot::Kind::Directory);
  UniqueFd covered(::open(inroot::fd_path(target.get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!covered) throw_sys(fmt::format("open {} to copy it up", m.destination));
  // Read-only after the copy, or the copy could not be written.
  do_mount(m.source.empty() ? m.type : m.source, target.get(), m.destination, m.type.c_str(), o.flags & ~MS_RDONLY,
           o.data);
  UniqueFd mounted_path = inroot::open_existing(root_fd, m.destination);
  if (!mounted_path) throw_sys(fmt::format("open {} after mounting tmpfs", m.destination));
  UniqueFd mounted(::open(inroot::fd_path(mounted_path.get()).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mounted) throw_sys(fmt::format("open {} after mounting tmpfs", m.destination));
  with_context(fmt::format("copy up {} into its tmpfs", m.destination),
               [&] { tree_copy::copy_contents(covered.get(), mounted.get()); });
  if (o.flags & MS_RDONLY)
    do_mount("", mounted_path.get(), m.destination, nullptr, MS_REMOUNT | (o.flags & kRemountable), o.data);
  apply_propagation_and_attrs(mounted_path.get(), m.destination, o);
}

}  // namespace

void mount_entry(int root_fd, const spec::Mount& m, const MountContext& ctx) {
  ParsedOptions o = parse_options(m.options);
  if (o.flags & MS_BIND) return bind_mount(root_fd, m, o, ctx);
  if (m.type == "cgroup") return cgroup_mount(root_fd, m, o, ctx);
  if (m.type == "proc" || m.type == "sysfs") check_plain_directory(root_fd, m);
  if (m.type == "tmpfs" && o.tmpcopyup) return tmpfs_copyup(root_fd, m, o);
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, inroot::Kind::Directory);
  if (m.type == "sysfs" && ctx.user_ns &&
      ::mount("sysfs", inroot::fd_path(target.get()).c_str(), "sysfs", o.flags, o.data.empty() ? nullptr : o.data.c_str()) != 0) {
    // A user namespace without its own network namespace may not mount sysfs:
    // bind the host's /sys instead, as runc does (rbind, then its flags).
    if (errno != EPERM) throw_sys(fmt::format("mount sysfs on {}", m.destination));
    do_mount("/sys", target.get(), m.destination, nullptr, MS_BIND | MS_REC, "");
    UniqueFd again = inroot::open_existing(root_fd, m.destination);
    if (!again) throw_sys(fmt::format("open {} after binding /sys", m.destination));
    do_mount("", again.get(), m.destination, nullptr, MS_BIND | MS_REMOUNT | (o.flags & kRemountable), "");
    return;
  }
  if (m.type != "sysfs" || !ctx.user_ns)
    do_mount(m.source.empty() ? m.type : m.source, target.get(), m.destination, m.type.c_str(), o.flags, o.data);
  if (!o.propagation.empty() || o.attr_set || o.attr_clr) {
    UniqueFd mounted = inroot::open_existing(root_fd, m.destination);
    apply_propagation_and_attrs(mounted.get(), m.destination, o);
  }
}

}  // namespace glassrun::mounts
