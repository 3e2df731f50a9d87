/* bench_spawn: run a command and report its wall time and rusage.
 *   bench_spawn OUTFILE CMD ARGS...
 * Writes "wall_ns utime_us stime_us maxrss_kib exit_status" to OUTFILE and
 * exits 0 (or 127 if it could not fork/exec at all).
 *   bench_spawn --batch OUTFILE CMDFILE
 * Starts every command of CMDFILE (one per line, arguments separated by
 * tabs) at once and waits for all: OUTFILE gets the batch's wall_ns on its
 * first line, then "utime_us stime_us maxrss_kib exit_status" per command.
 * The concurrent figure uses it so the batch's time is the runtimes' and not
 * a Python fork (of a 15 MiB interpreter) and a bench_spawn per container.
 *
 * Why not Python's os.wait4: ru_maxrss survives execve (the kernel keeps the
 * high-water mark of the image replaced by exec), so a child forked from a
 * 15 MiB Python reports at least 15 MiB whatever it runs. Forked from this
 * small program, the command's peak RSS is its own (and that of the
 * descendants it reaped), with ~1 MiB floor. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns_between(const struct timespec* a, const struct timespec* b) {
  return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

static long long us_of(const struct timeval* t) { return (long long)t->tv_sec * 1000000 + t->tv_usec; }

enum { MAX_BATCH = 4096, MAX_ARGS = 64 };

static int batch(const char* outfile, const char* cmdfile) {
  FILE* in = fopen(cmdfile, "re");
  if (!in) return 127;
  static char* argvs[MAX_BATCH][MAX_ARGS + 1];
  int n = 0;
  char* line = NULL;
  size_t cap = 0;
  while (n < MAX_BATCH && getline(&line, &cap, in) > 0) {
    line[strcspn(line, "\n")] = '\0';
    if (!*line) continue;
    char* save = NULL;
    int k = 0;
    for (char* a = strtok_r(strdup(line), "\t", &save); a && k < MAX_ARGS; a = strtok_r(NULL, "\t", &save))
      argvs[n][k++] = a;
    argvs[n++][k] = NULL;
  }
  fclose(in);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return 127;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int started = 0;
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      execvp(argvs[i][0], argvs[i]);
      perror(argvs[i][0]);
      _exit(127);
    }
    started++;
  }
  FILE* f = fopen(outfile, "we");
  if (!f) return 127;
  char* rows = calloc((size_t)started + 1, 64);
  size_t used = 0;
  for (int i = 0; i < started; i++) {
    int status = 0;
    struct rusage ru;
    if (wait4(-1, &status, 0, &ru) < 0) return 127;
    used += (size_t)snprintf(rows + used, 64, "%lld %lld %ld %d\n", us_of(&ru.ru_utime), us_of(&ru.ru_stime),
                             ru.ru_maxrss, status);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(f, "%lld\n%s", ns_between(&t0, &t1), rows);
  fclose(f);
  return started == n ? 0 : 127;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "--batch") == 0) return batch(argv[2], argv[3]);
  if (argc < 3) {
    fprintf(stderr, "usage: bench_spawn OUTFILE CMD ARGS... | bench_spawn --batch OUTFILE CMDFILE\n");
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
  fprintf(f, "%lld %lld %lld %ld %d\n", ns_between(&t0, &t1), us_of(&ru.ru_utime), us_of(&ru.ru_stime), ru.ru_maxrss,
          status);
  fclose(f);
  return 0;
}
