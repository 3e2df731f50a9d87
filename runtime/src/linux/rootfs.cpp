#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <limits.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "linux/cgroups_paths.h"
#include "linux/devices.h"
#include "linux/inroot.h"
#include "linux/lsm.h"
#include "linux/mount_options.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/probes.h"

namespace glassrun::rootfs {

namespace {

// Before the rootfs is bound: rslave (runc's default), so host mount events
// still reach the container and nothing flows back; rprivate when
// linux.rootfsPropagation asks for private or unbindable. Never shared or
// unbindable here: the bind of the rootfs and pivot_root refuse those
// (EINVAL); apply_root_propagation sets them once "/" is the rootfs (as crun).
void set_root_propagation(const spec::Config& c) {
  unsigned long flags = MS_SLAVE | MS_REC;
  if (!c.rootfs_propagation.empty() && (*mounts::propagation_flag(c.rootfs_propagation) & (MS_PRIVATE | MS_UNBINDABLE)))
    flags = MS_PRIVATE | MS_REC;
  if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0)
    throw_sys(fmt::format("mount / propagation {}", mounts::flags_text(flags)));
}

// linux.rootfsPropagation on the container's "/": shared makes a new peer
// group (of this mount namespace only), slave keeps receiving from the host,
// private and unbindable receive nothing. Recursive, but unbindable only on
// "/" itself ("the rootfs mount ... cannot be bind-mounted"): the mounts
// below stay private so that readonlyPaths can still be bound.
void apply_root_propagation(const spec::Config& c) {
  if (c.rootfs_propagation.empty()) return;
  unsigned long flags = *mounts::propagation_flag(c.rootfs_propagation);
  if (!(flags & MS_UNBINDABLE)) flags |= MS_REC;
  if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0)
    throw_sys(fmt::format("linux.rootfsPropagation {}: mount / {}", c.rootfs_propagation, mounts::flags_text(flags)));
}

// As runc's needsSetupDev: /dev gets the nodes (the defaults and the
// config's), the /dev/fd-style links and ptmx unless the config binds a
// /dev over it, whether it is a tmpfs of the config or the rootfs' own.
bool needs_dev_setup(const spec::Config& c) {
  return std::none_of(c.mounts.begin(), c.mounts.end(), [](const spec::Mount& m) {
    return m.destination == "/dev" && (mounts::parse_options(m.options).flags & MS_BIND);
  });
}

// --no-pivot keeps the host's root in the mount namespace, below the chroot.
// A full procfs or sysfs there would let the container mount a fresh /proc
// (the kernel allows it while a fully visible one exists) and see the host's:
// detach each one outside the new root, or cover it with a tmpfs where that
// is not allowed, as runc's msMoveRoot does. The new root is the cwd.
void hide_host_proc_and_sys() {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) throw_sys("getcwd of the new root");
  const std::string root_path = cwd;
  std::string info;
  if (!fileio::read_file("/proc/self/mountinfo", info)) throw_sys("read /proc/self/mountinfo");
  std::vector<std::string> targets;
  for (const auto& m : cgroups::parse_mountinfo(info)) {
    if ((m.fstype != "proc" && m.fstype != "sysfs") || m.root != "/") continue;  // only full ones
    if (m.mountpoint == root_path || m.mountpoint.rfind(root_path + "/", 0) == 0) continue;
    targets.push_back(m.mountpoint);
  }
  for (const auto& p : targets) {
    // So that the unmount does not propagate back to the host.
    if (::mount(nullptr, p.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;  // under one already detached
      throw_sys(fmt::format("--no-pivot: make {} rslave", p));
    }
    if (umount2(p.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) throw_sys(fmt::format("--no-pivot: unmount {}", p));
    if (::mount("tmpfs", p.c_str(), "tmpfs", 0, nullptr) != 0) throw_sys(fmt::format("--no-pivot: cover {} with tmpfs", p));
  }
}

}  // namespace

