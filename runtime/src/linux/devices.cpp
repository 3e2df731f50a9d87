#include "linux/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "linux/inroot.h"
#include "util/error.h"
#include "util/umask.h"

namespace glassrun::devices {

std::vector<spec::Device> with_defaults(const std::vector<spec::Device>& configured) {
  static const spec::Device kDefaults[] = {
      {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
      {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
      {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/random", 'c', 1, 8, 0666, 0, 0},
  };
  std::vector<spec::Device> out = configured;
  for (const auto& d : kDefaults)
    if (std::none_of(out.begin(), out.end(), [&](const spec::Device& c) { return c.path == d.path; }))
      out.push_back(d);
  return out;
}

namespace {
mode_t type_bits(char t) {
  switch (t) {
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: return S_IFCHR;
  }
}

std::string dir_of(const spec::Device& d) {
  std::string dir = d.path.substr(0, d.path.rfind('/'));
  return dir.empty() ? "/" : dir;
}

// A directory to make nodes in, and who owns a node made there.
struct DeviceDir {
  UniqueFd fd;
  uid_t owner_uid;
  gid_t owner_gid;
};

// The directory to mknod in, resolved in the rootfs (and made if missing):
// its O_PATH fd serves mknodat, fchownat and fstat as it is.
DeviceDir device_dir(int root_fd, const std::string& dir) {
  DeviceDir d{inroot::open_or_create(root_fd, dir, inroot::Kind::Directory), geteuid(), getegid()};
  struct stat st;
  if (fstat(d.fd.get(), &st) != 0) throw_sys(fmt::format("stat {}", dir));
  if (st.st_mode & S_ISGID) d.owner_gid = st.st_gid;  // a setgid directory's group
  return d;
}

// As runc: made with the umask cleared (the caller's), so the mode is the
// config's without a chmod; an existing node (a bind of the host's /dev, a
// rootfs that ships nodes) is replaced; chown only where the new node's
// owner is not already the configured one.
void mknod_device(const DeviceDir& dir, const spec::Device& d) {
  std::string name = d.path.substr(d.path.rfind('/') + 1);
  mode_t mode = (d.file_mode.value_or(0666) & 07777) | type_bits(d.type);
  dev_t dev = makedev(d.major, d.minor);
  int rc = mknodat(dir.fd.get(), name.c_str(), mode, dev);
  if (rc != 0 && errno == EEXIST && unlinkat(dir.fd.get(), name.c_str(), 0) == 0)
    rc = mknodat(dir.fd.get(), name.c_str(), mode, dev);
  if (rc != 0) throw_sys(fmt::format("mknod {} {}:{}", d.path, d.major, d.minor));
  uid_t uid = d.uid.value_or(0);
  gid_t gid = d.gid.value_or(0);
  if ((uid != dir.owner_uid || gid != dir.owner_gid) && fchownat(dir.fd.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
    throw_sys(fmt::format("chown {}", d.path));
}

// A user namespace may not mknod: bind the host's node instead, as runc does.
void bind_device(int root_fd, const spec::Device& d) {
  UniqueFd target = inroot::open_or_create(root_fd, d.path, inroot::Kind::File);
  if (::mount(d.path.c_str(), inroot::fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
    throw_sys(fmt::format("bind device {}", d.path));
}
}  // namespace

void create_nodes(int root_fd, const std::vector<spec::Device>& devs, bool user_ns) {
  // Devices in the same directory as the previous one (all of /dev usually)
  // reuse its fd: one lookup for the lot instead of one per node.
  std::string dir;
  std::optional<DeviceDir> pdir;
  UmaskCleared no_umask;
  for (const auto& d : devs) {
    if (user_ns) {
      bind_device(root_fd, d);
      continue;
    }
    if (!pdir || dir_of(d) != dir) {
      dir = dir_of(d);
      pdir = device_dir(root_fd, dir);
    }
    mknod_device(*pdir, d);
  }
}

void create_symlinks(int root_fd) {
  static const std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  UniqueFd ddir = inroot::open_or_create(root_fd, "/dev", inroot::Kind::Directory);  // O_PATH serves symlinkat
  for (const auto& [target, name] : kLinks) {
    if (std::string(name) == "ptmx") unlinkat(ddir.get(), name, 0);  // replace any node with the devpts link
    if (symlinkat(target, ddir.get(), name) != 0 && errno != EEXIST)
      throw_sys(fmt::format("symlink /dev/{} -> {}", name, target));
  }
  if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", ddir.get(), "core") != 0 && errno != EEXIST)
    throw_sys("symlink /dev/core -> /proc/kcore");
}

}  // namespace glassrun::devices
