/* bench_spawn: run a command and report its wall time and rusage.
 *   bench_spawn OUTFILE CMD ARGS...
 * Writes "wall_ns utime_us stime_us maxrss_kib exit_status" to OUTFILE and
 * exits 0 (or 127 if it could not fork/exec at all).
 *
 * Why not Python's os.wait4: ru_maxrss survives execve (the kernel keeps the
 * high-water mark of the image replaced by exec), so a child forked from a
 * 15 MiB Python reports at least 15 MiB whatever it runs. Forked from this
 * small program, the command's peak RSS is its own (and that of the
 * descendants it reaped), with ~1 MiB floor. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_spawn OUTFILE CMD ARGS...\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 127;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE* f = fopen(argv[1], "we");
  if (!f) return 127;
  long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  fprintf(f, "%lld %lld %lld %ld %d\n", wall, (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
          (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, status);
  fclose(f);
  return 0;
}
