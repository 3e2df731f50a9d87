// Turns sched.bpf.c's compact records into `sched` trace events: one per
// change of a followed task's scheduling state (running, runnable, blocked,
// dead), the form the critical path and the Perfetto tracks read.
#pragma once

#include <vector>

#include "record.h"

struct gt_sched;

namespace glasstrace {

// 0, 1 or 2 events (a switch between two followed tasks changes both).
std::vector<Json> sched_events(const gt_sched& r);

}  // namespace glasstrace
