/* raw_tp_floor CMD ARGS...: runs CMD with empty programs attached to the
 * raw sys_enter and sys_exit tracepoints, and exits with its status.
 * bench/tracer_cost.py's "raw_tp floor" variant: what any tracer built on
 * these tracepoints costs before its programs do anything (the kernel's
 * tracepoint path and a BPF program's call on every syscall), next to what
 * glasstrace costs in all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raw_tp_floor.skel.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_raw_tp_floor CMD [ARGS...]\n");
    return 2;
  }
  struct raw_tp_floor_bpf *skel = raw_tp_floor_bpf__open_and_load();
  if (!skel) {
    fprintf(stderr, "bench_raw_tp_floor: load: %s\n", strerror(errno));
    return 1;
  }
  int err = raw_tp_floor_bpf__attach(skel);
  if (err) {
    fprintf(stderr, "bench_raw_tp_floor: attach: %s\n", strerror(-err));
    raw_tp_floor_bpf__destroy(skel);
    return 1;
  }
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "bench_raw_tp_floor: fork: %s\n", strerror(errno));
    raw_tp_floor_bpf__destroy(skel);
    return 1;
  }
  if (child == 0) {
    execvp(argv[1], argv + 1);
    fprintf(stderr, "bench_raw_tp_floor: %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  raw_tp_floor_bpf__destroy(skel);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
