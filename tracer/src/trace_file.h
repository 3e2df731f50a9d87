// Reading a JSON Lines trace back for the renderers, milestones and diff.
#pragma once

#include <string>
#include <vector>

#include "record.h"

namespace glasstrace {

struct Trace {
  Json meta;                 // null if the file has none
  std::vector<Json> events;  // in file order, without meta, summary and sched
  std::vector<Json> sched;   // `sched` records, in file order (critical_path.h reads them)
  Json summary;              // null if the trace was cut short
};

Trace read_trace(const std::string& path);  // throws std::runtime_error
Trace trace_from_events(std::vector<Json> events);

// Wall-clock ns of an event's ts, using the meta record's anchor (or ts).
uint64_t wall_ns(const Trace& t, uint64_t ts);

}  // namespace glasstrace
