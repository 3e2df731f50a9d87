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
 *   probe attach FIFO DIR          (as the container's pid 1) make FIFO a fifo,
 *                                  create DIR/ready, wait for another process
 *                                  to open it (blocked there, entering the
 *                                  container), try PTRACE_ATTACH and its
 *                                  /proc/N/mem, environ, fd; lines in
 *                                  DIR/result; then feed FIFO a passwd line
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
#include <sys/wait.h>
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

static void try_open(FILE *out, const char *what, int pid, int flags) {
  char p[64], b[64];
  snprintf(p, sizeof p, "/proc/%d/%s", pid, what);
  int fd = open(p, flags);
  if (fd < 0) { fprintf(out, "%s errno %d\n", what, errno); return; }
  ssize_t n = read(fd, b, sizeof b);
  if (n < 0) fprintf(out, "%s read-errno %d\n", what, errno);
  else fprintf(out, "%s ok read %zd\n", what, n);
  close(fd);
}

static int attach(const char *fifo, const char *dir) {
  unlink(fifo);
  if (mkfifo(fifo, 0644) != 0) { write_file(dir, "result", "mkfifo failed\n"); return 1; }
  write_file(dir, "ready", "");
  int w = -1;
  for (int i = 0; i < 12000 && w < 0; ++i) { /* a reader has it open: it is blocked entering */
    w = open(fifo, O_WRONLY | O_NONBLOCK);
    if (w < 0) usleep(10000);
  }
  char rp[4096];
  snprintf(rp, sizeof rp, "%s/result", dir);
  FILE *out = fopen(rp, "w");
  if (!out) return 1;
  if (w < 0) { fprintf(out, "nobody opened the fifo\n"); fclose(out); return 1; }
  int pid = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    int n = atoi(e->d_name);
    if (n > 1 && n != getpid()) pid = n;
  }
  if (d) closedir(d);
  fprintf(out, "found %d\n", pid);
  if (pid > 0) {
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
      waitpid(pid, NULL, __WALL);
      ptrace(PTRACE_DETACH, pid, 0, 0);
      fprintf(out, "ptrace ok\n");
    } else {
      fprintf(out, "ptrace errno %d\n", errno);
    }
    try_open(out, "mem", pid, O_RDONLY);
    try_open(out, "environ", pid, O_RDONLY);
    char fdd[64];
    snprintf(fdd, sizeof fdd, "/proc/%d/fd", pid);
    DIR *fds = opendir(fdd);
    if (!fds) fprintf(out, "fd errno %d\n", errno);
    else {
      int listed = 0, errs = 0, err = 0;
      char targets[2048] = "";
      while ((e = readdir(fds))) {
        if (e->d_name[0] == '.') continue;
        char p[512], t[512];
        snprintf(p, sizeof p, "%s/%s", fdd, e->d_name);
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n < 0) { errs++; err = errno; continue; }
        t[n] = 0;
        listed++;
        if (strlen(targets) + n + 8 < sizeof targets) { strcat(targets, e->d_name); strcat(targets, "="); strcat(targets, t); strcat(targets, ";"); }
      }
      closedir(fds);
      if (listed) fprintf(out, "fd ok %s\n", targets);
      else fprintf(out, "fd errno %d (%d entries)\n", err, errs);
    }
  }
  fclose(out);
  const char *line = "root:x:0:0:root:/root:/bin/sh\n";
  fcntl(w, F_SETFL, 0);
  if (write(w, line, strlen(line)) < 0) { /* the reader went away */ }
  close(w);
  for (;;) pause();
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
  if (!strcmp(cmd, "attach") && argc > 3) return attach(argv[2], argv[3]);
  return 2;
}
