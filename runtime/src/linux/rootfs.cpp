#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "linux/devices.h"
#include "linux/inroot.h"
#include "linux/lsm.h"
#include "linux/mount_options.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::rootfs {

namespace {

void set_root_propagation(const spec::Config& c) {
  // runc's default: rslave, so host mount events still reach the container
  // but nothing flows back.
  unsigned long flags = MS_SLAVE | MS_REC;
  if (!c.rootfs_propagation.empty()) flags = *mounts::propagation_flag(c.rootfs_propagation);
  if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0)
    throw_sys(fmt::format("mount / propagation {}", mounts::flags_text(flags)));
}

bool mounts_dev_tmpfs(const spec::Config& c) {
  return std::any_of(c.mounts.begin(), c.mounts.end(), [](const spec::Mount& m) {
    return m.destination == "/dev" && !(mounts::parse_options(m.options).flags & MS_BIND);
  });
}

}  // namespace

UniqueFd prepare(const spec::Config& c, const mounts::MountContext& ctx) {
  {
    Step s("init.rootfs_bind");
    set_root_propagation(c);
    if (::mount(c.root_path.c_str(), c.root_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      throw_sys(fmt::format("bind rootfs {}", c.root_path));
  }
  UniqueFd root(open(c.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys(fmt::format("open rootfs {}", c.root_path));
  {
    Step s("init.mounts");
    for (const auto& m : c.mounts) mounts::mount_entry(root.get(), m, ctx);
  }
  if (mounts_dev_tmpfs(c)) {
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
  if (no_pivot) {
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
  if (fstat(fd.get(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
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
    for (const auto& p : c.masked_paths) mask_path(p, devnull.get(), c.mount_label);
  }
}

void finalize(const spec::Config& c) {
  if (!c.root_readonly) return;
  Step s("init.readonly_root");
  struct statvfs sv;
  unsigned long keep = 0;
  if (statvfs("/", &sv) == 0) keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, nullptr) != 0)
    throw_sys("remount / read-only");
}

}  // namespace glassrun::rootfs
