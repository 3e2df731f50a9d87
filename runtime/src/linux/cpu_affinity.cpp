#include "linux/cpu_affinity.h"

#include <sched.h>

#include <cerrno>

namespace glassrun::cpu_affinity {

namespace {
// Inherited by every process the runtime clones or forks.
cpu_set_t callers_cpus;
bool pinned = false;
}  // namespace

void keep_runtime_on_this_cpu() noexcept {
  if (sched_getaffinity(0, sizeof callers_cpus, &callers_cpus) != 0) return;
  int cpu = sched_getcpu();
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  pinned = sched_setaffinity(0, sizeof one, &one) == 0;
}

int give_back_callers_cpus() noexcept {
  if (!pinned) return 0;
  if (sched_setaffinity(0, sizeof callers_cpus, &callers_cpus) == 0 || errno == EINVAL) return 0;
  return errno;
}

}  // namespace glassrun::cpu_affinity
