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
  // The number of the file's last line if the recording stopped in the
  // middle of writing it (killed, disk full): no newline after it and not
  // JSON. It is left out; 0 if there is none.
  int cut_short_line = 0;
};

// Throws std::runtime_error for a file that cannot be read, has no
// complete record, or has a line that is not a JSON object with a string
// "type" (but for a last line cut short: Trace::cut_short_line).
Trace read_trace(const std::string& path);
Trace trace_from_events(std::vector<Json> events);

// Wall-clock ns of an event's ts, using the meta record's anchor (or ts).
uint64_t wall_ns(const Trace& t, uint64_t ts);

}  // namespace glasstrace
