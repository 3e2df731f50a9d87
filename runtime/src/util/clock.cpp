#include "util/clock.h"

#include <fmt/format.h>

namespace glassrun::clock {

namespace {

struct CivilDate {
  long long year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 to a proleptic Gregorian date, by the era arithmetic
// (400-year cycles of 146097 days) that needs no tables. Done here because
// glibc's gmtime_r reads /etc/localtime on its first call in a process (its
// time zone initialisation), for a UTC stamp that needs no zone.
CivilDate civil_from_days(long long days) {
  days += 719468;  // shift the epoch to 0000-03-01, so leap days end each year
  long long era = (days >= 0 ? days : days - 146096) / 146097;
  long long day_of_era = days - era * 146097;
  long long year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  long long month_index = (5 * day_of_year + 2) / 153;  // 0 = March
  unsigned day = static_cast<unsigned>(day_of_year - (153 * month_index + 2) / 5 + 1);
  unsigned month = static_cast<unsigned>(month_index < 10 ? month_index + 3 : month_index - 9);
  return {year_of_era + era * 400 + (month <= 2), month, day};
}

}  // namespace

std::string rfc3339(const timespec& utc) {
  long long secs = utc.tv_sec;
  long long days = (secs >= 0 ? secs : secs - 86399) / 86400;
  long long of_day = secs - days * 86400;
  CivilDate d = civil_from_days(days);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", d.year, d.month, d.day, of_day / 3600,
                     of_day / 60 % 60, of_day % 60, utc.tv_nsec);
}

std::string now_rfc3339() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339(ts);
}

}  // namespace glassrun::clock
