#include "util/probes.h"

#include <sys/sdt.h>

namespace glassrun {

__attribute__((noinline)) void step_begin(const char* name) { DTRACE_PROBE1(glassrun, step_begin, name); }
__attribute__((noinline)) void step_end(const char* name, int err) { DTRACE_PROBE2(glassrun, step_end, name, err); }

}  // namespace glassrun
