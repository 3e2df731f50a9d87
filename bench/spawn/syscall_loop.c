/* N getppid() calls in a tight loop; prints the mean nanoseconds per call.
 * bench/tracer_cost.py runs it untraced and under glasstrace: the
 * difference is what recording one syscall (its entry and exit records)
 * costs the traced task, without the noise of a container's start. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000;
  if (n <= 0) {
    fprintf(stderr, "usage: bench_syscall_loop [N > 0]\n");
    return 2;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
