// Wall-clock time as runc writes it (state.json "created", log "time").
#pragma once

#include <time.h>

#include <string>

namespace glassrun::clock {

// RFC 3339 in UTC with nanoseconds: "2026-11-26T12:22:03.272305275Z".
std::string now_rfc3339();
std::string rfc3339(const timespec& utc);

}  // namespace glassrun::clock
