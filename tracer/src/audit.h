// exec_audit: what a container's first program inherits (the record the BPF
// side takes at its exec), and `glasstrace audit`'s policy check.
#pragma once

#include <string>
#include <vector>

#include "record.h"
#include "trace_file.h"

struct gt_audit;

namespace glasstrace {

// The "exec_audit" event (docs/TRACE_SCHEMA.md). Namespaces are compared with
// the host's (pid 1's, else glasstrace's own; read once while recording).
Json audit_event(const gt_audit& a);

std::vector<const Json*> audit_events(const Trace& t);
std::string audit_text(const Json& audit);
// One line per violation of POLICY (docs/TRACER.md "audit"), e.g.
// "fd 5 (dir /sys/fs/cgroup): outside the container root". Throws
// std::runtime_error naming a bad policy field.
std::vector<std::string> audit_violations(const Json& audit, const Json& policy);

}  // namespace glasstrace
