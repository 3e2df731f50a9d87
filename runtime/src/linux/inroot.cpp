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
  const char* rel = path.c_str() + std::min(path.find_first_not_of('/'), path.size());
  if (*rel == '\0') rel = ".";
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel, &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

// Makes `name` in dir: an empty file for Kind::File, else a directory; never
// follows a link at `name` (EEXIST instead). Returns -1 with errno on failure.
int create_at(int dir, const std::string& name, Kind kind, mode_t mode) {
  if (kind == Kind::Directory) return mkdirat(dir, name.c_str(), mode);
  int fd = openat(dir, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0) ::close(fd);
  return fd < 0 ? -1 : 0;
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

namespace {
// The slow path: every link on `path` resolved by hand first (dangling ones
// name what to create), then each missing component made in turn.
UniqueFd create_by_hand(int root_fd, const std::string& path, Kind kind, mode_t mode) {
  const std::string resolved = resolve_links(root_fd, path);
  // Walk down, creating what is missing; each step is resolved in root again.
  std::string prefix;
  size_t i = 0;
  while (i < resolved.size()) {
    size_t j = resolved.find('/', i);
    if (j == std::string::npos) j = resolved.size();
    std::string part = resolved.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + part;
    if (UniqueFd fd = open_existing(root_fd, prefix)) continue;
    if (errno != ENOENT) throw_sys(fmt::format("open {} in rootfs", prefix));
    UniqueFd dir(openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
    if (!dir) throw_sys(fmt::format("open {} in rootfs", parent));
    bool last = j >= resolved.size();
    if (create_at(dir.get(), part, last ? kind : Kind::Directory, mode) < 0 && errno != EEXIST)
      throw_sys(fmt::format("create {} in rootfs", prefix));
  }
  UniqueFd fd = open_existing(root_fd, resolved);
  if (!fd) throw_sys(fmt::format("open {} in rootfs", path));
  return fd;
}

// `path`, known not to exist yet, made. Fast path: the parent is opened (made
// first if missing, recursively) and only the last component is created in
// it. A link on the parent is resolved by the kernel inside the root, as
// resolve_links would; a dangling link as the last component makes the create
// fail with EEXIST (mkdirat and O_EXCL do not follow it), and only then is
// the path walked by hand: the walk's readlinkat per component is paid only
// where there is a dangling link.
UniqueFd make_missing(int root_fd, std::string path, Kind kind, mode_t mode) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  const std::string last = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (last.empty() || last == "." || last == "..") return create_by_hand(root_fd, path, kind, mode);
  const std::string parent = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd dir(openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
  if (!dir && errno == ENOENT) dir = make_missing(root_fd, parent, Kind::Directory, mode);
  if (!dir) throw_sys(fmt::format("open {} in rootfs", parent));
  if (create_at(dir.get(), last, kind, mode) < 0) {
    if (errno != EEXIST) throw_sys(fmt::format("create {} in rootfs", path));
    return create_by_hand(root_fd, path, kind, mode);  // a dangling link (or made meanwhile)
  }
  UniqueFd fd = open_existing(root_fd, path);
  if (!fd) throw_sys(fmt::format("open {} in rootfs", path));
  return fd;
}
}  // namespace

UniqueFd open_or_create(int root_fd, std::string path, Kind kind, mode_t mode) {
  if (UniqueFd fd = open_existing(root_fd, path)) return fd;
  if (errno != ENOENT) throw_sys(fmt::format("open {} in rootfs", path));
  return make_missing(root_fd, std::move(path), kind, mode);
}

}  // namespace glassrun::inroot
