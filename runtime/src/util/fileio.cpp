#include "util/fileio.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"

namespace glassrun::fileio {

bool read_fd(int fd, std::string& out, bool one_record) {
  out.clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
    if (one_record && static_cast<size_t>(n) < sizeof buf) return true;
  }
}

namespace {

void write_all(int fd, const std::string& data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys(what);
    }
    off += static_cast<size_t>(n);
  }
}
}  // namespace

bool read_file(const std::string& path, std::string& out, bool one_record) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd && read_fd(fd.get(), out, one_record);
}

std::string read_file_or_throw(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open {}", path));
  std::string out;
  if (!read_fd(fd.get(), out)) throw_sys(fmt::format("read {}", path));
  return out;
}

bool read_at(int dirfd, const std::string& name, std::string& out) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  return fd && read_fd(fd.get(), out);
}

void write_file(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open {}", path));
  write_all(fd.get(), data, fmt::format("write {} to {}", data, path));
}

void write_atomic(int dirfd, const std::string& name, const std::string& data, int mode) {
  std::string tmp = "." + name + ".tmp";
  UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw_sys(fmt::format("create {}", tmp));
  write_all(fd.get(), data, fmt::format("write {}", tmp));
  fd.reset();
  // Not a rename over the old file: ext4 (auto_da_alloc) then allocates the
  // new file's blocks at once, and removing the file later (delete) waits on
  // a discard where the filesystem is mounted with it (/run on this machine's
  // ext4). Swapping the two names and unlinking the old file keeps the
  // replacement atomic for readers and leaves small, short-lived state files
  // to delayed allocation.
  if (renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno == EEXIST && renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_EXCHANGE) == 0) {
    if (unlinkat(dirfd, tmp.c_str(), 0) != 0) throw_sys(fmt::format("unlink {} (the replaced {})", tmp, name));
    return;
  }
  // A filesystem without renameat2 flags: the plain rename.
  if (renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) throw_sys(fmt::format("rename {} to {}", tmp, name));
}

}  // namespace glassrun::fileio
