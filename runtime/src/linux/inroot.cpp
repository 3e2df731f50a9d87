#include "linux/inroot.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

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

// `path` with every symlink on it resolved by hand inside the rootfs, as runc's
// SecureJoin: a dangling link ("/var/run" -> "../run" before /run exists)
// then names the path to create, not the link. The lookups after it are still
// openat2(RESOLVE_IN_ROOT), so a link swapped in meanwhile cannot escape.
std::string resolve_links(int root_fd, const std::string& path) {
  std::vector<std::string> todo;  // components still to walk, the next one last
  auto push_path = [&](const std::string& p) {
    std::vector<std::string> parts;
    for (size_t i = 0; i <= p.size();) {
      size_t j = std::min(p.find('/', i), p.size());
      if (j > i) parts.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_path(path);
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string parent = "/";
    for (const auto& d : done) parent += d + "/";
    char target[4096];
    ssize_t n = -1;
    if (UniqueFd dir{openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY)})
      n = readlinkat(dir.get(), part.c_str(), target, sizeof target - 1);
    if (n < 0) {  // not a link, or nothing there yet
      done.push_back(part);
      continue;
    }
    if (++links > 40) throw_sys(fmt::format("resolve {} in rootfs", path), ELOOP);
    std::string link(target, static_cast<size_t>(n));
    if (link[0] == '/') done.clear();
    push_path(link);
  }
  std::string out;
  for (const auto& d : done) out += "/" + d;
  return out.empty() ? "/" : out;
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

UniqueFd open_or_create(int root_fd, std::string path, Kind kind, mode_t mode) {
  if (UniqueFd fd = open_existing(root_fd, path)) return fd;
  if (errno != ENOENT) throw_sys(fmt::format("open {} in rootfs", path));
  const std::string shown = path;
  path = resolve_links(root_fd, path);
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
  if (!fd) throw_sys(fmt::format("open {} in rootfs", shown));
  return fd;
}

}  // namespace glassrun::inroot
