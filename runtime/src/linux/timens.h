// A new time namespace with linux.timeOffsets (runtime-spec 1.1).
#pragma once

#include <vector>

#include "spec/config.h"
#include "util/fd.h"

namespace glassrun::timens {

// /proc/self/timens_offsets opened for writing, when the config asks for a
// new time namespace with offsets (else an empty fd). Opened by the init
// before it changes its credentials: becoming root in a new user namespace
// makes it non-dumpable, and its /proc/self files then belong to the host's
// root. The kernel checks CAP_SYS_TIME against the opener's credentials.
UniqueFd open_offsets(const spec::Config& c);

// unshare(CLONE_NEWTIME) makes the namespace for the caller's children only,
// so its offsets can still be written (through offsets_fd, from
// open_offsets); the kernel freezes them when the first process enters.
// Then the caller enters it itself (setns on /proc/self/ns/time_for_children):
// from here on the init, its hooks and `exec` (which joins
// /proc/<init>/ns/time) share the clocks the container sees, as under runc
// 1.2, whose init is a child of the unsharer.
// Does nothing when the config asks for no new time namespace.
void create(const spec::Config& c, int offsets_fd);

}  // namespace glassrun::timens
