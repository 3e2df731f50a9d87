#include "util/clock.h"

#include <time.h>

#include <fmt/format.h>

namespace glassrun::clock {

std::string now_rfc3339() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  // Formatted from the fields: strftime would call tzset and read
  // /etc/localtime on every create, for a UTC stamp that needs no zone.
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

}  // namespace glassrun::clock
