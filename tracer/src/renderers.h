// Views of a recorded trace: strace-like text, Chrome/Perfetto JSON, and a
// per-step / per-syscall summary.
#pragma once

#include <ostream>
#include <string>

#include "trace_file.h"

namespace glasstrace {

// One strace -f -tt -T line for a syscall/exit/step event; "" if the event
// has no strace form (fork, exec).
std::string strace_line(const Trace& t, const Json& event);
// "name(args)" for a syscall event, without pid, time, return.
std::string strace_call(const Json& event);
void render_strace(const Trace& t, std::ostream& out);
void render_chrome(const Trace& t, std::ostream& out);
void render_summary(const Trace& t, std::ostream& out);

}  // namespace glasstrace
