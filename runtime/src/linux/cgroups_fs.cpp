#include "linux/cgroups_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "util/error.h"
#include "util/fd.h"
#include "util/fileio.h"

namespace glassrun::cgroups::fs {

std::string join(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

namespace {

constexpr std::string_view kMount = "/sys/fs/cgroup/";
std::atomic<int> mount_fd{-1};
std::atomic<bool> mount_fd_allowed{true};

}  // namespace

At at(const std::string& path) {
  if (path.size() <= kMount.size() || path.compare(0, kMount.size(), kMount) != 0) return {AT_FDCWD, path.c_str()};
  int fd = mount_fd.load();
  if (fd < 0) {
    if (!mount_fd_allowed.load()) return {AT_FDCWD, path.c_str()};
    fd = ::open("/sys/fs/cgroup", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return {AT_FDCWD, path.c_str()};  // the walk from / then reports what is wrong
    int none = -1;
    if (!mount_fd.compare_exchange_strong(none, fd)) {
      ::close(fd);
      fd = none;
    }
  }
  return {fd, path.c_str() + kMount.size()};
}

void close_mount_fd(bool for_good) {
  if (for_good) mount_fd_allowed = false;
  int fd = mount_fd.exchange(-1);
  if (fd >= 0) ::close(fd);
}

void allow_mount_fd() { mount_fd_allowed = true; }

bool accessible(const std::string& path) {
  At a = at(path);
  return ::faccessat(a.dirfd, a.rel, F_OK, 0) == 0;
}

bool exists(const std::string& path) {
  struct stat st;
  At a = at(path);
  if (::fstatat(a.dirfd, a.rel, &st, 0) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw_sys("stat " + path);  // EIO is not "absent": a feature would be skipped silently
}

namespace {
std::optional<std::string> read_whole(const std::string& path, bool one_record) {
  At a = at(path);
  UniqueFd fd(::openat(a.dirfd, a.rel, O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_sys("read " + path);
  }
  std::string out;
  if (!fileio::read_fd(fd.get(), out, one_record)) throw_sys("read " + path);
  return out;
}
}  // namespace

std::optional<std::string> read_if_exists(const std::string& path) { return read_whole(path, false); }

std::optional<std::string> read_value_if_exists(const std::string& path) { return read_whole(path, true); }

namespace {
// A file that must be there (whole, or its one value): absent is
// "read <path>: no such file".
std::string read_present(const std::string& path, bool one_value) {
  auto content = read_whole(path, one_value);
  if (!content) throw_sys("read " + path, ENOENT);
  return std::move(*content);
}
std::string read_value(const std::string& path) { return read_present(path, true); }
}  // namespace

std::string read(const std::string& path) { return read_present(path, false); }

std::string read_trimmed(const std::string& path) {
  std::string s = read_value(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void write(const std::string& path, const std::string& value) { Writer().write(path, value); }

void Writer::write(const std::string& path, const std::string& value) {
  if (!fd_ || path != path_) {
    fd_.reset();
    At a = at(path);
    fd_ = UniqueFd(::openat(a.dirfd, a.rel, O_WRONLY | O_CLOEXEC));
    if (!fd_) throw_sys(fmt::format("write {} to {}", value, path));
    path_ = path;
  }
  ssize_t n;
  do n = ::write(fd_.get(), value.data(), value.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_sys(fmt::format("write {} to {}", value, path));
}

uint64_t parse_uint(const std::string& text, const std::string& what) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  if (t == "max") return UINT64_MAX;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (t.empty() || errno != 0 || *end != '\0') {
    // Kernels print negative values for some v1 "unlimited" files (-1).
    if (!t.empty() && t[0] == '-') return 0;
    fail("{}: not a number: \"{}\"", what, t);
  }
  return v;
}

uint64_t read_uint(const std::string& path) { return parse_uint(read_value(path), path); }

std::vector<std::string> mkdir_p(const std::string& path) {
  // Parents usually exist: try the leaf first and climb only on ENOENT, so
  // the common case costs one mkdir per hierarchy instead of one per level.
  At a = at(path);
  if (::mkdirat(a.dirfd, a.rel, 0755) == 0) return {path};
  if (errno == EEXIST) return {};
  if (errno != ENOENT) throw_sys("mkdir " + path);
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) throw_sys("mkdir " + path, ENOENT);
  std::vector<std::string> made = mkdir_p(path.substr(0, slash));  // shallowest first
  a = at(path);
  if (::mkdirat(a.dirfd, a.rel, 0755) == 0)
    made.push_back(path);
  else if (errno != EEXIST)
    throw_sys("mkdir " + path);
  return made;
}

namespace {

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") out.push_back(join(dir, name));
  }
  ::closedir(d);
  return out;
}

}  // namespace

int rmdir(const std::string& path) {
  At a = at(path);
  return ::unlinkat(a.dirfd, a.rel, AT_REMOVEDIR);
}

namespace {

void rmdir_retrying(const std::string& path) {
  // ~1s in all for EBUSY: enough for the kernel to finish tearing down exited
  // tasks. Other errors get a few tries too: a cgroup left behind is a leak.
  for (int attempt = 0;; ++attempt) {
    if (rmdir(path) == 0 || errno == ENOENT) return;
    if (attempt == 50 || (errno != EBUSY && attempt == 3)) throw_sys("rmdir " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

void remove_tree(const std::string& path) {
  // A cgroup without children (the usual case) goes at the first rmdir; the
  // directory is listed only when that fails (EBUSY: children or tasks).
  if (rmdir(path) == 0 || errno == ENOENT) return;
  for (const auto& sub : subdirs(path)) remove_tree(sub);
  rmdir_retrying(path);
}

std::vector<pid_t> read_procs(const std::string& dir, bool recursive) {
  std::vector<pid_t> pids;
  auto content = read_if_exists(join(dir, "cgroup.procs"));
  if (!content) return pids;
  // One pid per line (strtol: no string stream to set up in a short-lived command).
  const char* p = content->c_str();
  for (char* end;; p = end) {
    long pid = std::strtol(p, &end, 10);
    if (end == p) break;
    pids.push_back(static_cast<pid_t>(pid));
  }
  if (recursive) {
    for (const auto& sub : subdirs(dir)) {
      auto more = read_procs(sub, true);
      pids.insert(pids.end(), more.begin(), more.end());
    }
  }
  return pids;
}

}  // namespace glassrun::cgroups::fs
