#include "util/probes.h"

#include <sys/sdt.h>

#include "util/log.h"

namespace glassrun {

// --debug logs the same steps (log::step: one branch when it is off).
__attribute__((noinline)) void step_begin(const char* name) {
  DTRACE_PROBE1(glassrun, step_begin, name);
  log::step(name, true, 0);
}
__attribute__((noinline)) void step_end(const char* name, int err) {
  DTRACE_PROBE2(glassrun, step_end, name, err);
  if (err) log::step(name, false, err);
}

}  // namespace glassrun