UniqueFd prepare(const spec::Config& c, const mounts::MountContext& ctx) {
  {
    Step s("init.rootfs_bind");
    // Without a mount namespace of its own the mounts land in the caller's, as
    // runc does them; that namespace's propagation is left alone, and enter()
    // chroots.
    if (c.has_namespace("mount")) set_root_propagation(c);
    if (::mount(c.root_path.c_str(), c.root_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      throw_sys(fmt::format("bind rootfs {}", c.root_path));
  }
  UniqueFd root(open(c.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys(fmt::format("open rootfs {}", c.root_path));
  {
    Step s("init.mounts");
    for (const auto& m : c.mounts) mounts::mount_entry(root.get(), m, ctx);
  }
  if (needs_dev_setup(c)) {
    Step s("init.devices");
    devices::create_nodes(root.get(), devices::with_defaults(c.devices), ctx.user_ns);
    devices::create_symlinks(root.get());
  } else if (!c.devices.empty()) {
    Step s("init.devices");
    devices::create_nodes(root.get(), c.devices, ctx.user_ns);
  }
  return root;
}

void enter(const spec::Config& c, int root_fd, bool no_pivot) {
  Step s("init.pivot_root");
  if (fchdir(root_fd) != 0) throw_sys(fmt::format("chdir {}", c.root_path));
  if (!c.has_namespace("mount")) {
    if (chroot(".") != 0) throw_sys(fmt::format("chroot {}", c.root_path));
  } else if (no_pivot) {
    hide_host_proc_and_sys();
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throw_sys(fmt::format("move {} to /", c.root_path));
    if (chroot(".") != 0) throw_sys(fmt::format("chroot {}", c.root_path));
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one; no
    // directory for the old root is needed (as runc does it).
    UniqueFd old_root(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root) throw_sys("open /");
    if (syscall(SYS_pivot_root, ".", ".") != 0) throw_sys(fmt::format("pivot_root {}", c.root_path));
    if (fchdir(old_root.get()) != 0) throw_sys("chdir old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) throw_sys("make old root rslave");
    if (umount2(".", MNT_DETACH) != 0) throw_sys("umount old root");
  }
  if (chdir("/") != 0) throw_sys("chdir /");
  if (c.has_namespace("mount")) apply_root_propagation(c);
}

namespace {

// /proc and /sys paths are only touched when they are what they claim to be
// (CVE-2019-16884, CVE-2023-28642).
bool on_proc_or_sys(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0) return false;
  return sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC;
}

void mask_path(const std::string& path, int devnull_fd, const std::string& mount_label) {
  UniqueFd fd(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ELOOP) return;
    throw_sys(fmt::format("open masked path {}", path));
  }
  if ((path.rfind("/proc/", 0) == 0 || path.rfind("/sys/", 0) == 0) && !on_proc_or_sys(fd.get()))
    throw Error(fmt::format("mask {}: not on procfs or sysfs", path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_sys(fmt::format("stat masked path {}", path));
  if (S_ISDIR(st.st_mode)) {
    std::string data = lsm::with_mount_label("", mount_label);  // runc labels this tmpfs too
    if (::mount("tmpfs", inroot::fd_path(fd.get()).c_str(), "tmpfs", MS_RDONLY, data.empty() ? nullptr : data.c_str()) != 0)
      throw_sys(fmt::format("mask {} with a read-only tmpfs", path));
    return;
  }
  if (::mount(inroot::fd_path(devnull_fd).c_str(), inroot::fd_path(fd.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
    throw_sys(fmt::format("mask {} with /dev/null", path));
}

void readonly_path(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ELOOP) return;
    throw_sys(fmt::format("open read-only path {}", path));
  }
  std::string p = inroot::fd_path(fd.get());
  if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    throw_sys(fmt::format("bind read-only path {}", path));
  UniqueFd again(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!again) throw_sys(fmt::format("reopen read-only path {}", path));
  struct statvfs sv;
  unsigned long keep = 0;
  if (fstatvfs(again.get(), &sv) == 0) keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  std::string q = inroot::fd_path(again.get());
  if (::mount(q.c_str(), q.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, nullptr) != 0)
    throw_sys(fmt::format("remount {} read-only", path));
}

// /dev/null must be the real null device before it is bound over anything
// (CVE-2025-31133): a symlink or a regular file there would unmask the path.
UniqueFd open_real_devnull() {
  UniqueFd fd(open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw_sys("open /dev/null for masking");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_sys("stat /dev/null for masking");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    throw Error("mask paths: /dev/null is not the null device (1:3)");
  return fd;
}

}  // namespace

void protect_paths(const spec::Config& c) {
  if (!c.readonly_paths.empty()) {
    Step s("init.readonly_paths");
    for (const auto& p : c.readonly_paths) readonly_path(p);
  }
  if (!c.masked_paths.empty()) {
    Step s("init.masked_paths");
    UniqueFd devnull = open_real_devnull();
    for (const auto& p : c.masked_paths) mask_path(p, devnull.get(), lsm::effective_mount_label(c));
  }
}

void finalize(const spec::Config& c) {
  for (const auto& m : c.mounts) {
    mounts::ParsedOptions o = mounts::parse_options(m.options);
    if (m.destination != "/dev" || (o.flags & MS_BIND) || !(o.flags & MS_RDONLY)) continue;
    if (::mount(nullptr, "/dev", nullptr, MS_REMOUNT | (o.flags & ~(MS_REC | MS_BIND)), nullptr) != 0)
      throw_sys("remount /dev read-only");
  }
  if (!c.root_readonly) return;
  Step s("init.readonly_root");
  struct statvfs sv;
  unsigned long keep = 0;
  if (statvfs("/", &sv) == 0) keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, nullptr) != 0)
    throw_sys("remount / read-only");
}

}  // namespace glassrun::rootfs
