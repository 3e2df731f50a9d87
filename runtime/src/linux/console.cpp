#include "linux/console.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "linux/inroot.h"
#include "util/fd_passing.h"
#include "util/error.h"
#include "util/probes.h"

namespace glassrun::console {

namespace {

// Unix98 pty slaves: char majors 136-143, on a devpts filesystem.
void check_devpts_slave(int fd, const std::string& name) {
  struct statfs sf;
  struct stat st;
  if (fstatfs(fd, &sf) != 0 || fstat(fd, &st) != 0) throw_sys(fmt::format("stat pty slave {}", name));
  if (sf.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode) || major(st.st_rdev) < 136 || major(st.st_rdev) > 143)
    throw Error(fmt::format("pty slave {} is not a devpts terminal", name));
}

// The container's root, after pivot_root: the base of in-root lookups.
UniqueFd open_root() {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("open /");
  return root;
}

// /dev/console in the image: no symlink anywhere on the way (a symlinked /dev
// or /dev/console could point at /proc/1/root/<host path>), created by us when
// missing, and only ever a regular file or a character device.
UniqueFd open_console_target() {
  UniqueFd root = open_root();
  UniqueFd target = inroot::open_no_symlinks(root.get(), "/dev/console", O_PATH);
  if (!target && errno == ENOENT) {
    UniqueFd dev = inroot::open_no_symlinks(root.get(), "/dev", O_PATH | O_DIRECTORY);
    if (!dev) throw_sys("open /dev (no symlinks)");
    int made = openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (made < 0 && errno != EEXIST) throw_sys("create /dev/console");
    if (made >= 0) ::close(made);
    target = inroot::open_no_symlinks(root.get(), "/dev/console", O_PATH);
  }
  if (!target && errno == ELOOP)
    throw Error("/dev/console: it or /dev is a symlink in the rootfs; refusing to bind the terminal there", ELOOP);
  if (!target) throw_sys("open /dev/console (no symlinks)");
  struct stat st;
  if (fstat(target.get(), &st) != 0) throw_sys("stat /dev/console");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    throw Error("/dev/console: not a regular file or a character device; refusing to bind the terminal there");
  return target;
}

}  // namespace

Pty open_pty(unsigned rows, unsigned cols) {
  Step s("init.console");
  // The container's /dev/ptmx: symlinks stay in its root, no magic links (a
  // link to /proc/1/root/dev/ptmx would hand out a pty of the host's devpts).
  UniqueFd root = open_root();
  UniqueFd master = inroot::open_with(root.get(), "/dev/ptmx", O_RDWR | O_NOCTTY);
  if (!master) throw_sys("open /dev/ptmx");
  if (unlockpt(master.get()) != 0) throw_sys("unlockpt");
  char name[128];
  if (ptsname_r(master.get(), name, sizeof name) != 0) throw_sys("ptsname");
  if (rows && cols) {
    winsize ws{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
    if (ioctl(master.get(), TIOCSWINSZ, &ws) != 0) throw_sys("set console size");
  }
  // Through the master, not by name: /dev/pts/N is a path the container
  // could swap for something else between ptsname and open.
  UniqueFd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) throw_sys(fmt::format("open pty slave {} (TIOCGPTPEER)", name));
  check_devpts_slave(slave.get(), name);
  return Pty{std::move(master), std::move(slave), name};
}

void attach_slave(const Pty& pty) {
  if (setsid() < 0) throw_sys("setsid");
  if (ioctl(pty.slave.get(), TIOCSCTTY, 0) != 0)
    throw_sys(fmt::format("make {} the controlling terminal", pty.slave_name));
  for (int i = 0; i < 3; ++i)
    if (dup2(pty.slave.get(), i) < 0) throw_sys(fmt::format("dup {} to fd {}", pty.slave_name, i));
}

// Both ends are fds (open_tree of the slave, move_mount onto the opened
// target): nothing is looked up by path while mounting (CVE-2025-52565).
void bind_dev_console(const Pty& pty) {
  UniqueFd target = open_console_target();
  UniqueFd tree(static_cast<int>(
      syscall(SYS_open_tree, pty.slave.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
  if (!tree) throw_sys(fmt::format("bind {} on /dev/console: open_tree", pty.slave_name));
  if (syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_sys(fmt::format("bind {} on /dev/console: move_mount", pty.slave_name));
}

void send_to_socket(const std::string& socket_path, int master_fd, const std::string& name) {
  UniqueFd sock = fd_passing::connect_unix(socket_path, "--console-socket");
  std::string payload = name.empty() ? "/dev/ptmx" : name;
  iovec iov{payload.data(), payload.size()};
  fd_passing::send(sock.get(), &iov, 1, master_fd, "send console fd");
}

}  // namespace glassrun::console
