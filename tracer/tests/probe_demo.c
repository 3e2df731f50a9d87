// Fires glassrun's USDT step probes (same provider/probes as
// runtime/src/util/probes.h) so the tracer's USDT path can be tested
// without the runtime.
#include <sys/sdt.h>
#include <unistd.h>

int main(void) {
  DTRACE_PROBE1(glassrun, step_begin, "demo.outer");
  DTRACE_PROBE1(glassrun, step_begin, "demo.inner");
  (void)getpid();
  DTRACE_PROBE2(glassrun, step_end, "demo.inner", 0);
  DTRACE_PROBE2(glassrun, step_end, "demo.outer", 5);
  return 0;
}
