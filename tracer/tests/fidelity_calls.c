// Makes each syscall of glasstrace's strace-fidelity test once (or twice:
// success and failure) with known arguments, inside its own mount and UTS
// namespaces so the host is never changed:
//   glasstrace_fidelity_calls DIR   (DIR: an empty scratch directory)
// Raw syscall(2) throughout: the same calls whatever the libc wraps.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void path_in(char *out, size_t n, const char *dir, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char file[4096], missing[4096], src[4096], dst[4096], dst2[4096];
  path_in(file, sizeof file, dir, "written");
  path_in(missing, sizeof missing, dir, "missing/file");
  path_in(src, sizeof src, dir, "src");
  path_in(dst, sizeof dst, dir, "dst");
  path_in(dst2, sizeof dst2, dir, "dst2");
  if (mkdir(src, 0755) || mkdir(dst, 0755) || mkdir(dst2, 0755)) return perror("mkdir"), 1;
  int host_uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);

  syscall(SYS_unshare, CLONE_NEWNS | CLONE_NEWUTS);
  syscall(SYS_mount, "none", "/", NULL, MS_REC | MS_PRIVATE, NULL);

  int fd = syscall(SYS_openat, AT_FDCWD, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  syscall(SYS_write, fd, "fidelity\n", 9);
  syscall(SYS_openat, AT_FDCWD, missing, O_RDONLY);

  int tree = syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH);

  int fs = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "1m", 0);
  syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "nosuchoption", NULL, 0);
  syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  int mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  syscall(SYS_move_mount, mnt, "", AT_FDCWD, dst2, MOVE_MOUNT_F_EMPTY_PATH);

  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC,
                            .attr_clr = MOUNT_ATTR_NOSUID};
  syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof attr);

  syscall(SYS_setns, host_uts, CLONE_NEWUTS);
  syscall(SYS_setns, host_uts, CLONE_NEWNET);  // EINVAL: not a net namespace

  int pidfd = -1;
  struct clone_args ca = {.flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd,
                          .exit_signal = SIGCHLD};
  long child = syscall(SYS_clone3, &ca, sizeof ca);
  if (child == 0) syscall(SYS_exit_group, 0);
  syscall(SYS_pidfd_open, child, 0);
  syscall(SYS_pidfd_open, child, O_NONBLOCK);  // PIDFD_NONBLOCK
  waitpid(child, NULL, 0);
  syscall(SYS_pidfd_open, child, 0);  // ESRCH: reaped
  return 0;
}
