// Linux security modules: process.apparmorProfile, process.selinuxLabel
// (exec --apparmor / --process-label) and linux.mountLabel. Applied where the
// host has the LSM; where it does not, the field is refused up front, as runc
// 1.1 refuses it (it fails the container either way, see docs/SECURITY.md);
// linux.mountLabel alone is dropped with a warning there, as crun does.
#pragma once

#include <string>

#include "spec/config.h"

namespace glassrun::lsm {

// What runc checks: securityfs shows apparmor and the module says 'Y'.
bool apparmor_enabled();
// selinuxfs is mounted at /sys/fs/selinux.
bool selinux_enabled();

// Names of the fields being checked, for the error (config.json or exec flags).
struct FieldNames {
  std::string apparmor = "config.json: process.apparmorProfile";
  std::string selinux = "config.json: process.selinuxLabel";
};

// In the parent, before anything exists: a label the host cannot apply is an
// error naming its field.
void check_process(const spec::Process& p, const FieldNames& names = {});
// linux.mountLabel on a host without SELinux, where a mount (or the tmpfs of
// a masked directory) would carry it: one warning, and those mounts go
// without context= (crun's outcome; runc's kernel refuses context= there).
void check_mount_label(const spec::Config& c);
// The label the mounts get: linux.mountLabel, or "" without SELinux.
std::string effective_mount_label(const spec::Config& c);

// runc 1.1's rule: every mount but bind, proc, sysfs, mqueue and cgroup gets
// context="<mountLabel>" in its data.
bool takes_mount_label(const spec::Mount& m);
std::string with_mount_label(const std::string& data, const std::string& label);

// In the init or exec child, before the capability drop: the profile and
// label the next execve takes.
void set_exec_labels(const spec::Process& p);

}  // namespace glassrun::lsm
