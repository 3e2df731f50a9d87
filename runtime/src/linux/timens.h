// A new time namespace with linux.timeOffsets (runtime-spec 1.1).
#pragma once

#include <vector>

#include "spec/config.h"

namespace glassrun::timens {

// unshare(CLONE_NEWTIME) makes the namespace for the caller's children only,
// so its offsets can still be written (/proc/self/timens_offsets); the kernel
// freezes them when the first process enters. Then the caller enters it
// itself (setns on /proc/self/ns/time_for_children): from here on the init,
// its hooks and `exec` (which joins /proc/<init>/ns/time) share the clocks
// the container sees, as under runc 1.2, whose init is a child of the unsharer.
void create(const std::vector<spec::TimeOffset>& offsets);

}  // namespace glassrun::timens
