#include "linux/cloned_binary.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "linux/cgroups_paths.h"
#include "linux/early_reexec.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/fd.h"

extern char** environ;

namespace glassrun::cloned_binary {

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
using early::kViewSource;

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The directory as the lower layer of a detached overlayfs with no upper
// layer: its files are the same (page cache shared, nothing copied), but every
// open for writing through this mount fails with EROFS, and no mount flag can
// change that (the superblock itself has nowhere to write). runc 1.2 does the
// same. Made by early_reexec (one implementation, also used before libc
// starts). Returns the mount's fd, or an invalid fd with *failed naming the
// step where the kernel or the caller's privileges do not allow it (no new
// mount API, rootless, overlay missing).
UniqueFd readonly_overlay_of(const std::string& dir, std::string* failed) {
  const char* step = "";
  int fd = early::readonly_overlay_of(dir.c_str(), kViewSource, &step);
  if (fd >= 0) return UniqueFd(fd);
  *failed = fmt::format("{}: {}", step, errno_text(-fd));
  return {};
}

// (directory, file name) of an absolute path.
std::pair<std::string, std::string> split_dir_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// The fallback (as runc 1.1): a sealed memfd copy of the whole binary.
UniqueFd sealed_memfd_copy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) throw_sys("open /proc/self/exe (to copy the binary into a sealed memfd)");
  struct stat st;
  if (fstat(self.get(), &st) != 0) throw_sys("stat /proc/self/exe");
  UniqueFd copy(memfd_create("glassrun:[sealed]", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) throw_sys("memfd_create for the sealed binary copy");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(copy.get(), self.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_sys("copy the binary into a sealed memfd");
  }
  if (fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) throw_sys("seal the binary copy");
  return copy;
}

bool running_from_sealed_copy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

}  // namespace

bool binary_is_unwritable() {
  // EROFS: the file sits on a read-only mount (our overlay, or a read-only
  // install); nothing that reopens /proc/<pid>/exe can write through it.
  // Checked first: after the overlay re-exec it is the one syscall paid.
  // Once true it stays true: a process's executable does not change.
  static bool unwritable = false;
  if (!unwritable)
    unwritable = early::binary_found_unwritable() || (access("/proc/self/exe", W_OK) != 0 && errno == EROFS) ||
                 running_from_sealed_copy();
  return unwritable;
}

void ensure(char* const* argv) {
  if (binary_is_unwritable()) return;
  std::string cmdline;
  std::vector<char*> own;
  if (!argv) {
    cmdline = read_all("/proc/self/cmdline");
    for (size_t i = 0; i < cmdline.size(); i += std::char_traits<char>::length(&cmdline[i]) + 1)
      own.push_back(&cmdline[i]);
    own.push_back(nullptr);
    argv = own.data();
  }
  early::reexec_through_overlay(argv, environ);  // returns only where the overlay view failed
  UniqueFd exe = sealed_memfd_copy();
  syscall(SYS_execveat, exe.get(), "", argv, environ, AT_EMPTY_PATH);
  throw_sys("re-execute from a read-only view of the binary");
}

// The file path names, symlinks followed; a regular file or an error.
static std::string canonical_file(const std::string& path) {
  char real[PATH_MAX];
  if (!realpath(path.c_str(), real)) throw_sys(path);
  struct stat st;
  if (stat(real, &st) != 0) throw_sys(std::string("stat ") + real);
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", real);
  return real;
}

// Whether the last mount on `real` (a canonical path) is our view.
static bool sealed_at(const std::string& real) {
  std::string mountinfo = fileio::read_file_or_throw("/proc/self/mountinfo");
  // The last mount on the path is the one seen there.
  bool sealed = false;
  for (const auto& m : cgroups::parse_mountinfo(mountinfo))
    if (m.mountpoint == real) sealed = m.fstype == "overlay" && m.source == kViewSource;
  return sealed;
}

bool install_is_sealed(const std::string& path) { return sealed_at(canonical_file(path)); }

bool seal_install(const std::string& path) {
  std::string real = canonical_file(path);
  if (sealed_at(real)) return false;
  auto [dir, name] = split_dir_name(real);
  std::string failed;
  UniqueFd mnt = readonly_overlay_of(dir, &failed);
  if (!mnt) fail("read-only overlayfs view of {}: {}", dir, failed);
  // A bind mount of the one file out of the view, put over the file itself.
  UniqueFd view(static_cast<int>(syscall(SYS_open_tree, mnt.get(), name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!view) throw_sys(fmt::format("open_tree {} in the read-only view", name));
  if (syscall(SYS_move_mount, view.get(), "", AT_FDCWD, real.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_sys("move_mount the read-only view onto " + real);
  return true;
}

void unseal_install(const std::string& path) {
  std::string real = canonical_file(path);
  if (!sealed_at(real)) fail("{}: not sealed (no {} mount on it)", real, kViewSource);
  if (umount2(real.c_str(), UMOUNT_NOFOLLOW) != 0) throw_sys("umount " + real);
}

}  // namespace glassrun::cloned_binary
