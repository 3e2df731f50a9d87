#include "linux/cloned_binary.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

extern char** environ;

namespace glassrun::cloned_binary {

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

int fsopen(const char* fs) { return static_cast<int>(syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC)); }
int fsconfig(int ctx, unsigned cmd, const char* key, const char* value) {
  return static_cast<int>(syscall(SYS_fsconfig, ctx, cmd, key, value, 0));
}
int fsmount(int ctx, unsigned attrs) { return static_cast<int>(syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC, attrs)); }

// A detached, empty, read-only tmpfs: overlayfs wants two lower layers before
// it runs with no upper layer at all, and the second must not overlap the
// first (so "/" will not do).
UniqueFd empty_detached_tmpfs() {
  UniqueFd ctx(fsopen("tmpfs"));
  if (!ctx || fsconfig(ctx.get(), FSCONFIG_SET_STRING, "size", "4k") != 0 ||
      fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0)
    return {};
  return UniqueFd(fsmount(ctx.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC));
}

// The binary's directory as the lower layer of a detached overlayfs with no
// upper layer: the file is the same (page cache shared, nothing copied), but
// every open for writing through this mount fails with EROFS. runc 1.2 does
// the same. Returns an invalid fd where the kernel or the caller's privileges
// do not allow it (no new mount API, rootless, overlay missing).
UniqueFd open_through_readonly_overlay() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  std::string path(self, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  if (path[0] != '/' || slash == std::string::npos) return {};
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);

  UniqueFd empty = empty_detached_tmpfs();
  if (!empty) return {};
  std::string empty_path = fmt::format("/proc/self/fd/{}", empty.get());
  UniqueFd ctx(fsopen("overlay"));
  if (!ctx) return {};
  // "lowerdir+" (Linux 6.8) takes one path each, so no escaping of ':' or ','.
  if (fsconfig(ctx.get(), FSCONFIG_SET_STRING, "lowerdir+", dir.c_str()) != 0 ||
      fsconfig(ctx.get(), FSCONFIG_SET_STRING, "lowerdir+", empty_path.c_str()) != 0 ||
      fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0)
    return {};
  UniqueFd mnt(fsmount(ctx.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt) return {};
  return UniqueFd(openat(mnt.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
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
  return (access("/proc/self/exe", W_OK) != 0 && errno == EROFS) || running_from_sealed_copy();
}

void ensure(char* const* argv) {
  if (binary_is_unwritable()) return;
  UniqueFd exe = open_through_readonly_overlay();
  if (!exe) exe = sealed_memfd_copy();
  std::string cmdline;
  std::vector<char*> own;
  if (!argv) {
    cmdline = read_all("/proc/self/cmdline");
    for (size_t i = 0; i < cmdline.size(); i += std::char_traits<char>::length(&cmdline[i]) + 1)
      own.push_back(&cmdline[i]);
    own.push_back(nullptr);
    argv = own.data();
  }
  syscall(SYS_execveat, exe.get(), "", argv, environ, AT_EMPTY_PATH);
  throw_sys("re-execute from a read-only view of the binary");
}

}  // namespace glassrun::cloned_binary
