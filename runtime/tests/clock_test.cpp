#include <time.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "util/clock.h"

namespace {

std::string via_gmtime(time_t secs, long nsec) {
  tm t;
  gmtime_r(&secs, &t);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, nsec);
}

}  // namespace

TEST(Clock, KnownStamps) {
  EXPECT_EQ(glassrun::clock::rfc3339({0, 0}), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(glassrun::clock::rfc3339({951782400, 5}), "2000-02-29T00:00:00.000000005Z");
  EXPECT_EQ(glassrun::clock::rfc3339({1795695723, 272305275}), "2026-11-26T12:22:03.272305275Z");
  EXPECT_EQ(glassrun::clock::rfc3339({-1, 0}), "1969-12-31T23:59:59.000000000Z");
}

// Every day from 1900 to 2200 (leap years, the 2100 non-leap century) and
// odd seconds within them agree with glibc.
TEST(Clock, AgreesWithGmtimeOverThreeCenturies) {
  for (time_t secs = -2208988800LL; secs < 7258118400LL; secs += 86400 + 3607)
    ASSERT_EQ(glassrun::clock::rfc3339({secs, 123}), via_gmtime(secs, 123)) << secs;
}

TEST(Clock, NowIsUtcRfc3339) {
  std::string now = glassrun::clock::now_rfc3339();
  ASSERT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}
