// USDT probes that mark each step of glassrun's flow, so glasstrace can show
// what the runtime meant next to what the kernel saw.
//
// Contract with the tracer (docs/TRACE_SCHEMA.md):
//   provider "glassrun"
//   probe step_begin(const char *step)
//   probe step_end(const char *step, int err)   err: 0 or a positive errno
// Step names are stable, dotted identifiers ("create.config", "init.mounts").
#pragma once

#include <sys/sdt.h>

#include <exception>

#define GLASS_STEP_BEGIN(step) DTRACE_PROBE1(glassrun, step_begin, step)
#define GLASS_STEP_END(step, err) DTRACE_PROBE2(glassrun, step_end, step, err)

namespace glassrun {

// Marks one step for its scope: begin on construction, end on destruction
// (with the error, if an exception leaves the scope).
class Step {
 public:
  explicit Step(const char* name) : name_(name) { GLASS_STEP_BEGIN(name_); }
  ~Step() {
    int err = std::uncaught_exceptions() > uncaught_ ? 1 : 0;
    GLASS_STEP_END(name_, err);
  }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

 private:
  const char* name_;
  int uncaught_ = std::uncaught_exceptions();
};

}  // namespace glassrun
