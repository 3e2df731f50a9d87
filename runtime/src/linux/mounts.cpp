#include "linux/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/idmapped_mounts.h"
#include "linux/inroot.h"
#include "linux/lsm.h"
#include "linux/mount_options.h"
#include "linux/tree_copy.h"
#include "util/error.h"

namespace glassrun::mounts {

namespace {

// The target is target_fd's directory, or `below` (one name) in it: a
// directory glassrun has just made in a tmpfs of its own, which nothing in
// the container can have replaced yet.
void do_mount(const std::string& source, int target_fd, const std::string& shown_target, const char* type,
              unsigned long flags, const std::string& data, const std::string& below = "") {
  std::string target = inroot::fd_path(target_fd);
  if (!below.empty()) target += "/" + below;
  if (::mount(source.c_str(), target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
    throw_sys(fmt::format("mount {} on {} (type {}, flags {}{}{})", source.empty() ? "none" : source, shown_target,
                          type ? type : "none", flags_text(flags), data.empty() ? "" : ", data ", data));
}

// Flags that a bind mount can only get with a second, remounting call.
constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                                       MS_RELATIME | MS_STRICTATIME;

// mount_setattr(AT_RECURSIVE) of the mount of fd and every mount below it;
// false with errno if refused.
bool setattr_recursive(int fd, unsigned long long set, unsigned long long clr) {
  mount_attr attr{};
  attr.attr_set = set;
  attr.attr_clr = clr;
  return syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0;
}

void apply_propagation_and_attrs(int fd, const std::string& dest, const ParsedOptions& o) {
  for (unsigned long p : o.propagation)
    if (::mount(nullptr, inroot::fd_path(fd).c_str(), nullptr, p, nullptr) != 0)
      throw_sys(fmt::format("set propagation {} on {}", flags_text(p), dest));
  if ((o.attr_set || o.attr_clr) && !setattr_recursive(fd, o.attr_set, o.attr_clr))
    throw_sys(fmt::format("mount_setattr {} (recursive options)", dest));
}

// The per-mount flags of MS_* `flags` (those a bind remount sets) on the
// mount of fd and every mount below it. False with errno if refused.
bool set_attrs_below(int fd, unsigned long flags) {
  unsigned long long set = 0, clr = 0;
  for (auto [ms, at] : {std::pair{MS_RDONLY, MOUNT_ATTR_RDONLY}, {MS_NOSUID, MOUNT_ATTR_NOSUID},
                        {MS_NODEV, MOUNT_ATTR_NODEV}, {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                        {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}})
    if (flags & ms) set |= at;
  // One access-time mode, as a remount with it sets.
  if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
    clr |= MOUNT_ATTR__ATIME;
    set |= (flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME
                                                                               : MOUNT_ATTR_RELATIME;
  }
  return setattr_recursive(fd, set, clr);
}

// move_mount of a detached tree (open_bind_sources) onto target_fd; the tree fd is closed.
void attach_tree(int tree_fd, int target_fd, const std::string& what) {
  UniqueFd tree(tree_fd);
  if (syscall(SYS_move_mount, tree.get(), "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_sys(fmt::format("{}: move_mount", what));
}

// Where fd (`what`, for errors) is, as this process sees it (the rootfs is
// not pivoted yet).
std::string real_path(int fd, const std::string& what) {
  char buf[PATH_MAX];
  ssize_t n = readlink(inroot::fd_path(fd).c_str(), buf, sizeof buf - 1);
  if (n < 0) throw_sys(fmt::format("where {} resolves: readlink {}", what, inroot::fd_path(fd)));
  return std::string(buf, static_cast<size_t>(n));
}

// runc 1.1.5's checkProcMount, for binds and every type but proc, sysfs,
// mqueue, tmpfs and cgroup: nothing may be mounted inside the container's
// /proc, where it could cover what masking and the LSMs rely on (a bind
// over /proc/self/attr/exec would keep the process from its AppArmor or
// SELinux label, CVE-2019-19921), except on the few files lxcfs emulates;
// on /proc itself only a procfs (source_is_proc, asked only then). The
// target is taken where it resolved to, symlinks followed inside the rootfs.
template <typename SourceIsProc>
void check_proc_mount(int root_fd, int target_fd, const spec::Mount& m, SourceIsProc source_is_proc) {
  static constexpr const char* kAllowed[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",
                                             "/proc/stat",    "/proc/swaps",     "/proc/uptime",
                                             "/proc/loadavg", "/proc/slabinfo",  "/proc/net/dev",
                                             "/proc/sys/kernel/ns_last_pid"};
  std::string target = real_path(target_fd, "mount target " + m.destination);
  if (target.find("/proc") == std::string::npos) return;  // the usual case: one readlink
  std::string root = real_path(root_fd, "the rootfs");
  if (root == "/") root.clear();
  if (target.compare(0, root.size(), root) != 0) return;  // not under the rootfs: not ours to judge
  std::string in_root = target.substr(root.size());
  if (in_root == "/proc") {
    if (source_is_proc()) return;
    throw Error(fmt::format("mount {} on {}: \"{}\" cannot be mounted because it is not of type proc", m.source,
                            m.destination, in_root));
  }
  if (in_root.rfind("/proc/", 0) != 0) return;
  for (const char* allowed : kAllowed)
    if (in_root == allowed) return;
  throw Error(fmt::format("mount {} on {}: \"{}\" cannot be mounted because it is inside /proc",
                          m.source.empty() ? m.type : m.source, m.destination, in_root));
}

bool on_procfs(int fd_or_minus_one, const std::string& path) {
  struct statfs sf;
  int r = fd_or_minus_one >= 0 ? fstatfs(fd_or_minus_one, &sf) : statfs(path.c_str(), &sf);
  return r == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

std::string bind_source_path(const spec::Mount& m, const std::string& bundle) {
  return m.source[0] == '/' ? m.source : bundle + "/" + m.source;
}

void bind_mount(int root_fd, const spec::Mount& m, const ParsedOptions& o, const MountContext& ctx) {
  std::string source = bind_source_path(m, ctx.bundle);
  struct stat st;
  auto tree = ctx.bind_sources.find(m.index);
  if (tree != ctx.bind_sources.end() ? fstat(tree->second, &st) != 0 : stat(source.c_str(), &st) != 0)
    throw_sys(fmt::format("bind source {} for {}", source, m.destination));
  auto kind = S_ISDIR(st.st_mode) ? inroot::Kind::Directory : inroot::Kind::File;
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, kind);
  check_proc_mount(root_fd, target.get(), m,
                   [&] { return on_procfs(tree != ctx.bind_sources.end() ? tree->second : -1, source); });
  if (!m.uid_mappings.empty() || !m.gid_mappings.empty())
    idmapped::attach(ctx.idmapped_trees.at(m.index), target.get(), m);
  else if (tree != ctx.bind_sources.end())
    attach_tree(tree->second, target.get(), fmt::format("bind {} on {}", source, m.destination));
  else
    // Unknown options ride along as data, which the kernel ignores for a bind (as runc).
    do_mount(source, target.get(), m.destination, nullptr, MS_BIND | (o.flags & MS_REC), o.data);
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
  std::string::size_type slash = m.destination.rfind('/');
  // Right below the root (/proc, /sys): looked at from the root's own fd.
  UniqueFd parent;
  if (slash != 0) {
    parent = inroot::open_existing(root_fd, m.destination.substr(0, slash + 1));
    if (!parent) return;
  }
  std::string name = m.destination.substr(slash + 1);
  struct stat st;
  if (fstatat(parent ? parent.get() : root_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
    throw Error(fmt::format("mount {} on {}: filesystem \"{}\" must be mounted on ordinary directory (a symlink?)",
                            m.type, m.destination, m.type));
}

// One v1/hybrid hierarchy in a cgroup namespace (made or joined by path), as
// runc's mountCgroupV1: mounted afresh from inside the namespace, so its root
// is the namespace's root. A bind of the container's cgroup would show it
// below that root in a joined namespace (mountinfo root=/<id>).
void mount_hierarchy_in_cgroup_ns(int target_fd, const std::string& dest, const std::string& hierarchy,
                                  unsigned long flags) {
  if (hierarchy == "unified") return do_mount("cgroup2", target_fd, dest, "cgroup2", flags, "");
  // runc's one named hierarchy: source "systemd", data name=systemd
  bool systemd = hierarchy == "systemd";
  do_mount(systemd ? "systemd" : "cgroup", target_fd, dest, "cgroup", flags, systemd ? "name=systemd" : hierarchy);
}

// A "cgroup" mount: cgroup2 in a cgroup namespace; otherwise what runc does on
// v1/hybrid: a tmpfs with each hierarchy's container cgroup bound into it
// (in a cgroup namespace: each hierarchy mounted from inside it).
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
  do_mount("tmpfs", target.get(), m.destination, "tmpfs", o.flags & ~MS_RDONLY,
           lsm::with_mount_label("mode=755", ctx.mount_label));
  // The hierarchy directories are made in the tmpfs just mounted, relative to
  // its fd: one component each, from the host's mount table, no link followed
  // (O_NOFOLLOW), so no lookup from the rootfs' top is needed per hierarchy.
  // (`tmpfs` is opened after the mount: it names the tmpfs, not what it covers.)
  UniqueFd tmpfs = inroot::open_with(root_fd, m.destination, O_PATH | O_DIRECTORY);
  if (!tmpfs) throw_sys(fmt::format("open {} after mounting tmpfs", m.destination));
  auto open_sub = [&](const std::string& name, const std::string& dest) {
    UniqueFd fd(openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_sys(fmt::format("open {} in rootfs", dest));
    return fd;
  };
  std::vector<std::pair<std::string, std::string>> bound;  // hierarchy, destination
  for (const auto& [controller, host_path] : ctx.cgroup_paths) {
    const std::string prefix = "/sys/fs/cgroup/";
    if (host_path.rfind(prefix, 0) != 0) continue;
    std::string hierarchy = host_path.substr(prefix.size(), host_path.find('/', prefix.size()) - prefix.size());
    std::string dest = m.destination + "/" + hierarchy;
    if (mkdirat(tmpfs.get(), hierarchy.c_str(), 0755) != 0 && errno != EEXIST)
      throw_sys(fmt::format("create {} in rootfs", dest));
    if (ctx.cgroup_ns) {
      mount_hierarchy_in_cgroup_ns(open_sub(hierarchy, dest).get(), dest, hierarchy, o.flags & kRemountable);
      continue;
    }
    // Named below the tmpfs' fd: no open and close per hierarchy.
    do_mount(host_path, tmpfs.get(), dest, nullptr, MS_BIND | MS_REC, "", hierarchy);
    bound.emplace_back(hierarchy, dest);
  }
  // The binds take the mount's flags (ro, nosuid, ...) all at once: one
  // mount_setattr over the tmpfs and everything under it, where runc remounts
  // each bind (two system calls per hierarchy, each taking the kernel's
  // global mount lock). A kernel before 5.12 gets the remounts.
  if (!bound.empty() && (o.flags & kRemountable) && !set_attrs_below(tmpfs.get(), o.flags)) {
    if (errno != ENOSYS && errno != EINVAL) throw_sys(fmt::format("mount_setattr {} (its cgroup binds)", m.destination));
    for (const auto& [hierarchy, dest] : bound)  // opened again: each fd names the directory under its bind
      do_mount("", open_sub(hierarchy, dest).get(), dest, nullptr, MS_BIND | MS_REMOUNT | (o.flags & kRemountable), "");
  }
  if (o.flags & MS_RDONLY)
    do_mount("", tmpfs.get(), m.destination, nullptr, MS_REMOUNT | (o.flags & kRemountable), "mode=755");
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

std::map<size_t, UniqueFd> open_bind_sources(const spec::Config& c) {
  std::map<size_t, UniqueFd> out;
  // Only for a user namespace (as runc): elsewhere the init, real root, binds them itself.
  if (!c.has_namespace("user")) return out;
  for (const auto& m : c.mounts) {
    unsigned long flags = parse_options(m.options).flags;
    if (!(flags & MS_BIND) || !m.uid_mappings.empty()) continue;
    std::string source = bind_source_path(m, c.bundle);
    // A detached copy: an fd of the source itself could not be bound from the
    // init's mount namespace (EINVAL); a detached tree can be moved there.
    UniqueFd tree(static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & MS_REC) ? AT_RECURSIVE : 0))));
    if (!tree && errno == EPERM) continue;  // rootless: no clone outside the user namespace; the init binds the path
    if (!tree) throw_sys(fmt::format("bind source {} for {}", source, m.destination));
    out.emplace(m.index, std::move(tree));
  }
  return out;
}

void mount_entry(int root_fd, const spec::Mount& m, const MountContext& ctx) {
  ParsedOptions o = parse_options(m.options);
  if (o.flags & MS_BIND) return bind_mount(root_fd, m, o, ctx);
  // A read-only /dev is filled first (nodes, /dev/pts, links, the console):
  // rootfs::finalize makes it read-only at the end, as runc does.
  if (m.destination == "/dev") o.flags &= ~MS_RDONLY;
  if (m.type == "cgroup") return cgroup_mount(root_fd, m, o, ctx);
  if (m.type == "proc" || m.type == "sysfs") check_plain_directory(root_fd, m);
  if (m.type == "tmpfs" && o.tmpcopyup) return tmpfs_copyup(root_fd, m, o);
  UniqueFd target = inroot::open_or_create(root_fd, m.destination, inroot::Kind::Directory);
  if (m.type != "proc" && m.type != "sysfs" && m.type != "mqueue" && m.type != "tmpfs")
    check_proc_mount(root_fd, target.get(), m, [] { return true; });  // runc lets any such type onto /proc itself
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
  if (m.type != "sysfs" || !ctx.user_ns) {
    std::string data = lsm::takes_mount_label(m) ? lsm::with_mount_label(o.data, ctx.mount_label) : o.data;
    do_mount(m.source.empty() ? m.type : m.source, target.get(), m.destination, m.type.c_str(), o.flags, data);
  }
  if (!o.propagation.empty() || o.attr_set || o.attr_clr) {
    UniqueFd mounted = inroot::open_existing(root_fd, m.destination);
    apply_propagation_and_attrs(mounted.get(), m.destination, o);
  }
}

}  // namespace glassrun::mounts
