#include "linux/inroot.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

namespace glassrun::inroot {

namespace {
int openat2_in_root(int root_fd, const std::string& path, int flags, uint64_t resolve = RESOLVE_NO_MAGICLINKS) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | resolve;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}
}  // namespace

std::string fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

UniqueFd open_existing(int root_fd, const std::string& path) {
  return UniqueFd(openat2_in_root(root_fd, path, O_PATH));
}

UniqueFd open_with(int root_fd, const std::string& path, int flags) {
  return UniqueFd(openat2_in_root(root_fd, path, flags));
}

UniqueFd open_no_symlinks(int root_fd, const std::string& path, int flags) {
  return UniqueFd(openat2_in_root(root_fd, path, flags, RESOLVE_NO_SYMLINKS));
}

UniqueFd open_or_create(int root_fd, const std::string& path, Kind kind, mode_t mode) {
  if (UniqueFd fd = open_existing(root_fd, path)) return fd;
  if (errno != ENOENT) throw_sys(fmt::format("open {} in rootfs", path));
  // Walk down, creating what is missing; each step is resolved in root again.
  std::string prefix;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + part;
    if (UniqueFd fd = open_existing(root_fd, prefix)) continue;
    if (errno != ENOENT) throw_sys(fmt::format("open {} in rootfs", prefix));
    UniqueFd dir(openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
    if (!dir) throw_sys(fmt::format("open {} in rootfs", parent));
    bool last = j >= path.size();
    int rc;
    if (last && kind == Kind::File) {
      rc = openat(dir.get(), part.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (rc >= 0) ::close(rc);
    } else {
      rc = mkdirat(dir.get(), part.c_str(), mode);
    }
    if (rc < 0 && errno != EEXIST) throw_sys(fmt::format("create {} in rootfs", prefix));
  }
  UniqueFd fd = open_existing(root_fd, path);
  if (!fd) throw_sys(fmt::format("open {} in rootfs", path));
  return fd;
}

}  // namespace glassrun::inroot
