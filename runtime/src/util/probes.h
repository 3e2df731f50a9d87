// USDT probes that mark each step of glassrun's flow, so glasstrace can show
// what the runtime meant next to what the kernel saw.
//
// Contract with the tracer (docs/TRACE_SCHEMA.md):
//   provider "glassrun"
//   probe step_begin(const char *step)
//   probe step_end(const char *step, int err)   err: 0 or non-zero on failure
// Step names are stable, dotted identifiers ("create.config", "init.mounts").
//
// The probes sit in two out-of-line functions (probes.cpp), so the binary has
// exactly two probe sites: the tracer attaches two uprobes, not one per use,
// which keeps attaching and detaching cheap.
#pragma once

#include <exception>

namespace glassrun {

void step_begin(const char* name);
void step_end(const char* name, int err);

// Marks one step for its scope: begin on construction, end on destruction
// (with err 1 if an exception leaves the scope).
class Step {
 public:
  explicit Step(const char* name) : name_(name) { step_begin(name_); }
  ~Step() { step_end(name_, std::uncaught_exceptions() > uncaught_ ? 1 : 0); }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

 private:
  const char* name_;
  int uncaught_ = std::uncaught_exceptions();
};

}  // namespace glassrun

#define GLASS_STEP_BEGIN(step) ::glassrun::step_begin(step)
#define GLASS_STEP_END(step, err) ::glassrun::step_end(step, err)
