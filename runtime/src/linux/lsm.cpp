#include "linux/lsm.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "linux/mount_options.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fileio.h"
#include "util/log.h"

#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

namespace glassrun::lsm {

bool apparmor_enabled() {
  struct stat st;
  if (stat("/sys/kernel/security/apparmor", &st) != 0) return false;
  std::string enabled;
  return fileio::read_file("/sys/module/apparmor/parameters/enabled", enabled) && !enabled.empty() &&
         enabled[0] == 'Y';
}

bool selinux_enabled() {
  // Asked once per mount that may take a label: the host's answer does not
  // change during a command (and is the host's: first asked before pivot_root).
  static const bool enabled = [] {
    struct statfs sf;
    return statfs("/sys/fs/selinux", &sf) == 0 && sf.f_type == static_cast<decltype(sf.f_type)>(SELINUX_MAGIC);
  }();
  return enabled;
}

void check_process(const spec::Process& p, const FieldNames& names) {
  if (!p.apparmor_profile.empty() && !apparmor_enabled())
    throw Error(fmt::format("{} {}: AppArmor is not enabled on this host", names.apparmor, p.apparmor_profile));
  if (!p.selinux_label.empty() && !selinux_enabled())
    throw Error(fmt::format("{} {}: SELinux is not enabled on this host", names.selinux, p.selinux_label));
}

namespace {
bool cgroup2_unified() {
  struct statfs sf;
  return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == static_cast<decltype(sf.f_type)>(CGROUP2_SUPER_MAGIC);
}
}  // namespace

bool takes_mount_label(const spec::Mount& m) {
  if (mounts::parse_options(m.options).flags & MS_BIND) return false;
  if (m.type == "proc" || m.type == "sysfs" || m.type == "mqueue") return false;
  // On v1/hybrid a "cgroup" mount is a tmpfs (labelled); cgroup2 is not.
  if (m.type == "cgroup") return !cgroup2_unified();
  return true;
}

void check_mount_label(const spec::Config& c) {
  if (c.mount_label.empty() || selinux_enabled()) return;
  bool labelled = !c.masked_paths.empty() ||  // the tmpfs over a masked directory is labelled too
                  std::any_of(c.mounts.begin(), c.mounts.end(), [](const spec::Mount& m) { return takes_mount_label(m); });
  if (labelled)
    log::warn(fmt::format("linux.mountLabel {}: SELinux is not enabled on this host: mounting without context=",
                          c.mount_label));
}

std::string effective_mount_label(const spec::Config& c) { return selinux_enabled() ? c.mount_label : ""; }

std::string with_mount_label(const std::string& data, const std::string& label) {
  if (label.empty()) return data;
  std::string opt = fmt::format("context=\"{}\"", label);
  return data.empty() ? opt : data + "," + opt;
}

namespace {
// Our own thread's attribute: the one the next execve of this thread reads.
// Only on procfs: a /proc that the image faked would swallow the label.
void write_attr(const std::string& attr, const std::string& value) {
  std::string path = fmt::format("/proc/thread-self/attr/{}", attr);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open {}", path));
  struct statfs sf;
  if (fstatfs(fd.get(), &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC) throw Error(fmt::format("{}: not on procfs", path));
  if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    throw_sys(fmt::format("write \"{}\" to {}", value, path));
}
}  // namespace

void set_exec_labels(const spec::Process& p) {
  if (!p.apparmor_profile.empty()) {
    // The module's own directory where the kernel has one (LSM stacking),
    // else the shared file, as libapparmor's aa_change_onexec.
    bool own_dir = access("/proc/thread-self/attr/apparmor/exec", F_OK) == 0;
    with_context(fmt::format("process.apparmorProfile {}", p.apparmor_profile),
                 [&] { write_attr(own_dir ? "apparmor/exec" : "exec", "exec " + p.apparmor_profile); });
  }
  if (!p.selinux_label.empty())
    with_context(fmt::format("process.selinuxLabel {}", p.selinux_label), [&] { write_attr("exec", p.selinux_label); });
}

}  // namespace glassrun::lsm
