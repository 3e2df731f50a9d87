/* probe: a tiny static helper copied into attack rootfs by the security tests.
 *   probe keyctl | ptrace | unshare | mount | personality
 *   probe syscall NR               raw syscall NR with zero arguments
 *   probe open_wr PATH             open(PATH, O_WRONLY) (open_rd: O_RDONLY)
 *   probe mkdir PATH               the mkdir syscall itself (not mkdirat)
 *   probe hold PATH DIR            open PATH O_PATH, create DIR/ready, wait for
 *                                  DIR/go, then reopen /proc/self/fd/N O_WRONLY
 *                                  and write "pwned"; result in DIR/result
 *   probe fds                      "N -> target" for each open fd
 *   probe cwd                      getcwd()
 * Prints "ok" or "errno N" (the test compares N). Exits 0 unless killed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(long rc) {
  if (rc < 0) printf("errno %d\n", errno);
  else printf("ok\n");
  fflush(stdout);
  return 0;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  if (f) { fputs(text, f); fclose(f); } else { fprintf(stderr, "probe: create %s: errno %d\n", p, errno); }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "keyctl")) return report(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
  if (!strcmp(cmd, "ptrace")) return report(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
  if (!strcmp(cmd, "unshare")) return report(unshare(CLONE_NEWUTS));
  if (!strcmp(cmd, "mount")) return report(mount("none", "/tmp", "tmpfs", 0, NULL));
  if (!strcmp(cmd, "personality")) return report(syscall(SYS_personality, 0xffffffff));
  if (!strcmp(cmd, "syscall") && argc > 2) return report(syscall(atol(argv[2]), 0, 0, 0, 0, 0, 0));
  if (!strcmp(cmd, "open_wr") && argc > 2) return report(open(argv[2], O_WRONLY));
  if (!strcmp(cmd, "open_rd") && argc > 2) return report(open(argv[2], O_RDONLY));
  if (!strcmp(cmd, "mkdir") && argc > 2) return report(syscall(SYS_mkdir, argv[2], 0755));
  if (!strcmp(cmd, "cwd")) {
    char b[4096];
    if (!getcwd(b, sizeof b)) return report(-1);
    printf("%s\n", b);
    return 0;
  }
  if (!strcmp(cmd, "fds")) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return report(-1);
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
      char p[512], t[4096];
      snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
      ssize_t n = readlink(p, t, sizeof t - 1);
      t[n < 0 ? 0 : n] = 0;
      printf("%s -> %s\n", e->d_name, t);
    }
    return 0;
  }
  if (!strcmp(cmd, "hold") && argc > 3) {
    const char *dir = argv[3];
    int fd = open(argv[2], O_PATH);
    char msg[128];
    if (fd < 0) {
      snprintf(msg, sizeof msg, "open-path errno %d\n", errno);
      write_file(dir, "result", msg);
      write_file(dir, "ready", "");
      return 0;
    }
    write_file(dir, "ready", "");
    char go[4096];
    snprintf(go, sizeof go, "%s/go", dir);
    while (access(go, F_OK) != 0) usleep(10000);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = -1;
    for (int i = 0; i < 500 && w < 0; ++i) { /* the binary may still be busy (ETXTBSY) */
      w = open(p, O_WRONLY);
      if (w < 0 && errno != ETXTBSY) break;
      if (w < 0) usleep(10000);
    }
    if (w < 0) snprintf(msg, sizeof msg, "open-write errno %d\n", errno);
    else if (write(w, "pwned", 5) != 5) snprintf(msg, sizeof msg, "write errno %d\n", errno);
    else snprintf(msg, sizeof msg, "WROTE\n");
    write_file(dir, "result", msg);
    return 0;
  }
  return 2;
}
