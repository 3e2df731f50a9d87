// What the BPF side records of each syscall (events.h's gt_plan): the
// loader copies it into the capture_plan map at start, so the kernel side
// holds no list of syscalls.
#pragma once

#include <span>
#include <string_view>

#include "events.h"

namespace glasstrace {

// All zero: raw args only, an entry record and an exit record.
gt_plan capture_plan_of(long nr);

// The syscalls recorded in one record at their exit (gt_plan.at_exit).
std::span<const std::string_view> syscalls_recorded_at_exit();

}  // namespace glasstrace
