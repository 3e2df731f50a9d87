// Turns sched.bpf.c's compact records into `sched` trace events: one per
// change of a followed task's scheduling state (running, runnable, blocked,
// dead), the form the critical path and the Perfetto tracks read.
#pragma once

#include <vector>

#include "record.h"

struct gt_sched;

namespace glasstrace {

// Hands 0, 1 or 2 events to `sink` (a switch between two followed tasks
// changes both) as JSON lines; returns how many.
int write_sched_events(const gt_sched& r, const EventSink& sink);
std::vector<Json> sched_events(const gt_sched& r);  // the same as objects

}  // namespace glasstrace
