// Resolving paths inside the container's rootfs so that no symlink, "..", or
// swap during set-up can make glassrun act on a host path (CVE-2021-30465,
// CVE-2019-19921, CVE-2023-27561): openat2(RESOLVE_IN_ROOT) for every lookup,
// then mount through /proc/self/fd/<fd> of what was opened.
#pragma once

#include <string>

#include "util/fd.h"

namespace glassrun::inroot {

enum class Kind { Directory, File };

// O_PATH fd of path (relative to root_fd, "/" meaning the rootfs), creating
// missing directories and, for Kind::File, an empty final file. Symlinks on
// the way, dangling ones included, are followed inside the rootfs.
UniqueFd open_or_create(int root_fd, std::string path, Kind kind, mode_t mode = 0755);
// O_PATH fd of an existing path; -1 with errno set if it does not exist.
UniqueFd open_existing(int root_fd, const std::string& path);
// open(2) flags of an existing path, symlinks resolved inside the rootfs, no
// magic links (/proc/<pid>/root and the like).
UniqueFd open_with(int root_fd, const std::string& path, int flags);
// Like open_with, but any symlink on the way (final component included) is
// refused with ELOOP: for targets the image must not redirect at all.
UniqueFd open_no_symlinks(int root_fd, const std::string& path, int flags);
// "/proc/self/fd/N": a path that names exactly the opened object.
std::string fd_path(int fd);

}  // namespace glassrun::inroot
